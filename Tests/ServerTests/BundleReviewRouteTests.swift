import Foundation
import Redaction
import TestSupport
import XCTest
@testable import Vault

/// What a DSL and an approver see of a bundle before it leaves, over real HTTP: a redaction
/// drawn by the server, terms counted, a draft's items as their release will make them, and a
/// draft sent back. Roles and schools are held to the table like every other route.
final class BundleReviewRouteTests: XCTestCase {
    var server: ServerFixture!
    var note: String!
    var photo: String!

    override func setUp() async throws {
        server = try await ServerFixture()
        try server.addOneUserPerRole()
        let added = try await server.json("POST", "/v1/recipients", user: "jo", ["school": "S1", "name": "Police", "passphrase": true])
        XCTAssertEqual(added.status, 201, added.text)
        let up = try await server.upload(Array("Jane Doe told me. jane doe is her aunt.\n".utf8), user: "jo", type: "text/plain",
                                         kind: "disclosure", filename: "note.txt")
        note = (up.json as? [String: Any])?["id"] as? String
        let shot = try await server.upload(try Samples.bytes("injury-photo-with-gps.jpg"), user: "jo", type: "image/jpeg",
                                           kind: "body-map", filename: "photo.jpg")
        XCTAssertEqual(shot.status, 201, shot.text)
        photo = (shot.json as? [String: Any])?["id"] as? String
    }

    override func tearDown() async throws { try await server.stop() }

    func testARedactionPreviewIsAPNGTheServerFilledAndSaysTheSpaceBoxesAreDrawnIn() async throws {
        let reply = try await server.json("POST", "/v1/attachments/\(photo!)/redaction-preview", user: "jo",
                                          ["mode": "redacted", "rects": [[100, 200, 300, 150]]])
        XCTAssertEqual(reply.status, 200, reply.text)
        XCTAssertEqual(reply.headers["content-type"], "image/png")
        XCTAssertEqual(reply.headers["cache-control"], "no-store")
        XCTAssertEqual(reply.headers["strongroom-rectangle-space"], "1600.00 1200.00 pixels")
        let shown = try Redactor().decode(reply.body, format: .png)
        let scale = Double(shown.width) / 1600
        XCTAssertTrue(shown.pixel(x: Int(250 * scale), y: Int(275 * scale)).prefix(3).allSatisfy { $0 < 16 })

        let outside = try await server.json("POST", "/v1/attachments/\(photo!)/redaction-preview", user: "jo",
                                            ["mode": "redacted", "terms": ["x"]])
        XCTAssertEqual(outside.status, 400, "a choice the draft would refuse is refused with its reason")
        for (user, status) in [("sam", 403), ("pat", 403), ("ada", 403), ("kim", 404)] {
            let refused = try await server.json("POST", "/v1/attachments/\(photo!)/redaction-preview", user: user,
                                                ["mode": "redacted", "rects": [[1, 1, 5, 5]]])
            XCTAssertEqual(refused.status, status, "\(user): \(refused.text)")
        }
    }

    func testTermsAreCountedAndTheTextComesBackInRuns() async throws {
        let reply = try await server.json("POST", "/v1/attachments/\(note!)/term-matches", user: "dee", ["terms": ["Jane Doe", "Jon Doe"]])
        XCTAssertEqual(reply.status, 200, reply.text)
        let body = try XCTUnwrap(reply.json as? [String: Any])
        XCTAssertEqual(body["counts"] as? [Int], [2, 0])
        let runs = try XCTUnwrap(body["runs"] as? [[String: Any]])
        XCTAssertEqual(runs.compactMap { $0["text"] as? String }.joined(), "Jane Doe told me. jane doe is her aunt.\n")
        let sam = try await server.json("POST", "/v1/attachments/\(note!)/term-matches", user: "sam", ["terms": ["Jane"]])
        XCTAssertEqual(sam.status, 403)
    }

    func testAnApproverSeesADraftsItemAsItWillBeSentAndCanSendItBack() async throws {
        let made = try await server.json("POST", "/v1/bundles", user: "jo", [
            "school": "S1", "recipient": "Police", "reason": "Strategy meeting",
            "items": [["record": note!, "mode": "redacted", "terms": ["Jane Doe"]]],
        ])
        XCTAssertEqual(made.status, 201, made.text)
        let id = try XCTUnwrap((made.json as? [String: Any])?["id"] as? String)
        let item = try await server.request("GET", "/v1/bundles/\(id)/items/1/preview", user: "dee")
        XCTAssertEqual(item.status, 200, item.text)
        XCTAssertEqual(item.text, "[REDACTED] told me. [REDACTED] is her aunt.\n")
        let missing = try await server.request("GET", "/v1/bundles/\(id)/items/2/preview", user: "dee")
        XCTAssertEqual(missing.status, 404)
        let kim = try await server.request("GET", "/v1/bundles/\(id)/items/1/preview", user: "kim")
        XCTAssertEqual(kim.status, 404, "another school's bundle does not exist for them")

        let own = try await server.json("POST", "/v1/bundles/\(id)/return", user: "jo", ["comment": "mine"])
        XCTAssertEqual(own.status, 403, "the creator cannot send their own draft back")
        let back = try await server.json("POST", "/v1/bundles/\(id)/return", user: "dee", ["comment": "Take out the aunt too"])
        XCTAssertEqual(back.status, 200, back.text)
        let row = try XCTUnwrap(back.json as? [String: Any])
        XCTAssertEqual(row["state"] as? String, "returned")
        XCTAssertEqual(row["returnComment"] as? String, "Take out the aunt too")
        let approve = try await server.json("POST", "/v1/bundles/\(id)/approve", user: "dee", [:])
        XCTAssertEqual(approve.status, 409, "a draft sent back is never released")
    }
}
