import Foundation
import NIOCore
import Storage
import XCTest
@testable import StrongroomServer
@testable import Vault

/// Requests refused before anyone is known (no token, an unknown token, an unknown link) cost
/// whoever sends them nothing; the audit log, which is never pruned, must not pay per request.
final class AnonymousRefusalAuditTests: XCTestCase {
    final class Clock: @unchecked Sendable {
        private let lock = NSLock()
        private var now = Date(timeIntervalSince1970: 1_780_000_000)
        func read() -> Date { lock.withLock { now } }
        func advance(seconds: Double) { lock.withLock { now += seconds } }
    }

    var clock: Clock!
    var server: ServerFixture!

    override func setUp() async throws {
        clock = Clock()
        var options = Vault.Options()
        let clock = self.clock!
        options.clock = { clock.read() }
        server = try await ServerFixture(options: options)
    }

    override func tearDown() async throws { try await server.stop() }

    func bytes(_ events: some Sequence<AuditEvent>) -> Int {
        events.reduce(0) { sum, e in
            sum + [e.actor, e.action, e.outcome, e.school ?? "", e.child ?? "", e.concern ?? "", e.record ?? "", e.reason ?? ""]
                .reduce(0) { $0 + $1.utf8.count }
        }
    }

    /// The N in "from SOURCE: N more …" (a summary), or 1 (an event written at once).
    func count(_ e: AuditEvent) -> Int {
        guard let reason = e.reason, let more = reason.range(of: " more ") else { return 1 }
        return Int(reason[..<more.lowerBound].split(separator: " ").last ?? "") ?? 0
    }

    func testAFloodWithoutATokenAndHugePathsCostsOneEventPerSourceAndMinute() async throws {
        let before = server.events.count
        let huge = "/v1/attachments/" + String(repeating: "A", count: 60_000)
        let flood = 30
        for i in 0..<flood {
            let reply = try await server.request("GET", huge, token: i % 3 == 0 ? nil : "srt_" + String(repeating: "0", count: 64))
            XCTAssertEqual(reply.status, 401)
        }
        let atOnce = server.events.dropFirst(before)
        XCTAssertEqual(atOnce.count, 1, "only the first refusal of the window is written at once")
        XCTAssertEqual(atOnce.first?.action, "authenticate")
        XCTAssertEqual(atOnce.first?.reason, "from 127.0.0.1: GET /v1/attachments/{id}: no bearer token")

        // The window ends; its summary counts the rest.
        clock.advance(seconds: 61)
        try server.vault.audit.flushAnonymousRefusals()
        let written = Array(server.events.dropFirst(before))
        XCTAssertEqual(written.count, 2)
        let summary = try XCTUnwrap(written.last?.reason)
        XCTAssertTrue(summary.hasPrefix("from 127.0.0.1: 29 more requests without a valid token since "), summary)
        XCTAssertTrue(summary.hasSuffix("(9 no bearer token, 20 unknown or revoked token)"), summary)
        XCTAssertEqual(written.map(count).reduce(0, +), flood, "the counts add up to every refusal")
        XCTAssertLessThan(bytes(written), 600, "a flood of \(flood) requests with 60 KB paths costs two short events")
        XCTAssertFalse(written.contains { ($0.reason ?? "").contains("AAAA") || ($0.reason ?? "").contains("srt_") })

        // Nothing more is due; a new window starts with an event at once again.
        try server.vault.audit.flushAnonymousRefusals()
        XCTAssertEqual(server.events.count, before + 2)
        let again = try await server.request("GET", "/v1/attachments/x")
        XCTAssertEqual(again.status, 401)
        XCTAssertEqual(server.events.count, before + 3)
        XCTAssertTrue(try server.vault.audit.verifyLog(by: .operator("test")).isIntact)
    }

