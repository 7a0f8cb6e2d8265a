import Foundation
import Storage
import XCTest
@testable import Vault

/// The retention desk and oversight routes over real HTTP: roles and schools, withdrawing, the
/// date of birth preview, and counts that never carry a small number or anything identifying.
final class RetentionDeskRouteTests: XCTestCase {
    var server: ServerFixture!
    let text = Array("Notes of the strategy meeting held about the child, agreed actions listed.\n".utf8)

    override func setUp() async throws {
        server = try await ServerFixture()
        try server.addOneUserPerRole()
    }

    override func tearDown() async throws { try await server.stop() }

    func upload(user: String = "jo", school: String = "S1", child: String = "C1", filename: String = "m.txt") async throws -> String {
        let r = try await server.upload(text, user: user, type: "text/plain", school: school, child: child, kind: "minutes", filename: filename)
        XCTAssertEqual(r.status, 201, r.text)
        return (r.json as? [String: Any])?["id"] as? String ?? ""
    }

    func send(_ method: String, _ path: String, _ user: String?, _ body: [String: Any]? = nil) async throws -> HTTPReply {
        try await server.json(method, path, user: user, body)
    }

    // Columns: sam(staff) jo(dsl) dee(deputy) pat(dpo) bob(backup) ada(admin).
    func testEveryRoleOnEveryDeskRoute() async throws {
        _ = try await upload()
        let cells: [(String, String, String, [Int])] = [
            ("list", "GET", "/v1/shred-requests?school=S1", [403, 200, 200, 200, 403, 403]),
            ("list-other-school", "GET", "/v1/shred-requests?school=S2", [403, 403, 403, 403, 403, 403]),
            ("withdraw-missing", "POST", "/v1/shred-requests/shred-0000000000000000/withdraw", [403, 404, 404, 404, 403, 403]),
            ("dob-preview", "GET", "/v1/children/C1/dob/preview?school=S1&dob=2012-01-01", [403, 200, 200, 403, 403, 403]),
            ("dob-preview-other-school", "GET", "/v1/children/C1/dob/preview?school=S2&dob=2012-01-01", [403, 403, 403, 403, 403, 403]),
            ("oversight", "GET", "/v1/oversight", [403, 200, 200, 200, 403, 403]),
            ("oversight-other-school", "GET", "/v1/oversight?school=S2", [403, 403, 403, 403, 403, 403]),
        ]
        let users = ["sam", "jo", "dee", "pat", "bob", "ada"]
        for (name, method, path, expected) in cells {
            for (i, user) in users.enumerated() {
                let before = server.events.count
                let r = try await send(method, path, user)
                XCTAssertEqual(r.status, expected[i], "\(name) as \(user): \(r.text)")
                let new = Array(server.events.dropFirst(before))
                XCTAssertEqual(new.last?.actor, try server.actor(user), "\(name) as \(user): no audit event")
                XCTAssertEqual(new.last?.outcome, expected[i] >= 400 ? "denied" : "ok", "\(name) as \(user)")
            }
        }
    }

    func testTheRequesterWithdrawsOverHTTPAndTheApprovalIsThenRefused() async throws {
        let record = try await upload()
        let asked = try await send("POST", "/v1/shred-requests", "pat", ["school": "S1", "records": [record], "reason": "retention reviewed"])
        XCTAssertEqual(asked.status, 201, asked.text)
        let id = try XCTUnwrap((asked.json as? [String: Any])?["id"] as? String)

        let listed = try await send("GET", "/v1/shred-requests?school=S1", "jo")
        let entry = try XCTUnwrap(((listed.json as? [String: Any])?["shredRequests"] as? [[String: Any]])?.first)
        XCTAssertEqual(entry["id"] as? String, id)
        XCTAssertEqual(entry["waitsForYou"] as? Bool, true, "a DPO asked: the DSL approves")
        XCTAssertEqual(entry["yours"] as? Bool, false)
        XCTAssertEqual((entry["items"] as? [[String: Any]])?.first?["held"] as? Bool, false)

        let byOther = try await send("POST", "/v1/shred-requests/\(id)/withdraw", "jo")
        XCTAssertEqual(byOther.status, 409, "only the requester withdraws")
        let withdrawn = try await send("POST", "/v1/shred-requests/\(id)/withdraw", "pat")
        XCTAssertEqual(withdrawn.status, 200, withdrawn.text)
        XCTAssertEqual((withdrawn.json as? [String: Any])?["state"] as? String, "withdrawn")
        let approve = try await send("POST", "/v1/shred-requests/\(id)/approve", "jo")
        XCTAssertEqual(approve.status, 409, approve.text)
        XCTAssertNotNil(try server.vault.catalog.record(id: record), "not shredded")
        let again = try await send("GET", "/v1/shred-requests?school=S1", "pat")
        let after = try XCTUnwrap(((again.json as? [String: Any])?["shredRequests"] as? [[String: Any]])?.first)
        XCTAssertEqual(after["state"] as? String, "withdrawn")
        XCTAssertEqual(after["yours"] as? Bool, true)
        XCTAssertNotNil(after["withdrawnAt"] as? String)
    }

