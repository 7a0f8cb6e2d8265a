import XCTest
@testable import KeyManagement
@testable import Storage

/// No audit entry, whoever builds it from whatever a request carried, can make a stored event
/// larger than `AuditLimits` allows: the log is append-only and never pruned.
final class AuditEntryLimitTests: XCTestCase {
    var dir: String!
    var catalog: SQLiteCatalog!

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "limits-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let keys = try KeyStore.create(directory: dir, master: try MasterKeyFile.create(at: dir + "/master.key"))
        catalog = try SQLiteCatalog.create(path: dir + "/metadata.sqlite", vaultID: keys.vaultID)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func storedBytes(_ e: AuditEvent) -> [Int] {
        [e.actor, e.action, e.school ?? "", e.child ?? "", e.concern ?? "", e.record ?? "", e.reason ?? ""].map(\.utf8.count)
    }

    func testAHugeValueInEveryFieldIsCutToItsBoundAsStoredAndSaysSo() throws {
        let huge = "GET /v1/attachments/" + String(repeating: "A", count: 60_000)
        // Control characters grow when escaped (one byte becomes six): the bound is on the stored form.
        let escaping = String(repeating: "\u{1}", count: 20_000)
        var entry = AuditEntry(actor: huge, action: huge, outcome: .denied, school: escaping, child: huge, concern: huge,
                               record: huge, reason: huge)
        let event = try catalog.append([entry], signer: nil)[0]
        XCTAssertEqual(storedBytes(event).map { $0 > 0 }, Array(repeating: true, count: 7))
        let limits = [AuditLimits.actor, AuditLimits.action] + Array(repeating: AuditLimits.identifier, count: 4) + [AuditLimits.reason]
        for (bytes, limit) in zip(storedBytes(event), limits) { XCTAssertLessThanOrEqual(bytes, limit) }
        XCTAssertTrue(event.reason!.hasPrefix("GET /v1/attachments/AAAA"))
        XCTAssertTrue(event.reason!.hasSuffix(" bytes]"), event.reason!.suffix(40).description)
        XCTAssertTrue(event.school!.hasPrefix("\\u{1}\\u{1}"), "escaped whole, never cut inside an escape")
        let cut = event.reason?.split(separator: "+").last?.split(separator: " ").first.flatMap { Int($0) } ?? 0
        XCTAssertEqual((event.reason ?? "").utf8.count - "…[+\(cut) bytes]".utf8.count + cut, huge.utf8.count, "the marker counts what was cut")

        // Setting a field after the entry was made is bounded the same way.
        entry.reason = huge
        entry.record = huge
        XCTAssertLessThanOrEqual(entry.reason!.utf8.count, AuditLimits.reason)
        XCTAssertLessThanOrEqual(entry.record!.utf8.count, AuditLimits.identifier)
    }

    func testValuesWithinTheirBoundsAreStoredUnchanged() throws {
        let reason = String(repeating: "é", count: 1000) + " \u{1B}[2J"
        let entry = AuditEntry(actor: "user:jo", action: "bundle-create", outcome: .ok, school: "S1", child: "C1", concern: "K1",
                               record: String(repeating: "a", count: 32), reason: reason)
        XCTAssertEqual(entry.reason, reason)
        let event = try catalog.append([entry], signer: nil)[0]
        XCTAssertEqual(event.reason, LogText.escape(reason))
        XCTAssertEqual(event.actor, "user:jo")
        XCTAssertEqual(AuditLimits.bounded(String(repeating: "x", count: AuditLimits.actor), to: AuditLimits.actor).count, AuditLimits.actor,
                       "a value exactly at its bound is kept whole")
    }
}
