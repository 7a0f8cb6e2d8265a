import Foundation
import GRDB
import KeyManagement
import Storage
import TestSupport
import XCTest
@testable import Vault

/// The role x route x record matrix over real HTTP, each cell with its status and audit event.
/// The expected statuses are written out by hand here, not derived from AccessPolicy, so a
/// change to the policy table that nobody meant shows up as a failing cell.
final class AccessMatrixTests: XCTestCase {
    var server: ServerFixture!
    var ownUpload = ""       // uploaded by staff "sam" in S1
    var dslUpload = ""       // uploaded by dsl "jo" in S1
    var otherSchool = ""     // uploaded by dsl "kim" in S2
    let pdf = Array("%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n".utf8)

    override func setUp() async throws {
        server = try await ServerFixture()
        try server.addOneUserPerRole()
        ownUpload = try await uploadID(user: "sam", school: "S1")
        dslUpload = try await uploadID(user: "jo", school: "S1")
        otherSchool = try await uploadID(user: "kim", school: "S2")
    }

    override func tearDown() async throws { try await server.stop() }

    func uploadID(user: String, school: String) async throws -> String {
        let r = try await server.upload(pdf, user: user, type: "application/pdf", school: school, kind: "minutes")
        XCTAssertEqual(r.status, 201, r.text)
        return (r.json as? [String: Any])?["id"] as? String ?? ""
    }

    struct Cell { var route: String; var method: String; var path: String; var body: Bool }

    func cells() -> [(String, Cell)] {
        [
            ("upload-own-school", Cell(route: "upload", method: "POST", path: "/v1/attachments?school=S1&child=C1&concern=K1&kind=minutes&filename=m.pdf", body: true)),
            ("upload-other-school", Cell(route: "upload", method: "POST", path: "/v1/attachments?school=S2&child=C1&concern=K1&kind=minutes&filename=m.pdf", body: true)),
            ("download-dsl-upload", Cell(route: "download", method: "GET", path: "/v1/attachments/\(dslUpload)", body: false)),
            ("download-own-upload", Cell(route: "download", method: "GET", path: "/v1/attachments/\(ownUpload)", body: false)),
            ("download-other-school", Cell(route: "download", method: "GET", path: "/v1/attachments/\(otherSchool)", body: false)),
            ("metadata-own-upload", Cell(route: "metadata", method: "GET", path: "/v1/attachments/\(ownUpload)/metadata", body: false)),
            ("metadata-dsl-upload", Cell(route: "metadata", method: "GET", path: "/v1/attachments/\(dslUpload)/metadata", body: false)),
            ("metadata-other-school", Cell(route: "metadata", method: "GET", path: "/v1/attachments/\(otherSchool)/metadata", body: false)),
            ("metadata-missing", Cell(route: "metadata", method: "GET", path: "/v1/attachments/\(String(repeating: "0", count: 32))/metadata", body: false)),
            ("download-missing", Cell(route: "download", method: "GET", path: "/v1/attachments/\(String(repeating: "f", count: 32))", body: false)),
            ("download-malformed", Cell(route: "download", method: "GET", path: "/v1/attachments/..%2F..%2Fkeys", body: false)),
            ("audit-dsl-upload", Cell(route: "audit", method: "GET", path: "/v1/attachments/\(dslUpload)/audit", body: false)),
            ("audit-other-school", Cell(route: "audit", method: "GET", path: "/v1/attachments/\(otherSchool)/audit", body: false)),
            ("chronology-own-school", Cell(route: "list", method: "GET", path: "/v1/children/C1/attachments?school=S1", body: false)),
            ("chronology-other-school", Cell(route: "list", method: "GET", path: "/v1/children/C1/attachments?school=S2", body: false)),
        ]
    }

