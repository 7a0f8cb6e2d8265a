import Foundation
import GRDB
import KeyManagement
import Storage
import TestSupport
import XCTest
@testable import StrongroomServer
@testable import Vault

/// Uploads and downloads as a client sees them: samples, lying types, limits, disconnects,
/// concurrency, headers, damage and an audit log that cannot be written.
final class UploadDownloadTests: XCTestCase {
    let accepted: [(String, String, String)] = [
        ("body-map-front.png", "body-map", "image/png"),
        ("injury-photo-with-gps.jpg", "body-map", "image/jpeg"),
        ("strategy-meeting-minutes.pdf", "minutes", "application/pdf"),
        ("tac-meeting-minutes.docx", "minutes", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("disclosure-note.txt", "disclosure", "text/plain"),
        ("truncated.png", "body-map", "image/png"),
    ]
    let refused: [(String, String, String)] = [
        ("program-disguised.pdf", "minutes", "application/pdf"),
        ("program-disguised.docx", "minutes", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("script-disguised.png", "body-map", "image/png"),
        ("image-with-script.svg", "body-map", "image/svg+xml"),
        ("page-with-script.html", "document", "text/html"),
        ("empty.pdf", "minutes", "application/pdf"),
        ("zip-bomb.docx", "minutes", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    ]

    func testEverySampleWithItsTrueTypeAndWithALie() async throws {
        let server = try await ServerFixture()
        try server.addUser("jo", .dsl)
        for (name, kind, type) in accepted {
            let bytes = try Samples.bytes(name)
            let r = try await server.upload(bytes, user: "jo", type: type, kind: kind, filename: name)
            XCTAssertEqual(r.status, 201, "\(name): \(r.text)")
            let id = (r.json as? [String: Any])?["id"] as? String ?? ""
            XCTAssertEqual(r.headers["location"], "/v1/attachments/\(id)")
            let back = try await server.request("GET", "/v1/attachments/\(id)", user: "jo")
            XCTAssertEqual(back.body, bytes, "\(name) must come back byte for byte")
            XCTAssertEqual(back.headers["content-type"], type)
            // The same bytes declared as something else are refused.
            let lie = type == "application/pdf" ? "image/png" : "application/pdf"
            let lying = try await server.upload(bytes, user: "jo", type: lie, kind: kind, filename: name)
            XCTAssertEqual(lying.status, 415, "\(name) declared as \(lie)")
            XCTAssertEqual((lying.json as? [String: Any])?["type"] as? String, "urn:strongroom:problem:declared-type-mismatch")
        }
        for (name, kind, type) in refused {
            let before = server.records.count
            let r = try await server.upload(try Samples.bytes(name), user: "jo", type: type, kind: kind, filename: name)
            XCTAssertTrue([400, 415].contains(r.status), "\(name): \(r.status) \(r.text)")
            XCTAssertEqual(server.events.last?.outcome, "refused", name)
            XCTAssertEqual(server.records.count, before, "\(name) left a record")
        }
        XCTAssertEqual(server.blobFiles.filter { $0.contains("tmp/") }, [])
        XCTAssertEqual(server.blobFiles.count, accepted.count)
        try await server.stop()
    }

    func testDownloadHeaders() async throws {
        let server = try await ServerFixture()
        try server.addUser("jo", .dsl)
        let bytes = try Samples.bytes("body-map-front.png")
        let up = try await server.upload(bytes, user: "jo", type: "image/png", kind: "body-map", filename: "K%C3%B6rper%22map%3B.png")
        let id = (up.json as? [String: Any])?["id"] as? String ?? ""
        let r = try await server.request("GET", "/v1/attachments/\(id)", user: "jo")
        XCTAssertEqual(r.headers["content-type"], "image/png")
        XCTAssertEqual(r.headers["content-disposition"], "attachment; filename=\"K_rper_map;.png\"; filename*=UTF-8''K%C3%B6rper%22map%3B.png")
        XCTAssertEqual(r.headers["x-content-type-options"], "nosniff")
        XCTAssertEqual(r.headers["content-security-policy"], "sandbox")
        XCTAssertEqual(r.headers["cache-control"], "no-store")
        XCTAssertEqual(r.headers["content-length"], String(bytes.count))
        XCTAssertEqual(r.headers["etag"], "\"sha256-\(Hex.encode(SHA256Hasher.hash(bytes)))\"")
        try await server.stop()
    }

    func testTooLargeIsRefusedWithoutStoringAnything() async throws {
        var config = ServerConfiguration()
        config.maxUploadBytes = 100_000
        let server = try await ServerFixture(configuration: config)
        try server.addUser("jo", .dsl)
        var text = [UInt8](repeating: UInt8(ascii: "a"), count: 300_000)
        for i in stride(from: 80, to: text.count, by: 81) { text[i] = 10 }
        let r = try await server.upload(text, user: "jo", type: "text/plain", kind: "disclosure")
        XCTAssertEqual(r.status, 413)
        XCTAssertEqual((r.json as? [String: Any])?["type"] as? String, "urn:strongroom:problem:too-large")
        XCTAssertEqual(server.events.last?.outcome, "refused")
        XCTAssertEqual(server.records.count, 0)
        XCTAssertEqual(server.blobFiles, [])
        // Under the limit still works.
        let small = try await server.upload(Array(text.prefix(50_000)), user: "jo", type: "text/plain", kind: "disclosure")
        XCTAssertEqual(small.status, 201)
        try await server.stop()
    }

    func testClientThatHangsUpMidUploadLeavesNoRecordAndNoFile() async throws {
        let server = try await ServerFixture()
        try server.addUser("jo", .dsl)
        var text = [UInt8](repeating: UInt8(ascii: "b"), count: 1_000_000)
        for i in stride(from: 60, to: text.count, by: 61) { text[i] = 10 }
        _ = try await server.request(
            "POST", "/v1/attachments?school=S1&child=C1&concern=K1&kind=disclosure&filename=n.txt", user: "jo",
            headers: ["Content-Type": "text/plain"], body: text, sendOnly: 300_000)
        // Give the server a moment to notice the hang-up and clean up.
        for _ in 0..<50 where !server.blobFiles.isEmpty { try await Task.sleep(for: .milliseconds(100)) }
        XCTAssertEqual(server.records.count, 0)
        XCTAssertEqual(server.blobFiles, [], "a half upload must leave no file")
        let report = try server.vault.audit.verify(by: .operator("test"), useKeys: true)
        XCTAssertTrue(report.orphans.isEmpty && report.leftovers.isEmpty)
        try await server.stop()
    }

    func testHundredConcurrentUploadsAreAllStoredAndVerifiable() async throws {
        let server = try await ServerFixture()
        try server.addUser("jo", .dsl)
        let png = try Samples.bytes("body-map-front.png")
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<100 {
                group.addTask { try await server.upload(png, user: "jo", type: "image/png", child: "C\(i % 7)", kind: "body-map").status }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        XCTAssertEqual(statuses.filter { $0 == 201 }.count, 100, "\(statuses)")
        XCTAssertEqual(server.records.count, 100)
        let report = try server.vault.audit.verify(by: .operator("test"), useKeys: true)
        XCTAssertEqual(report.intact, 100)
        let audit = try server.vault.audit.verifyLog(by: .operator("test"))
        XCTAssertTrue(audit.isIntact, "\(audit.problems)")
        try await server.stop()
    }

    func testUnwritableAuditLogMeansNoDownloadBytes() async throws {
        try TestBackend.requireEmbedded("holds SQLite's write lock from a second connection (a database that does not answer is the cluster test's)")
        var options = Vault.Options()
        options.catalog.busyTimeout = 0.2
        let server = try await ServerFixture(options: options)
        try server.addUser("jo", .dsl)
        let up = try await server.upload(try Samples.bytes("disclosure-note.txt"), user: "jo", type: "text/plain", kind: "disclosure")
        let id = (up.json as? [String: Any])?["id"] as? String ?? ""
        let holder = try DatabaseQueue(path: server.vault.layout.metadata)
        let port = server.port, token = server.tokens["jo"]!
        // Another process holds the write lock while the download is asked for.
        let r = try holder.inDatabase { db -> HTTPReply in
            try db.execute(sql: "BEGIN EXCLUSIVE")
            defer { try? db.execute(sql: "ROLLBACK") }
            return try RawHTTP.exchange(port: port, method: "GET", path: "/v1/attachments/\(id)",
                                        headers: ["Authorization": "Bearer \(token)"], body: nil, sendOnly: nil)
        }
        XCTAssertEqual(r.status, 503)
        XCTAssertEqual((r.json as? [String: Any])?["type"] as? String, "urn:strongroom:problem:audit-unavailable")
        XCTAssertFalse(r.text.contains("disclosure"), "no plaintext byte without an audit record")
        try await server.stop()
    }

    /// Three bytes of the stored blob changed at `offset`, on disk or in the bucket.
    func damage(_ server: ServerFixture, _ id: String, at offset: UInt64) throws {
        var bytes = try server.store.blob(id)
        bytes.replaceSubrange(Int(offset)..<Int(offset) + 3, with: [0xff, 0x00, 0xff])
        try server.store.replaceBlob(id, with: bytes)
    }

    func testDamagedBlobAbortsTheConnectionInsteadOfEndingCleanly() async throws {
        let server = try await ServerFixture()
        try server.addUser("jo", .dsl)
        // Several megabytes, so the damage lies after the headers and the first bytes have gone out.
        var text = [UInt8](repeating: UInt8(ascii: "c"), count: 3_000_000)
        for i in stride(from: 70, to: text.count, by: 71) { text[i] = 10 }
        let up = try await server.upload(text, user: "jo", type: "text/plain", kind: "disclosure")
        let id = (up.json as? [String: Any])?["id"] as? String ?? ""
        try damage(server, id, at: 2_500_000)
        let r = try await server.request("GET", "/v1/attachments/\(id)", user: "jo")
        XCTAssertEqual(r.status, 200, "the headers went out before the damage was reached")
        XCTAssertFalse(r.complete, "a damaged download must end with a broken connection, not a clean end")
        XCTAssertLessThan(r.body.count, text.count)
        XCTAssertEqual(server.events.last?.outcome, "failed")
        try await server.stop()
    }

    func testDamageFoundBeforeTheFirstByteIsAProblemDocument() async throws {
        let server = try await ServerFixture()
        try server.addUser("jo", .dsl)
        let bytes = try Samples.bytes("strategy-meeting-minutes.pdf")
        let up = try await server.upload(bytes, user: "jo", type: "application/pdf", kind: "minutes")
        let id = (up.json as? [String: Any])?["id"] as? String ?? ""
        try damage(server, id, at: 200)
        let r = try await server.request("GET", "/v1/attachments/\(id)", user: "jo")
        XCTAssertEqual(r.status, 500)
        XCTAssertEqual((r.json as? [String: Any])?["type"] as? String, "urn:strongroom:problem:record-damaged")
        XCTAssertFalse(r.text.contains("%PDF"), "no plaintext of a damaged record")
        XCTAssertEqual(server.events.last?.outcome, "failed")
        try await server.stop()
    }

    /// A problem document names its request; the name must not count requests, or anyone could
    /// count everybody else's between two of their own probes.
    func testProblemDocumentsNameTheirRequestWithoutCountingRequests() async throws {
        let server = try await ServerFixture()
        var ids: [String] = []
        for _ in 0..<3 {
            let r = try await server.request("GET", "/v1/shared/" + String(repeating: "x", count: 43))
            XCTAssertEqual(r.status, 404)
            ids.append((r.json as? [String: Any])?["instance"] as? String ?? "")
        }
        XCTAssertEqual(Set(ids).count, 3, "\(ids)")
        let tails = ids.map { UInt64($0.suffix(16), radix: 16) ?? 0 }
        XCTAssertFalse(tails[1] &- tails[0] == 1 && tails[2] &- tails[1] == 1, "request ids count up: \(ids)")
        XCTAssertTrue(ids.allSatisfy { $0.hasPrefix("urn:strongroom:request:") && $0.count == "urn:strongroom:request:".count + 32 }, "\(ids)")
        try await server.stop()
    }

    func testUnknownMethodsAndRoutesAreClientErrorsNotServerErrors() async throws {
        let server = try await ServerFixture()
        try server.addUser("jo", .dsl)
        for (method, path) in [("TRACE", "/healthz"), ("DELETE", "/v1/attachments/\(String(repeating: "0", count: 32))"),
                               ("TRACE", "/v1/children/C1/attachments?school=S1"), ("GET", "/v1/nothing-here")] {
            let r = try await server.request(method, path, user: "jo")
            XCTAssertTrue((400..<500).contains(r.status), "\(method) \(path): \(r.status) \(r.text)")
            XCTAssertEqual(r.headers["content-type"], "application/problem+json", "\(method) \(path)")
            if path != "/v1/nothing-here" {
                XCTAssertEqual(r.status, 405, "\(method) \(path)")
                XCTAssertEqual(r.headers["allow"], "GET", "\(method) \(path)")
            }
        }
        try await server.stop()
    }
}
