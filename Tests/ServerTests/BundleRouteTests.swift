import Foundation
import KeyManagement
import Storage
import TestSupport
import XCTest
@testable import Vault

/// Bundles over real HTTP: a DSL drafts, a deputy releases, the recipient downloads with no
/// account and opens the file with stock age; links end, and roles are held to the table.
final class BundleRouteTests: XCTestCase {
    var server: ServerFixture!
    var identity: (file: String, recipient: String)!
    var note: String!

    override func setUp() async throws {
        server = try await ServerFixture()
        try server.addOneUserPerRole()
        identity = try StockAge.keygen(in: server.root, name: "agency")
        let added = try await send("POST", "/v1/recipients", "jo", ["school": "S1", "name": "CSC", "ageRecipient": identity.recipient])
        XCTAssertEqual(added.status, 201, added.text)
        let up = try await server.upload(Array("Pupil X told me on Monday.\n".utf8), user: "jo", type: "text/plain", kind: "disclosure", filename: "note.txt")
        XCTAssertEqual(up.status, 201, up.text)
        note = (up.json as? [String: Any])?["id"] as? String
    }

    override func tearDown() async throws { try await server.stop() }

    func send(_ method: String, _ path: String, _ user: String?, _ body: [String: Any]? = nil) async throws -> HTTPReply {
        try await server.json(method, path, user: user, body)
    }

    func draft(by user: String = "jo") async throws -> String {
        let r = try await send("POST", "/v1/bundles", user, [
            "school": "S1", "recipient": "CSC", "reason": "Referral to children's social care",
            "items": [["record": note!, "mode": "redacted", "terms": ["Pupil X"]]],
        ])
        XCTAssertEqual(r.status, 201, r.text)
        XCTAssertEqual((r.json as? [String: Any])?["state"] as? String, "draft")
        return try XCTUnwrap((r.json as? [String: Any])?["id"] as? String)
    }

    func testADraftReleasedByASecondPersonDownloadsWithoutAnAccountAndOpensWithAge() async throws {
        let id = try await draft()
        let approved = try await send("POST", "/v1/bundles/\(id)/approve", "dee", ["maxDownloads": 2])
        XCTAssertEqual(approved.status, 200, approved.text)
        let release = try XCTUnwrap(approved.json as? [String: Any])
        XCTAssertEqual(release["state"] as? String, "released")
        XCTAssertNil(release["passphrase"])
        let url = try XCTUnwrap(release["downloadUrl"] as? String)

        let download = try await server.request("GET", url)
        XCTAssertEqual(download.status, 200, download.text)
        XCTAssertEqual(download.headers["cache-control"], "no-store")
        XCTAssertEqual(download.headers["x-content-type-options"], "nosniff")
        XCTAssertTrue(download.headers["content-disposition"]?.contains("bundle-\(id).age") == true)
        XCTAssertEqual(Hex.encode(SHA256Hasher.hash(download.body)), release["archiveSHA256"] as? String)
        let file = server.root + "/download.age"
        try Data(download.body).write(to: URL(fileURLWithPath: file))
        let opened = try StockAge.decrypt(file: file, identity: identity.file)
        XCTAssertEqual(opened.status, 0, opened.stderr)
        try opened.stdout.write(to: URL(fileURLWithPath: server.root + "/b.zip"))
        XCTAssertEqual(try unzipWithPython(server.root + "/b.zip", into: server.root + "/b").status, 0)
        let folder = server.root + "/b/bundle-\(id.prefix(8))"
        let items = try FileManager.default.contentsOfDirectory(atPath: folder + "/items")
        XCTAssertEqual(items.count, 1)
        XCTAssertEqual(try String(contentsOfFile: folder + "/items/" + items[0], encoding: .utf8), "[REDACTED] told me on Monday.\n")
        // The served signing key verifies the manifest with stock minisign.
        let key = try await server.request("GET", "/v1/signing-key.pub")
        try Data(key.body).write(to: URL(fileURLWithPath: server.root + "/vault.pub"))
        let verified = try runTool("/usr/bin/minisign", ["-Vm", folder + "/manifest.json", "-p", server.root + "/vault.pub"])
        XCTAssertEqual(verified.status, 0, verified.stderr + verified.text)

        // Receipt, then the second and last download, then nothing.
        let receiptURL = try XCTUnwrap(release["receiptUrl"] as? String)
        XCTAssertTrue(receiptURL.hasPrefix("/v1/receipts/") && !receiptURL.contains(String(url.dropFirst("/v1/shared/".count))))
        let receipt = try await server.request("POST", receiptURL)
        XCTAssertEqual(receipt.status, 200, receipt.text)
        let reply1 = try await server.request("GET", url)
        XCTAssertEqual(reply1.status, 200)
        let third = try await server.request("GET", url)
        XCTAssertEqual(third.status, 410, third.text)
        XCTAssertEqual((third.json as? [String: Any])?["type"] as? String, "urn:strongroom:problem:link-unusable")
        let reply2 = try await server.request("GET", "/v1/shared/" + String(repeating: "x", count: 43))
        XCTAssertEqual(reply2.status, 404)

        // The chronology shows the share.
        let chronology = try await send("GET", "/v1/children/C1/attachments?school=S1", "jo")
        let shares = try XCTUnwrap((chronology.json as? [String: Any])?["shares"] as? [[String: Any]])
        XCTAssertEqual(shares.count, 1)
        XCTAssertEqual(shares.first?["recipient"] as? String, "CSC")
        XCTAssertEqual(shares.first?["createdBy"] as? String, try server.actor("jo"))
        XCTAssertEqual(shares.first?["approvedBy"] as? String, try server.actor("dee"))
        XCTAssertNotNil(shares.first?["receiptAt"] as? String)

        let actions = server.events.map(\.action)
        for action in ["bundle-create", "bundle-build", "share", "bundle-release", "bundle-download", "bundle-receipt"] {
            XCTAssertTrue(actions.contains(action), action)
        }
    }

