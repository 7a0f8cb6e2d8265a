import Foundation
import XCTest
@testable import Vault

/// Children's labels and concerns' titles over real HTTP: the exact shapes other clients use,
/// who may set and read them, and that the text never comes back in a refusal.
final class LabelRouteTests: XCTestCase {
    var server: ServerFixture!
    let label = "Amelia-Rose Whitfield"

    override func setUp() async throws {
        server = try await ServerFixture()
        try server.addOneUserPerRole()
    }

    override func tearDown() async throws { try await server.stop() }

    func send(_ method: String, _ path: String, _ user: String?, _ body: [String: Any]? = nil) async throws -> HTTPReply {
        try await server.json(method, path, user: user, body)
    }

    // Columns: sam(staff) jo(dsl) dee(deputy) pat(dpo) bob(backup) ada(admin).
    func testOnlyDSLsAndDeputiesSetALabelAndThoseWhoSeeTheSchoolReadIt() async throws {
        let users = ["sam", "jo", "dee", "pat", "bob", "ada"]
        let set = [403, 204, 204, 403, 403, 403]
        let read = [403, 200, 200, 200, 403, 403]
        for (i, user) in users.enumerated() {
            let r = try await send("PUT", "/v1/children/C1/label?school=S1", user, ["label": label])
            XCTAssertEqual(r.status, set[i], "set as \(user): \(r.text)")
            XCTAssertFalse(r.text.contains("Amelia"), r.text)
        }
        for (i, user) in users.enumerated() {
            let r = try await send("GET", "/v1/children/C1/label?school=S1", user)
            XCTAssertEqual(r.status, read[i], "read as \(user): \(r.text)")
            if read[i] == 200 {
                XCTAssertEqual(r.json as? [String: String], ["label": label])
                XCTAssertEqual(r.headers["cache-control"], "no-store")
            } else {
                XCTAssertFalse(r.text.contains("Amelia"), r.text)
            }
        }
        let other = try await send("GET", "/v1/children/C1/label?school=S2", "jo")
        XCTAssertEqual(other.status, 403, "a school not the DSL's")
    }

    func testAConcernsTitleHasTheSameShapeAndAMissingOneIsNotFound() async throws {
        let missing = try await send("GET", "/v1/concerns/K1/title?school=S1", "jo")
        XCTAssertEqual(missing.status, 404, missing.text)
        XCTAssertEqual((missing.json as? [String: Any])?["type"] as? String, "urn:strongroom:problem:not-found")
        let put = try await send("PUT", "/v1/concerns/K1/title?school=S1", "dee", ["title": "Bruising on arm"])
        XCTAssertEqual(put.status, 204, put.text)
        let got = try await send("GET", "/v1/concerns/K1/title?school=S1", "pat")
        XCTAssertEqual(got.json as? [String: String], ["title": "Bruising on arm"])
    }

    func testABadLabelIsRefusedWithAReasonThatDoesNotRepeatIt() async throws {
        let cases: [([String: Any], String)] = [
            (["label": String(repeating: "Amelia", count: 40)], "1 to 200 characters"),
            (["label": "Amelia\u{202E}Rose"], "invisible"),
            (["name": "Amelia"], "not the JSON document"),
        ]
        for (body, reason) in cases {
            let r = try await send("PUT", "/v1/children/C1/label?school=S1", "jo", body)
            XCTAssertEqual(r.status, 400, r.text)
            XCTAssertTrue(r.text.contains(reason), r.text)
            XCTAssertFalse(r.text.contains("Amelia"), r.text)
        }
        let noSchool = try await send("PUT", "/v1/children/C1/label", "jo", ["label": label])
        XCTAssertEqual(noSchool.status, 400, noSchool.text)
    }
}
