import Foundation
import XCTest
@testable import Vault

/// Body maps over HTTP: the outline an editor draws, saving marks as a record, and the marks
/// read back by a DSL, in the shapes docs/openapi.yaml gives.
final class BodyMapRouteTests: XCTestCase {
    var server: ServerFixture!
    let marks: [[String: Any]] = [
        ["side": "front", "shape": "point", "points": [[0.3, 0.4]], "colour": "blue", "size": 2, "note": "Bruise on left forearm"],
        ["side": "back", "shape": "area", "points": [[0.4, 0.6], [0.6, 0.6], [0.5, 0.7]], "colour": "red", "size": 1, "note": "Scratches"],
    ]

    override func setUp() async throws {
        server = try await ServerFixture()
        try server.addOneUserPerRole()
    }

    override func tearDown() async throws { try await server.stop() }

    func testStaffSaveABodyMapAndADSLReadsItsMarks() async throws {
        let outline = try await server.json("GET", "/v1/body-maps/outline", user: "sam")
        XCTAssertEqual(outline.status, 200, outline.text)
        XCTAssertEqual((outline.json as? [String: Any])?["aspect"] as? Double, 0.5)
        let saved = try await server.json("POST", "/v1/body-maps?school=S1&child=C1&concern=K1", user: "sam", ["marks": marks])
        XCTAssertEqual(saved.status, 201, saved.text)
        let record = try XCTUnwrap(saved.json as? [String: Any])
        XCTAssertEqual(record["kind"] as? String, "body-map")
        let id = try XCTUnwrap(record["id"] as? String)
        let read = try await server.json("GET", "/v1/attachments/\(id)/marks", user: "jo")
        XCTAssertEqual(read.status, 200, read.text)
        let back = try XCTUnwrap((read.json as? [String: Any])?["marks"] as? [[String: Any]])
        XCTAssertEqual(back.map { $0["note"] as? String }, ["Bruise on left forearm", "Scratches"])
        XCTAssertEqual(back.map { $0["colour"] as? String }, ["blue", "red"])
        for (user, status) in [("sam", 403), ("pat", 403), ("kim", 404)] {
            let r = try await server.json("GET", "/v1/attachments/\(id)/marks", user: user)
            XCTAssertEqual(r.status, status, "\(user): \(r.text)")
        }
    }

    func testABadMarkIsRefusedByNumberAndNothingIsStored() async throws {
        var bad = marks
        bad[1]["points"] = [[0.4, 0.6]]
        let r = try await server.json("POST", "/v1/body-maps?school=S1&child=C1&concern=K1", user: "sam", ["marks": bad])
        XCTAssertEqual(r.status, 400, r.text)
        XCTAssertTrue(r.text.contains("mark 2"), r.text)
        XCTAssertFalse(r.text.contains("Scratches"), r.text)
        let other = try await server.json("POST", "/v1/body-maps?school=S2&child=C1&concern=K1", user: "sam", ["marks": marks])
        XCTAssertEqual(other.status, 403, other.text)
        let list = try await server.json("GET", "/v1/children/C1/attachments?school=S1", user: "jo")
        XCTAssertEqual((list.json as? [String: Any]).flatMap { $0["records"] as? [Any] }?.count ?? (list.json as? [Any])?.count, 0, list.text)
    }
}