    func testASingleRefusalIsAuditedAtOnceWithTheRouteTemplateAndSource() async throws {
        let before = server.events.count
        let reply = try await server.request("GET", "/v1/attachments/0123456789abcdef0123456789abcdef/metadata", token: "nope")
        XCTAssertEqual(reply.status, 401)
        let event = try XCTUnwrap(server.events.dropFirst(before).first)
        XCTAssertEqual(server.events.count, before + 1)
        XCTAssertEqual(event.actor, "anonymous")
        XCTAssertEqual(event.outcome, "denied")
        XCTAssertEqual(event.reason, "from 127.0.0.1: GET /v1/attachments/{id}/metadata: unknown or revoked token")
        clock.advance(seconds: 61)
        try server.vault.audit.flushAnonymousRefusals()
        XCTAssertEqual(server.events.count, before + 1, "a window with only its first refusal needs no summary")
    }

    func testUnknownDownloadAndReceiptLinksAreCoalescedPerSource() async throws {
        let before = server.events.count
        for _ in 0..<12 {
            let r = try await server.request("GET", "/v1/shared/" + String(repeating: "x", count: 43))
            XCTAssertEqual(r.status, 404)
        }
        for _ in 0..<3 {
            let r = try await server.request("GET", "/v1/shared/" + String(repeating: "%", count: 50_000))
            XCTAssertEqual(r.status, 404)
        }
        for _ in 0..<5 {
            let r = try await server.request("POST", "/v1/receipts/" + String(repeating: "y", count: 43))
            XCTAssertEqual(r.status, 404)
        }
        let atOnce = server.events.dropFirst(before)
        XCTAssertEqual(atOnce.map(\.action), ["bundle-download", "bundle-receipt"])
        XCTAssertEqual(atOnce.map(\.reason), ["from 127.0.0.1: unknown link", "from 127.0.0.1: unknown link"])
        clock.advance(seconds: 61)
        try server.vault.audit.flushAnonymousRefusals()
        let written = Array(server.events.dropFirst(before))
        XCTAssertEqual(written.count, 4)
        let downloads = written.filter { $0.action == "bundle-download" }, receipts = written.filter { $0.action == "bundle-receipt" }
        XCTAssertEqual(downloads.map(count).reduce(0, +), 15)
        XCTAssertEqual(receipts.map(count).reduce(0, +), 5)
        XCTAssertTrue(downloads.last?.reason?.hasSuffix("(11 unknown link, 3 malformed link)") ?? false, downloads.last?.reason ?? "")
        XCTAssertLessThan(bytes(written), 800)
    }

    func testRefusalsStillCountedAtShutdownAreWrittenBeforeTheStoreCloses() async throws {
        let before = server.events.count
        for _ in 0..<5 {
            let r = try await server.request("DELETE", "/v1/bundles/b/link")
            XCTAssertEqual(r.status, 401)
        }
        XCTAssertEqual(server.events.count, before + 1)
        await server.stopServing()
        let written = Array(server.events.dropFirst(before))
        XCTAssertEqual(written.count, 2, "the open window's count is written at shutdown")
        XCTAssertEqual(written.map(count).reduce(0, +), 5)
        XCTAssertEqual(written.first?.reason, "from 127.0.0.1: DELETE /v1/bundles/{id}/link: no bearer token")
    }

    func testIPv6SourcesAreCountedPerSlash64AndMappedIPv4AsIPv4() throws {
        let a = try SocketAddress(ipAddress: "2001:db8:1:2:aaaa::1", port: 1)
        let b = try SocketAddress(ipAddress: "2001:db8:1:2:ffff:ffff:ffff:ffff", port: 2)
        let other = try SocketAddress(ipAddress: "2001:db8:1:3::1", port: 1)
        XCTAssertEqual(RefusalSource.of(a), "2001:db8:1:2::/64")
        XCTAssertEqual(RefusalSource.of(b), RefusalSource.of(a))
        XCTAssertNotEqual(RefusalSource.of(other), RefusalSource.of(a))
        XCTAssertEqual(RefusalSource.of(try SocketAddress(ipAddress: "::ffff:192.0.2.7", port: 1)), "192.0.2.7")
        XCTAssertEqual(RefusalSource.of(try SocketAddress(ipAddress: "192.0.2.7", port: 1)), "192.0.2.7")
        XCTAssertEqual(RefusalSource.of(nil), "unknown")
    }
}
