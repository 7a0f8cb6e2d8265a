import Foundation
import KeyManagement
import Storage
import XCTest
@testable import Vault

/// Retention, holds and two-person shredding over real HTTP: every role on every lifecycle route
/// with its status and audit event, and the whole shred as a DPO and a DSL would do it.
final class LifecycleRouteTests: XCTestCase {
    var server: ServerFixture!
    var dslUpload = ""
    var otherSchool = ""
    let text = Array("Notes of the strategy meeting held about the child, agreed actions listed.\n".utf8)

    override func setUp() async throws {
        server = try await ServerFixture()
        try server.addOneUserPerRole()
        dslUpload = try await upload(user: "jo", school: "S1")
        otherSchool = try await upload(user: "kim", school: "S2")
    }

    override func tearDown() async throws { try await server.stop() }

    func upload(user: String, school: String, child: String = "C1") async throws -> String {
        let r = try await server.upload(text, user: user, type: "text/plain", school: school, child: child, kind: "minutes", filename: "m.txt")
        XCTAssertEqual(r.status, 201, r.text)
        return (r.json as? [String: Any])?["id"] as? String ?? ""
    }

    func send(_ method: String, _ path: String, _ user: String?, _ body: [String: Any]? = nil) async throws -> HTTPReply {
        try await server.json(method, path, user: user, body)
    }

    // Columns: sam(staff) jo(dsl) dee(deputy) pat(dpo) bob(backup) ada(admin).
    func testEveryRoleOnEveryLifecycleRoute() async throws {
        let shredTarget = try await upload(user: "jo", school: "S1", child: "C5")
        let cells: [(String, String, String, [String: Any]?, [Int])] = [
            ("set-dob", "PUT", "/v1/children/C1/dob?school=S1", ["dob": "2012-01-01"], [403, 200, 200, 403, 403, 403]),
            ("set-dob-other-school", "PUT", "/v1/children/C1/dob?school=S2", ["dob": "2012-01-01"], [403, 403, 403, 403, 403, 403]),
            ("due", "GET", "/v1/retention/due?school=S1", nil, [403, 200, 200, 200, 403, 403]),
            ("due-other-school", "GET", "/v1/retention/due?school=S2", nil, [403, 403, 403, 403, 403, 403]),
            ("hold", "POST", "/v1/holds", ["school": "S1", "record": dslUpload, "reason": "police investigation"], [403, 201, 201, 201, 403, 403]),
            ("hold-other-school-record", "POST", "/v1/holds", ["school": "S1", "record": otherSchool, "reason": "x"], [403, 404, 404, 404, 403, 403]),
            ("hold-other-school", "POST", "/v1/holds", ["school": "S2", "child": "C1", "reason": "x"], [403, 403, 403, 403, 403, 403]),
            ("list-holds", "GET", "/v1/holds?school=S1", nil, [403, 200, 200, 200, 403, 403]),
            ("release-missing", "DELETE", "/v1/holds/hold-0000000000000000", ["reason": "x"], [403, 404, 404, 404, 403, 403]),
            ("approve-release-missing", "POST", "/v1/holds/hold-0000000000000000/release/approve", nil, [403, 404, 404, 404, 403, 403]),
            ("shred-request", "POST", "/v1/shred-requests", ["school": "S1", "records": [shredTarget], "reason": "erasure"], [403, 201, 201, 201, 403, 403]),
            ("shred-other-school-record", "POST", "/v1/shred-requests", ["school": "S1", "records": [otherSchool], "reason": "x"], [403, 404, 404, 404, 403, 403]),
            ("approve-missing", "POST", "/v1/shred-requests/shred-0000000000000000/approve", nil, [403, 404, 404, 404, 403, 403]),
            ("certificate-missing", "GET", "/v1/shred-requests/shred-0000000000000000/certificate", nil, [403, 404, 404, 404, 403, 403]),
        ]
        let users = ["sam", "jo", "dee", "pat", "bob", "ada"]
        for (name, method, path, body, expected) in cells {
            for (i, user) in users.enumerated() {
                let before = server.events.count
                let r = try await send(method, path, user, body)
                XCTAssertEqual(r.status, expected[i], "\(name) as \(user): \(r.text)")
                let new = Array(server.events.dropFirst(before))
                XCTAssertEqual(new.last?.actor, try server.actor(user), "\(name) as \(user): no audit event")
                if expected[i] >= 400 {
                    XCTAssertEqual(new.last?.outcome, "denied", "\(name) as \(user)")
                    XCTAssertEqual(r.headers["content-type"], "application/problem+json")
                } else {
                    XCTAssertEqual(new.last?.outcome, "ok", "\(name) as \(user)")
                }
            }
        }
        XCTAssertNotNil(try server.vault.catalog.record(id: dslUpload), "nothing was shredded")
    }