    // Expected statuses: columns sam(staff) jo(dsl) dee(deputy) pat(dpo) bob(backup) ada(admin).
    let expected: [String: [Int]] = [
        "upload-own-school":       [201, 201, 201, 403, 403, 403],
        "upload-other-school":     [403, 403, 403, 403, 403, 403],
        "download-dsl-upload":     [403, 200, 200, 403, 403, 403],
        "download-own-upload":     [403, 200, 200, 403, 403, 403],
        "download-other-school":   [403, 404, 404, 403, 403, 403],
        "metadata-own-upload":     [200, 200, 200, 200, 403, 403],
        "metadata-dsl-upload":     [404, 200, 200, 200, 403, 403],
        "metadata-other-school":   [404, 404, 404, 404, 403, 403],
        "metadata-missing":        [404, 404, 404, 404, 403, 403],
        "download-missing":        [403, 404, 404, 403, 403, 403],
        "download-malformed":      [403, 404, 404, 403, 403, 403],
        "audit-dsl-upload":        [403, 200, 200, 200, 403, 403],
        "audit-other-school":      [403, 404, 404, 404, 403, 403],
        "chronology-own-school":   [200, 200, 200, 200, 403, 403],
        "chronology-other-school": [403, 403, 403, 403, 403, 403],
    ]

    func testEveryRoleOnEveryRouteAndRecord() async throws {
        let users = ["sam", "jo", "dee", "pat", "bob", "ada"]
        for (name, cell) in cells() {
            for (i, user) in users.enumerated() {
                let before = server.events.count
                let r = try await server.request(
                    cell.method, cell.path, user: user, headers: cell.body ? ["Content-Type": "application/pdf"] : [:],
                    body: cell.body ? pdf : nil)
                let want = expected[name]![i]
                XCTAssertEqual(r.status, want, "\(name) as \(user): \(r.text)")
                let new = Array(server.events.dropFirst(before))
                XCTAssertFalse(new.isEmpty, "\(name) as \(user) wrote no audit event")
                let last = new.last
                XCTAssertEqual(last?.actor, try server.actor(user), "\(name) as \(user)")
                if want >= 400 {
                    XCTAssertEqual(last?.outcome, "denied", "\(name) as \(user): a denial must be audited as denied")
                    XCTAssertFalse((last?.reason ?? "").isEmpty, "\(name) as \(user): the denial's reason")
                    XCTAssertEqual(r.headers["content-type"], "application/problem+json")
                    XCTAssertNotNil((r.json as? [String: Any])?["type"] as? String)
                } else {
                    XCTAssertEqual(last?.outcome, "ok", "\(name) as \(user)")
                }
                if cell.route == "download", want == 200 {
                    XCTAssertEqual(r.body, pdf)
                    XCTAssertTrue(r.complete)
                }
            }
        }
    }

    func testAnotherSchoolsRecordAndAMissingOneLookTheSame() async throws {
        let other = try await server.request("GET", "/v1/attachments/\(otherSchool)", user: "jo")
        let missing = try await server.request("GET", "/v1/attachments/\(String(repeating: "a", count: 32))", user: "jo")
        XCTAssertEqual(other.status, 404)
        XCTAssertEqual(missing.status, 404)
        func strip(_ r: HTTPReply) -> [String: String] {
            var o = (r.json as? [String: Any] ?? [:]).mapValues { "\($0)" }
            o["instance"] = nil
            return o
        }
        XCTAssertEqual(strip(other), strip(missing))
    }