    func testThePreviewShowsWhatSavingTheDateOfBirthSets() async throws {
        let record = try await upload(child: "C7")
        let preview = try await send("GET", "/v1/children/C7/dob/preview?school=S1&dob=2010-05-20", "jo")
        XCTAssertEqual(preview.status, 200, preview.text)
        let item = try XCTUnwrap(((preview.json as? [String: Any])?["records"] as? [[String: Any]])?.first)
        XCTAssertEqual(item["id"] as? String, record)
        let newDate = try XCTUnwrap(item["newReviewOn"] as? String)
        XCTAssertNotEqual(newDate, item["reviewOn"] as? String)
        XCTAssertEqual(try server.vault.catalog.record(id: record)?.reviewOn, item["reviewOn"] as? String, "nothing saved")
        let saved = try await send("PUT", "/v1/children/C7/dob?school=S1", "jo", ["dob": "2010-05-20"])
        XCTAssertEqual(saved.status, 200, saved.text)
        XCTAssertEqual(try server.vault.catalog.record(id: record)?.reviewOn, newDate)
        let bad = try await send("GET", "/v1/children/C7/dob/preview?school=S1&dob=2010-02-30", "jo")
        XCTAssertEqual(bad.status, 400)
        let missing = try await send("GET", "/v1/children/C7/dob/preview?school=S1", "jo")
        XCTAssertEqual(missing.status, 400)
    }

    func testOversightJSONSaysFewerThanFiveForThreeAndSevenForSevenAndNamesNoOne() async throws {
        try server.addUser("pia", .dpo, schools: ["S1", "S2"])
        for i in 0..<3 { _ = try await upload(child: "C\(i)", filename: "secret-name-\(i).txt") }
        for i in 0..<7 { _ = try await upload(user: "kim", school: "S2", child: "D\(i)", filename: "secret-name-s2-\(i).txt") }
        let r = try await send("GET", "/v1/oversight", "pia")
        XCTAssertEqual(r.status, 200, r.text)
        let json = try XCTUnwrap(r.json as? [String: Any])
        let schools = try XCTUnwrap(json["schools"] as? [[String: Any]])
        XCTAssertEqual(schools.map { $0["school"] as? String }, ["S1", "S2"], "side by side")
        func thisMonth(_ s: [String: Any]) throws -> [String: Any] { try XCTUnwrap((s["months"] as? [[String: Any]])?.last) }
        let s1 = try thisMonth(schools[0]), s2 = try thisMonth(schools[1])
        XCTAssertEqual((s1["added"] as? [String: Any])?["minutes"] as? String, "fewer than 5")
        XCTAssertEqual((s2["added"] as? [String: Any])?["minutes"] as? Int, 7)
        XCTAssertEqual((s1["added"] as? [String: Any])?["disclosure"] as? Int, 0)
        XCTAssertFalse(r.text.contains(":3") || r.text.contains(": 3"), "the small number itself never leaves: \(r.text)")
        for secret in ["C0", "C1", "C2", "D0", "secret-name", "jo", "kim", "pia", "user:", "K1"] + server.records.map(\.id) {
            XCTAssertFalse(r.text.contains("\"\(secret)") || r.text.contains(secret + "\""), "the counts name \(secret)")
        }
        XCTAssertEqual(server.events.last?.action, "oversight-view")
    }
}