    func testAShredOverHTTPNeedsTwoPeopleAndAnswersWithAVerifiableCertificate() async throws {
        let target = try await upload(user: "jo", school: "S1", child: "C9")
        let keep = try await upload(user: "jo", school: "S1", child: "C9")
        let request = try await send("POST", "/v1/shred-requests", "pat", ["school": "S1", "records": [target], "reason": "lawful erasure"])
        XCTAssertEqual(request.status, 201, request.text)
        let id = try XCTUnwrap((request.json as? [String: Any])?["id"] as? String)
        XCTAssertEqual((request.json as? [String: Any])?["state"] as? String, "pending")

        let own = try await send("POST", "/v1/shred-requests/\(id)/approve", "pat")
        XCTAssertEqual(own.status, 409, own.text)
        XCTAssertEqual((own.json as? [String: Any])?["type"] as? String, "urn:strongroom:problem:conflict")
        XCTAssertEqual(server.events.last?.action, "shred-approve")
        XCTAssertEqual(server.events.last?.outcome, "refused")
        let early = try await send("GET", "/v1/shred-requests/\(id)/certificate", "pat")
        XCTAssertEqual(early.status, 409, "no certificate before execution")

        let approved = try await send("POST", "/v1/shred-requests/\(id)/approve", "jo")
        XCTAssertEqual(approved.status, 200, approved.text)
        let certificate = try CertificateOfDestruction.verify(approved.body, publicKey: server.vault.publicKey)
        XCTAssertEqual(certificate.records.map(\.id), [target])
        XCTAssertEqual(certificate.requestedBy, try server.actor("pat"))
        XCTAssertEqual(certificate.approvedBy, try server.actor("jo"))
        let again = try await send("GET", "/v1/shred-requests/\(id)/certificate", "pat")
        XCTAssertEqual(again.body, approved.body, "the stored certificate is the one answered")
        do { let reply = try await send("POST", "/v1/shred-requests/\(id)/approve", "dee"); XCTAssertEqual(reply.status, 409, "executed once") }

        for path in ["/v1/attachments/\(target)", "/v1/attachments/\(target)/metadata", "/v1/attachments/\(target)/audit"] {
            do { let reply = try await server.request("GET", path, user: "jo"); XCTAssertEqual(reply.status, 404, path) }
        }
        let chronology = try await server.request("GET", "/v1/children/C9/attachments?school=S1", user: "jo")
        XCTAssertEqual(((chronology.json as? [String: Any])?["records"] as? [[String: Any]])?.compactMap { $0["id"] as? String }, [keep])
        do { let reply = try await server.request("GET", "/v1/attachments/\(keep)", user: "jo"); XCTAssertEqual(reply.body, text) }
    }

    func testHeldRecordsAreRefusedWith409UntilTheHoldIsReleasedWithAReason() async throws {
        let hold = try await send("POST", "/v1/holds", "jo", ["school": "S1", "child": "C1", "reason": "police investigation"])
        XCTAssertEqual(hold.status, 201, hold.text)
        let holdID = try XCTUnwrap((hold.json as? [String: Any])?["id"] as? String)
        let refused = try await send("POST", "/v1/shred-requests", "pat", ["school": "S1", "records": [dslUpload], "reason": "retention"])
        XCTAssertEqual(refused.status, 409, refused.text)
        XCTAssertEqual(server.events.last?.outcome, "refused")
        do { let reply = try await send("DELETE", "/v1/holds/\(holdID)", "jo", ["reason": ""]); XCTAssertEqual(reply.status, 400, "a release needs its reason") }
        do { let reply = try await send("DELETE", "/v1/holds/\(holdID)", "jo"); XCTAssertEqual(reply.status, 400, "no body") }
        do { let reply = try await send("DELETE", "/v1/holds/\(holdID)", "kim", ["reason": "x"]); XCTAssertEqual(reply.status, 404, "another school's hold") }
        let asked = try await send("DELETE", "/v1/holds/\(holdID)", "pat", ["reason": "investigation closed"])
        XCTAssertEqual(asked.status, 202, asked.text)
        let released = try await send("POST", "/v1/holds/\(holdID)/release/approve", "jo")
        XCTAssertEqual(released.status, 200, released.text)
        XCTAssertEqual((released.json as? [String: Any])?["active"] as? Bool, false)
        do { let reply = try await send("DELETE", "/v1/holds/\(holdID)", "pat", ["reason": "again"]); XCTAssertEqual(reply.status, 409) }
        do { let reply = try await send("POST", "/v1/shred-requests", "pat", ["school": "S1", "records": [dslUpload], "reason": "retention"]); XCTAssertEqual(reply.status, 201) }
    }

