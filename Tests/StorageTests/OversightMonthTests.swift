import Foundation
import XCTest
@testable import KeyManagement
@testable import Storage

/// The oversight counts name each instant's month (UTC) in SQL both engines read alike, so the
/// months are worked out here rather than by a date function of the database.
final class OversightMonthTests: XCTestCase {
    static let day: Int64 = 86_400_000

    func testTheMonthOfAnInstantIsTheGregorianCalendarsInUTC() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        // Every 3 days and 7 hours 13 minutes from 1901 to 2099, across leap years and month ends.
        var millis: Int64 = -2_177_452_800_000
        while millis < 4_102_444_800_000 {
            let parts = calendar.dateComponents([.year, .month], from: Date(timeIntervalSince1970: Double(millis) / 1000))
            let month = UTCMonth(millis: millis)
            XCTAssertEqual(month.text, String(format: "%04d-%02d", parts.year!, parts.month!), "at \(millis)")
            XCTAssertLessThanOrEqual(month.startMillis, millis)
            XCTAssertGreaterThan(month.next.startMillis, millis)
            XCTAssertEqual(month.next.index, month.index + 1)
            millis += 3 * Self.day + 26_000_000
        }
    }

    func testAMonthBeginsAtMidnightOnItsFirstDayInUTC() {
        XCTAssertEqual(UTCMonth(year: 1970, month: 1).startMillis, 0)
        XCTAssertEqual(UTCMonth(year: 2024, month: 3).startMillis, 1_709_251_200_000)
        XCTAssertEqual(UTCMonth(millis: 1_709_251_200_000 - 1).text, "2024-02")
        XCTAssertEqual(UTCMonth(millis: 1_709_251_200_000).text, "2024-03")
        XCTAssertEqual(UTCMonth(millis: -1).text, "1969-12")
    }

    func testTalliesCountAnUploadInTheMonthItWasMadeInUTC() throws {
        let dir = NSTemporaryDirectory() + "oversight-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let keys = try KeyStore.create(directory: dir, master: try MasterKeyFile.create(at: dir + "/master.key"))
        let signer = try keys.auditSigner()
        let catalog = try SQLiteCatalog.create(path: dir + "/metadata.sqlite", vaultID: keys.vaultID)
        defer { catalog.close() }
        try catalog.append([AuditEntry(actor: "cli:op", action: "init", outcome: .ok)], signer: signer)
        let march = UTCMonth(year: 2024, month: 3).startMillis
        // The last instant of February, the first of March, the last of March (outside the
        // window's end), and one of another school.
        for (school, at) in [("S1", march - 1), ("S1", march), ("S1", march + 31 * Self.day - 1), ("S2", march)] {
            let id = RecordID.generate()
            var record = GroupCommitTests.record(id)
            record.school = school
            record.createdAtMillis = at
            try catalog.commitRecord(record, event: AuditEntry(actor: "t", action: "put", outcome: .ok, record: id), signer: signer)
        }
        let window = OversightWindow(
            fromMillis: UTCMonth(year: 2024, month: 2).startMillis, toMillis: march + 30 * Self.day,
            fromDay: "2024-02-01", toDay: "2024-03-31", today: "2024-03-15")
        let added = try catalog.oversightTallies(schools: ["S1"], window: window).filter { $0.measure.hasPrefix("added:") }
        XCTAssertEqual(
            added.sorted { $0.month < $1.month },
            [OversightTally(school: "S1", month: "2024-02", measure: "added:minutes", count: 1),
             OversightTally(school: "S1", month: "2024-03", measure: "added:minutes", count: 1)])
        let empty = OversightWindow(fromMillis: march, toMillis: march, fromDay: "2024-03-01", toDay: "2024-03-01", today: "2024-03-15")
        XCTAssertEqual(try catalog.oversightTallies(schools: ["S1"], window: empty), [])
    }
}
