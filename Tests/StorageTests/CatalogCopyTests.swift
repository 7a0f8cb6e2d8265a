import Foundation
import GRDB
import XCTest
@testable import Storage

/// Copying a whole catalog into another (CatalogCopy), here between two embedded databases; the
/// copies into and out of PostgreSQL are exercised by StoreMigrationTests.
final class CatalogCopyTests: XCTestCase {
    var folder = ""

    override func setUpWithError() throws {
        folder = NSTemporaryDirectory() + "catalogcopy-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: folder) }

    func source() throws -> SQLiteCatalog {
        let catalog = try SQLiteCatalog.create(path: folder + "/source.sqlite", vaultID: String(repeating: "a", count: 32))
        try catalog.write { db in
            try db.execute("INSERT INTO bundles (id, school, recipient, reason, state, created_by, created_at_ms) VALUES ('b1', 'S1', 'Police', 'r', 'draft', 'u', 1)")
            try db.execute("INSERT INTO bundle_items (bundle, position, record, school, child, mode) VALUES ('b1', 0, 'r1', 'S1', 'C1', 'as-is')")
            try db.execute("INSERT INTO children (school, child, dob, set_at_ms, set_by) VALUES ('S1', 'C1', '2015-01-01', 1, 'u')")
        }
        return catalog
    }

    func testEveryTableIsCopiedWithItsRowsAndTheCountsAreReturned() throws {
        let from = try source()
        defer { from.close() }
        let to = try SQLiteCatalog.create(path: folder + "/target.sqlite", vaultID: from.vaultID)
        defer { to.close() }
        let counts = try from.copyCatalog(into: to)
        XCTAssertEqual(counts["bundles"], 1)
        XCTAssertEqual(counts["bundle_items"], 1)
        XCTAssertEqual(counts["children"], 1)
        XCTAssertEqual(counts["vault"], 2, "the target's own vault rows are replaced, not doubled")
        XCTAssertNil(counts["grdb_migrations"], "engine bookkeeping is not copied")
        XCTAssertEqual(try to.tableCounts(), try from.tableCounts())
        XCTAssertEqual(try to.read { try $0.value(String.self, "SELECT dob FROM children WHERE child = 'C1'") }, "2015-01-01")
    }

    func testACatalogWithAColumnTheTargetLacksIsRefusedBeforeAnythingIsWritten() throws {
        let from = try source()
        defer { from.close() }
        try from.write { _ = try $0.execute("ALTER TABLE children ADD COLUMN nickname TEXT") }
        let to = try SQLiteCatalog.create(path: folder + "/target.sqlite", vaultID: from.vaultID)
        defer { to.close() }
        XCTAssertThrowsError(try from.copyCatalog(into: to)) {
            guard case StorageError.unsupportedFormat(let why) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(why.contains("children.nickname only in the source"), why)
        }
        XCTAssertEqual(try to.tableCounts()["bundles"], 0)
    }

    func testATargetThatHoldsRowsOrAnotherVaultIsRefused() throws {
        let from = try source()
        defer { from.close() }
        let other = try SQLiteCatalog.create(path: folder + "/other.sqlite", vaultID: String(repeating: "b", count: 32))
        defer { other.close() }
        XCTAssertThrowsError(try from.copyCatalog(into: other))
        let used = try SQLiteCatalog.create(path: folder + "/used.sqlite", vaultID: from.vaultID)
        defer { used.close() }
        try used.write { _ = try $0.execute("INSERT INTO children (school, child, dob, set_at_ms, set_by) VALUES ('S1', 'C9', '2014-01-01', 1, 'u')") }
        XCTAssertThrowsError(try from.copyCatalog(into: used)) {
            XCTAssertTrue("\($0)".contains("already holds rows in children"), "\($0)")
        }
    }
}