    /// A hold protects evidence an investigation needs: one person asks for its release (202, the
    /// hold still active), a second of the school's DSLs, deputies and DPOs approves it.
    func testReleasingAHoldOverHTTPNeedsASecondPerson() async throws {
        let placed = try await send("POST", "/v1/holds", "jo", ["school": "S1", "record": dslUpload, "reason": "police investigation"])
        XCTAssertEqual(placed.status, 201, placed.text)
        let id = try XCTUnwrap((placed.json as? [String: Any])?["id"] as? String)
        let asked = try await send("DELETE", "/v1/holds/\(id)", "jo", ["reason": "investigation closed"])
        XCTAssertEqual(asked.status, 202, asked.text)
        XCTAssertEqual((asked.json as? [String: Any])?["active"] as? Bool, true, "asking releases nothing")
        let request = (asked.json as? [String: Any])?["releaseRequest"] as? [String: Any]
        XCTAssertEqual(request?["requestedBy"] as? String, try server.actor("jo"))
        XCTAssertEqual(request?["reason"] as? String, "investigation closed")
        XCTAssertNotNil(request?["expiresAt"] as? String)
        XCTAssertEqual(server.events.last?.action, "hold-release-request")
        do {
            let reply = try await send("POST", "/v1/shred-requests", "pat", ["school": "S1", "records": [dslUpload], "reason": "retention"])
            XCTAssertEqual(reply.status, 409, "still held until a second person approves")
        }
        let own = try await send("POST", "/v1/holds/\(id)/release/approve", "jo")
        XCTAssertEqual(own.status, 409, own.text)
        XCTAssertEqual(server.events.last?.action, "hold-release")
        XCTAssertEqual(server.events.last?.outcome, "refused")
        do { let reply = try await send("POST", "/v1/holds/\(id)/release/approve", "sam"); XCTAssertEqual(reply.status, 403) }
        do { let reply = try await send("POST", "/v1/holds/\(id)/release/approve", "kim"); XCTAssertEqual(reply.status, 404, "another school's hold") }
        do {
            let listed = try await send("GET", "/v1/holds?school=S1", "dee")
            XCTAssertEqual(((listed.json as? [String: Any])?["holds"] as? [[String: Any]])?.first?["releaseRequest"] != nil, true, listed.text)
        }
        let approved = try await send("POST", "/v1/holds/\(id)/release/approve", "dee")
        XCTAssertEqual(approved.status, 200, approved.text)
        let hold = approved.json as? [String: Any]
        XCTAssertEqual(hold?["active"] as? Bool, false)
        XCTAssertEqual(hold?["releasedBy"] as? String, try server.actor("dee"))
        XCTAssertEqual(hold?["releaseReason"] as? String, "investigation closed")
        XCTAssertEqual((hold?["releaseRequest"] as? [String: Any])?["requestedBy"] as? String, try server.actor("jo"))
        do { let reply = try await send("POST", "/v1/holds/\(id)/release/approve", "pat"); XCTAssertEqual(reply.status, 409, "released once") }
        do {
            let reply = try await send("POST", "/v1/shred-requests", "pat", ["school": "S1", "records": [dslUpload], "reason": "retention"])
            XCTAssertEqual(reply.status, 201, reply.text)
        }
    }

    func testDateOfBirthDrivesWhatIsDue() async throws {
        let set = try await send("PUT", "/v1/children/C1/dob?school=S1", "jo", ["dob": "2001-12-01"])
        XCTAssertEqual(set.status, 200, set.text)
        XCTAssertEqual((set.json as? [String: Any])?["records"] as? Int, 1, "only S1's child C1: S2's C1 may be another child")
        let due = try await send("GET", "/v1/retention/due?school=S1&asOf=2026-12-01", "pat")
        XCTAssertEqual(due.status, 200, due.text)
        let records = (due.json as? [String: Any])?["records"] as? [[String: Any]]
        XCTAssertEqual(records?.compactMap { $0["id"] as? String }, [dslUpload])
        XCTAssertEqual(records?.first?["reviewOn"] as? String, "2026-12-01")
        let before = try await send("GET", "/v1/retention/due?school=S1&asOf=2026-11-30", "pat")
        XCTAssertEqual(((before.json as? [String: Any])?["records"] as? [Any])?.count, 0)
        for (body, why) in [(["dob": "2001-02-29"], "not a day"), (["dob": "2999-01-01"], "future"), (["date": "2001-01-01"], "wrong field")] {
            let bad = try await send("PUT", "/v1/children/C1/dob?school=S1", "jo", body)
            XCTAssertEqual(bad.status, 400, "\(why): \(bad.text)")
        }
        let garbage = try await server.request("PUT", "/v1/children/C1/dob?school=S1", user: "jo",
                                               headers: ["Content-Type": "application/json"], body: Array("{not json".utf8))
        XCTAssertEqual((garbage.json as? [String: Any])?["type"] as? String, "urn:strongroom:problem:invalid-json")
        do { let reply = try await send("GET", "/v1/retention/due?school=S1&asOf=2026-13-01", "pat"); XCTAssertEqual(reply.status, 400) }
    }
}
