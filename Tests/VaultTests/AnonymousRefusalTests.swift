import Foundation
import GRDB
import Storage
import TestSupport
import XCTest
@testable import Vault

/// The coalescing of anonymous refusals keeps its promises under pressure: bounded memory
/// however many sources there are, counts that add up, and no count lost when the log
/// cannot be written for a while.
final class AnonymousRefusalTests: XCTestCase {
    final class Clock: @unchecked Sendable {
        private let lock = NSLock()
        private var now = Date(timeIntervalSince1970: 1_780_000_000)
        func read() -> Date { lock.withLock { now } }
        func advance(seconds: Double) { lock.withLock { now += seconds } }
    }

    /// 1 for an event written at once, N for a summary "… N more …".
    func count(_ e: AuditEntry) -> Int {
        guard let reason = e.reason, let more = reason.range(of: " more ") else { return 1 }
        return Int(reason[..<more.lowerBound].split(separator: " ").last ?? "") ?? 0
    }

    func testMoreSourcesThanTrackedShareOneBucketAndEveryRefusalIsCounted() {
        let clock = Clock()
        let tally = AnonymousRefusalTally(clock: { clock.read() }, maxSources: 8)
        var written: [AuditEntry] = []
        var refusals = 0
        // 1,000 sources, three refusals each, of two kinds.
        for round in 0..<3 {
            for i in 0..<1000 {
                let kind: AnonymousRefusal = round == 0 ? .noToken : .unknownToken
                let (first, key) = tally.note(kind, source: "198.51.\(i / 256).\(i % 256)")
                refusals += 1
                if first { written.append(AnonymousRefusalTally.firstEntry(kind, request: "GET /v1/x", key: key)) }
                XCTAssertLessThanOrEqual(tally.trackedKeys, 9, "tracked sources are capped, plus one bucket for the rest")
            }
        }
        XCTAssertEqual(written.count, 9, "one event at once per tracked source and one for the other sources")
        XCTAssertEqual(written.last?.reason, "from one of many sources: GET /v1/x: no bearer token")
        clock.advance(seconds: 60)
        let due = tally.takeDue(all: false)
        XCTAssertEqual(due.count, 9)
        written += due.map { AnonymousRefusalTally.summaryEntry($0.key, $0.value) }
        XCTAssertEqual(written.map(count).reduce(0, +), refusals, "the counts add up")
        let bucket = due.first { $0.key.source == "other sources" }
        XCTAssertEqual(bucket?.value.total, 3 * 992 - 1)
        XCTAssertEqual(tally.trackedKeys, 0)
    }

    func testAWindowLastsAMinuteFromItsFirstRefusalAndOnlyEndedOnesAreDue() {
        let clock = Clock()
        let tally = AnonymousRefusalTally(clock: { clock.read() })
        XCTAssertTrue(tally.note(.unknownLink, source: "a").first)
        XCTAssertFalse(tally.note(.unknownLink, source: "a").first)
        XCTAssertTrue(tally.note(.noToken, source: "a").first, "each action has its own window")
        XCTAssertTrue(tally.note(.unknownLink, source: "b").first)
        XCTAssertFalse(tally.note(.malformedLink, source: "b").first)
        clock.advance(seconds: 59)
        XCTAssertTrue(tally.takeDue(all: false).isEmpty, "no window has ended")
        XCTAssertFalse(tally.note(.unknownLink, source: "a").first)
        clock.advance(seconds: 1)
        // Source a's next refusal opens a new window; its ended one waits for the flush.
        XCTAssertTrue(tally.note(.unknownLink, source: "a").first)
        let due = tally.takeDue(all: false)
        XCTAssertEqual(due[.init(source: "a", action: .bundleDownload)]?.counts, [.unknownLink: 2])
        XCTAssertEqual(due[.init(source: "b", action: .bundleDownload)]?.counts, [.malformedLink: 1])
        XCTAssertNil(due[.init(source: "a", action: .authenticate)], "a window with only its first refusal has nothing to add")
        XCTAssertFalse(tally.note(.unknownLink, source: "a").first)
        XCTAssertEqual(tally.takeDue(all: true)[.init(source: "a", action: .bundleDownload)]?.total, 1, "at shutdown every window is due")
    }

    func testASummaryThatCannotBeWrittenIsKeptForTheNextFlush() throws {
        try TestBackend.requireEmbedded("holds SQLite's write lock from a second connection")
        let clock = Clock()
        var options = Vault.Options()
        options.clock = { clock.read() }
        options.catalog.busyTimeout = 0.2
        let f = try VaultFixture(options: options)
        f.vault.close()
        f.vault = try f.reopen(options: options)  // opened with the short busy timeout
        for _ in 0..<4 { try f.vault.audit.recordAnonymousRefusal(.noToken, request: "GET /v1/x", from: "192.0.2.1") }
        clock.advance(seconds: 61)
        let holder = try DatabaseQueue(path: f.layout.metadata)
        try holder.inDatabase { db in
            try db.execute(sql: "BEGIN EXCLUSIVE")
            defer { try? db.execute(sql: "ROLLBACK") }
            XCTAssertThrowsError(try f.vault.audit.flushAnonymousRefusals(), "another process holds the write lock")
        }
        try f.vault.audit.flushAnonymousRefusals()
        let events = try f.vault.catalog.events(record: nil).filter { $0.action == "authenticate" }
        XCTAssertEqual(events.count, 2)
        XCTAssertTrue(events.last?.reason?.hasPrefix("from 192.0.2.1: 3 more requests without a valid token since 2026-") ?? false,
                      events.last?.reason ?? "")
    }
}