    func testTheCreatorCannotApproveAndOnlyDSLsAndDeputiesOfTheSchoolMayBuildApproveOrRevoke() async throws {
        let id = try await draft()
        let reply3 = try await send("POST", "/v1/bundles/\(id)/approve", "jo")
        XCTAssertEqual(reply3.status, 403)
        for user in ["sam", "pat", "bob", "ada"] {
            let reply4 = try await send("POST", "/v1/bundles/\(id)/approve", user)
            XCTAssertEqual(reply4.status, 403, user)
            let create = try await send("POST", "/v1/bundles", user, ["school": "S1", "recipient": "CSC", "reason": "r",
                                                                       "items": [["record": note!, "mode": "as-is"]]])
            XCTAssertEqual(create.status, 403, "\(user): \(create.text)")
        }
        let reply5 = try await send("POST", "/v1/bundles/\(id)/approve", "kim")
        XCTAssertEqual(reply5.status, 404, "another school's DSL sees nothing")
        let reply6 = try await send("GET", "/v1/bundles/\(id)", "dee")
        XCTAssertEqual(reply6.status, 200)
        // The approver sees what is to be released: the terms to replace and the recipient's key.
        let shown = try XCTUnwrap(reply6.json as? [String: Any])
        XCTAssertEqual(((shown["choices"] as? [[String: Any]])?.first?["terms"] as? [String]), ["Pupil X"])
        XCTAssertEqual(shown["recipientKey"] as? String, identity.recipient)
        XCTAssertEqual(shown["recipientAddedBy"] as? String, try server.actor("jo"))
        let reply7 = try await server.request("POST", "/v1/bundles/\(id)/approve")
        XCTAssertEqual(reply7.status, 401)

        let approved = try await send("POST", "/v1/bundles/\(id)/approve", "dee")
        XCTAssertEqual(approved.status, 200, approved.text)
        let url = try XCTUnwrap((approved.json as? [String: Any])?["downloadUrl"] as? String)
        let reply8 = try await send("DELETE", "/v1/bundles/\(id)/link", "sam")
        XCTAssertEqual(reply8.status, 403)
        let reply9 = try await send("DELETE", "/v1/bundles/\(id)/link", "jo")
        XCTAssertEqual(reply9.status, 204)
        let reply10 = try await server.request("GET", url)
        XCTAssertEqual(reply10.status, 410)
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: server.root + "/bundles")) ?? [], [], "a revoked bundle's file is removed")
        let denied = server.events.filter { $0.action == "bundle-download" && $0.outcome == "denied" }
        XCTAssertEqual(denied.last?.reason?.contains("revoked"), true)
    }

    func testMalformedBundleRequestsAreRefusedWithTheReason() async throws {
        let cases: [([String: Any], Int, String)] = [
            (["school": "S1", "recipient": "Nobody", "reason": "r", "items": [["record": note!, "mode": "as-is"]]], 400, "no recipient"),
            (["school": "S1", "recipient": "CSC", "reason": "r", "items": [] as [Any]], 400, "1 to 200"),
            (["school": "S1", "recipient": "CSC", "reason": " ", "items": [["record": note!, "mode": "as-is"]]], 400, "reason is empty"),
            (["school": "S1", "recipient": "CSC", "reason": "r", "items": [["record": note!, "mode": "shredded"]]], 400, "JSON"),
            (["school": "S1", "recipient": "CSC", "reason": "r", "items": [["record": note!, "mode": "redacted"]]], 400, "terms or spans"),
            (["school": "S1", "recipient": "CSC", "reason": "r", "items": [["record": String(repeating: "0", count: 32), "mode": "as-is"]]], 404, "no record"),
        ]
        for (body, status, words) in cases {
            let r = try await send("POST", "/v1/bundles", "jo", body)
            XCTAssertEqual(r.status, status, "\(body): \(r.text)")
            XCTAssertTrue(r.text.contains(words), "\(body): \(r.text)")
        }
        XCTAssertEqual(try server.vault.catalog.bundles(school: "S1").count, 0)
    }

    func testARedactedCopyIsLinkedToItsOriginalOnlyByThoseWhoMayShare() async throws {
        let pdf = try Array(Data(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("VaultTests/Samples/strategy-meeting-minutes.pdf")))
        func upload(_ user: String, derivedFrom: String, child: String = "C1") async throws -> HTTPReply {
            try await server.request("POST", "/v1/attachments?school=S1&child=\(child)&concern=K1&kind=minutes&filename=r.pdf&derivedFrom=\(derivedFrom)",
                                     user: user, headers: ["Content-Type": "application/pdf"], body: pdf)
        }
        let bySam = try await upload("sam", derivedFrom: note)
        XCTAssertEqual(bySam.status, 403, "staff may not link copies: \(bySam.text)")
        let otherChild = try await upload("jo", derivedFrom: note, child: "C2")
        XCTAssertEqual(otherChild.status, 400, otherChild.text)
        let byJo = try await upload("jo", derivedFrom: note)
        XCTAssertEqual(byJo.status, 201, byJo.text)
        XCTAssertEqual((byJo.json as? [String: Any])?["derivedFrom"] as? String, note)
        XCTAssertEqual(server.records.filter { $0.derivedFrom != nil }.count, 1, "nothing refused was stored")
    }
}
