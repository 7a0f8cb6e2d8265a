import Foundation
import KeyManagement
import Storage
import XCTest
@testable import Vault

/// The directory of agencies over real HTTP: who may keep it, and what it refuses.
final class SharingRouteTests: XCTestCase {
    var server: ServerFixture!
    let agency = AgeRecipient.text(publicKey: randomPublicBytes(32))

    override func setUp() async throws {
        server = try await ServerFixture()
        try server.addOneUserPerRole()
    }

    override func tearDown() async throws { try await server.stop() }

    func send(_ method: String, _ path: String, _ user: String?, _ body: [String: Any]? = nil) async throws -> HTTPReply {
        try await server.json(method, path, user: user, body)
    }

    // Columns: sam(staff) jo(dsl) dee(deputy) pat(dpo) bob(backup) ada(admin).
    func testOnlyDSLsAndDeputiesOfTheSchoolKeepItsDirectoryAndEveryAttemptIsAudited() async throws {
        let users = ["sam", "jo", "dee", "pat", "bob", "ada"]
        let cells: [(String, String, String, (String) -> [String: Any]?, [Int])] = [
            ("add", "POST", "/v1/recipients", { ["school": "S1", "name": "Children's social care (\($0))", "ageRecipient": self.agency] },
             [403, 201, 201, 403, 403, 403]),
            ("add-other-school", "POST", "/v1/recipients", { ["school": "S2", "name": "Police \($0)", "passphrase": true] },
             [403, 403, 403, 403, 403, 403]),
            ("list", "GET", "/v1/recipients?school=S1", { _ in nil }, [403, 200, 200, 403, 403, 403]),
            ("list-other-school", "GET", "/v1/recipients?school=S2", { _ in nil }, [403, 403, 403, 403, 403, 403]),
        ]
        for (name, method, path, body, expected) in cells {
            for (i, user) in users.enumerated() {
                let before = server.events.count
                let r = try await send(method, path, user, body(user))
                XCTAssertEqual(r.status, expected[i], "\(name) as \(user): \(r.text)")
                let new = Array(server.events.dropFirst(before))
                XCTAssertEqual(new.last?.actor, try server.actor(user), "\(name) as \(user): no audit event")
                XCTAssertEqual(new.last?.outcome, expected[i] >= 400 ? "denied" : "ok", "\(name) as \(user)")
            }
        }
        let list = try await send("GET", "/v1/recipients?school=S1", "jo")
        let names = try XCTUnwrap(list.json as? [[String: Any]]).compactMap { $0["name"] as? String }
        XCTAssertEqual(names, ["Children's social care (dee)", "Children's social care (jo)"])
    }

    func testMalformedOrDuplicateRecipientsAreRefusedWithTheReason() async throws {
        let created = try await send("POST", "/v1/recipients", "jo", ["school": "S1", "name": "Police", "passphrase": true, "contact": "safeguarding@example.org"])
        XCTAssertEqual(created.status, 201, created.text)
        XCTAssertEqual((created.json as? [String: Any])?["passphrase"] as? Bool, true)
        var typo = Array(agency)
        typo[12] = typo[12] == "q" ? "p" : "q"
        let cases: [([String: Any], Int, String)] = [
            (["school": "S1", "name": "Police", "passphrase": true], 409, "already has a recipient"),
            (["school": "S1", "name": "CSC", "ageRecipient": String(typo)], 400, "Bech32"),
            (["school": "S1", "name": "CSC", "ageRecipient": "ssh-ed25519 AAAA"], 400, "age1"),
            (["school": "S1", "name": "CSC"], 400, "exactly one"),
            (["school": "S1", "name": "CSC", "ageRecipient": agency, "passphrase": true], 400, "exactly one"),
            (["school": "S1", "name": "  ", "passphrase": true], 400, "name is empty"),
            (["school": "S1", "name": "CSC\u{7}", "passphrase": true], 400, "control characters"),
            (["school": "S1", "name": 7], 400, "JSON"),
        ]
        for (body, status, words) in cases {
            let r = try await send("POST", "/v1/recipients", "jo", body)
            XCTAssertEqual(r.status, status, "\(body): \(r.text)")
            XCTAssertTrue(r.text.contains(words), "\(body): \(r.text)")
        }
        XCTAssertEqual(try server.vault.catalog.recipients(school: "S1").map(\.name), ["Police"], "nothing refused was stored")
    }
}