    func testStaffSeeOnlyTheirOwnUploadsInAChronology() async throws {
        let r = try await server.request("GET", "/v1/children/C1/attachments?school=S1", user: "sam")
        let ids = ((r.json as? [String: Any])?["records"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
        XCTAssertEqual(ids, [ownUpload])
        let dsl = try await server.request("GET", "/v1/children/C1/attachments?school=S1", user: "jo")
        let all = ((dsl.json as? [String: Any])?["records"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
        XCTAssertEqual(all, [ownUpload, dslUpload])
    }

    func testChronologyPages() async throws {
        let first = try await server.request("GET", "/v1/children/C1/attachments?school=S1&limit=1", user: "jo")
        let page = first.json as? [String: Any]
        XCTAssertEqual((page?["records"] as? [[String: Any]])?.first?["id"] as? String, ownUpload)
        XCTAssertEqual(page?["nextOffset"] as? Int, 1)
        let second = try await server.request("GET", "/v1/children/C1/attachments?school=S1&limit=1&offset=1", user: "jo")
        XCTAssertEqual(((second.json as? [String: Any])?["records"] as? [[String: Any]])?.first?["id"] as? String, dslUpload)
        let bad = try await server.request("GET", "/v1/children/C1/attachments?school=S1&limit=0", user: "jo")
        XCTAssertEqual(bad.status, 400)
    }

    func testNoTokenAndUnknownTokenAreRefusedAndAudited() async throws {
        let before = server.events.count
        let none = try await server.request("GET", "/v1/attachments/\(dslUpload)")
        XCTAssertEqual(none.status, 401)
        XCTAssertEqual(none.headers["www-authenticate"], "Bearer realm=\"strongroom\"")
        let forged = try await server.request("GET", "/v1/attachments/\(dslUpload)", token: "srt_" + String(repeating: "0", count: 64))
        XCTAssertEqual(forged.status, 401)
        // The first refusal from a source is written at once, the next counted for its
        // window's summary (written here as at shutdown).
        XCTAssertEqual(server.events.count, before + 1)
        try server.vault.audit.flushAnonymousRefusals(all: true)
        let new = server.events.dropFirst(before)
        XCTAssertEqual(new.map(\.outcome), ["denied", "denied"])
        XCTAssertEqual(new.map(\.action), ["authenticate", "authenticate"])
        XCTAssertTrue(new.last?.reason?.hasSuffix("(1 unknown or revoked token)") ?? false, new.last?.reason ?? "")
        XCTAssertFalse(new.contains { ($0.reason ?? "").contains("srt_") }, "a token must never reach the log")
    }

    func testRevokedTokenStopsWorkingOnTheNextRequest() async throws {
        let ok = try await server.request("GET", "/v1/attachments/\(dslUpload)/metadata", user: "jo")
        XCTAssertEqual(ok.status, 200)
        try server.vault.users.revoke(name: "jo", by: .operator("test"))
        let after = try await server.request("GET", "/v1/attachments/\(dslUpload)/metadata", user: "jo")
        XCTAssertEqual(after.status, 401)
        XCTAssertEqual(server.events.last?.outcome, "denied")
        // Re-adding the name issues a new token; the old one stays dead.
        let fresh = try server.vault.users.addIntegration(name: "jo", role: .dsl, schools: ["S1"], by: .operator("test")).token
        let stale = try await server.request("GET", "/v1/attachments/\(dslUpload)/metadata", user: "jo")
        XCTAssertEqual(stale.status, 401)
        let renewed = try await server.request("GET", "/v1/attachments/\(dslUpload)/metadata", token: fresh)
        XCTAssertEqual(renewed.status, 200)
    }

    /// A staff name revoked and added again is a new account: the old account's uploads stay out
    /// of its sight, in a chronology and by id, and the audit log tells the two apart.
    func testAStaffNameAddedAgainSeesNoneOfTheOldAccountsUploads() async throws {
        func ids(_ r: HTTPReply) -> [String] {
            ((r.json as? [String: Any])?["records"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
        }
        try server.addUser("alice", .staff)
        let old = try await uploadID(user: "alice", school: "S1")
        do { let r = try await server.request("GET", "/v1/attachments/\(old)/metadata", user: "alice"); XCTAssertEqual(r.status, 200) }
        try server.vault.users.revoke(name: "alice", by: .operator("test"))
        try server.addUser("alice", .staff)
        let metadata = try await server.request("GET", "/v1/attachments/\(old)/metadata", user: "alice")
        XCTAssertEqual(metadata.status, 404, metadata.text)
        let list = try await server.request("GET", "/v1/children/C1/attachments?school=S1", user: "alice")
        XCTAssertEqual(list.status, 200, list.text)
        XCTAssertEqual(ids(list), [])
        let mine = try await uploadID(user: "alice", school: "S1")
        let again = try await server.request("GET", "/v1/children/C1/attachments?school=S1", user: "alice")
        XCTAssertEqual(ids(again), [mine])
        let puts = server.events.filter { $0.action == "put" && $0.outcome == "ok" }
        let oldActor = try XCTUnwrap(puts.first { $0.record == old }?.actor)
        let newActor = try XCTUnwrap(puts.first { $0.record == mine }?.actor)
        XCTAssertNotEqual(oldActor, newActor)
        XCTAssertTrue(oldActor.hasPrefix("user:alice#") && newActor.hasPrefix("user:alice#"), "\(oldActor) \(newActor)")
    }

    func testAuditTrailListsTheRecordsEvents() async throws {
        _ = try await server.request("GET", "/v1/attachments/\(dslUpload)", user: "jo")
        let r = try await server.request("GET", "/v1/attachments/\(dslUpload)/audit", user: "pat")
        XCTAssertEqual(r.status, 200)
        let events = (r.json as? [String: Any])?["events"] as? [[String: Any]] ?? []
        XCTAssertEqual(events.compactMap { $0["action"] as? String }.prefix(2), ["put", "get"])
        XCTAssertTrue(events.allSatisfy { $0["time"] != nil && $0["actor"] != nil })
    }

    /// Someone who can write metadata.sqlite but holds no master key (a backup operator, a
    /// thief of the disk) must not be able to mint a user or promote one.
    func testUserRowsWrittenWithoutTheMasterKeyAreNotHonoured() async throws {
        let token = "srt_" + String(repeating: "ab", count: 32)
        let hash = Data(SHA256Hasher.hash(Array(token.utf8)))
        try server.store.tamper("""
            INSERT INTO users (id, name, role, schools, token_hash, created_at_ms, created_by, signature, signature_format)
            VALUES ('00000000000000aa', 'mallory', 'dsl', 'S1 S2', ?, 0, 'nobody', ?, 2)
            """, [hash, Data(repeating: 0, count: 64)])
        // Promote staff "sam" to dsl in place.
        try server.store.tamper("UPDATE users SET role = 'dsl' WHERE name = 'sam'")
        let minted = try await server.request("GET", "/v1/attachments/\(dslUpload)", token: token)
        XCTAssertEqual(minted.status, 401)
        let promoted = try await server.request("GET", "/v1/attachments/\(dslUpload)", user: "sam")
        XCTAssertEqual(promoted.status, 401, "an edited user row must fail its signature")
        XCTAssertEqual(server.events.last?.outcome, "denied")
        // A row copied from another user keeps that user's signature and fails under another name.
        try server.store.tamper("UPDATE users SET name = 'jo2' WHERE name = 'jo'")
        let renamed = try await server.request("GET", "/v1/attachments/\(dslUpload)", user: "jo")
        XCTAssertEqual(renamed.status, 401)
        // Another account's id (and with it that account's uploads) cannot be written into a row.
        let deeAccount = try XCTUnwrap(try server.vault.users.authenticate(token: server.tokens["dee"]!)).account
        try server.store.tamper("UPDATE users SET revoked_at_ms = 1 WHERE name = 'dee'")
        try server.store.tamper("UPDATE users SET id = 'ffffffffffffffff' WHERE name = 'dee'")
        try server.store.tamper("UPDATE users SET id = ? WHERE name = 'pat'", [deeAccount])
        let reassigned = try await server.request("GET", "/v1/attachments/\(dslUpload)/metadata", user: "pat")
        XCTAssertEqual(reassigned.status, 401, "the account id is signed with the rest of the row")
    }
}
