import GRDB
import XCTest
@testable import Storage

/// The table of bundles is made again to allow the `returned` state: every row and every item
/// that pointed at it come through unchanged.
final class BundleReturnMigrationTests: XCTestCase {
    func testBundlesDraftedBeforeReturnsExistedKeepEveryColumnAndTheirItems() throws {
        let queue = try DatabaseQueue()
        try SQLiteCatalog.migrator.migrate(queue, upTo: "v12-labels")
        try queue.write { db in
            try db.execute(sql: """
                INSERT INTO bundles (id, school, recipient, reason, state, created_by, created_at_ms, approved_by, released_at_ms,
                    archive_sha256, archive_size, link_hash, receipt_hash, link_expires_ms, link_max_downloads, link_downloads, receipt_at_ms)
                VALUES ('b1', 'S1', 'Social care', 'Section 47', 'released', 'user:a', 10, 'user:b', 20, 'ab', 99, x'01', x'02', 30, 3, 2, 25);
                INSERT INTO bundles (id, school, recipient, reason, state, created_by, created_at_ms, sealed_items, sealed_kek)
                VALUES ('b2', 'S1', 'Police', 'Strategy meeting', 'draft', 'user:a', 40, x'0a0b', 'kek-1');
                INSERT INTO bundle_items (bundle, position, record, school, child, mode) VALUES ('b1', 0, 'r1', 'S1', 'C1', 'as-is');
                INSERT INTO bundle_items (bundle, position, record, school, child, mode) VALUES ('b2', 0, 'r2', 'S1', 'C1', 'redacted');
                """)
        }
        try SQLiteCatalog.migrator.migrate(queue)
        try queue.read { db in
            let released = try XCTUnwrap(try BundleRow.fetchOne(db, key: "b1"))
            XCTAssertEqual(released.state, .released)
            XCTAssertEqual(released.approvedBy, "user:b")
            XCTAssertEqual(released.linkHash, Data([1]))
            XCTAssertEqual(released.linkDownloads, 2)
            XCTAssertEqual(released.receiptAtMillis, 25)
            XCTAssertNil(released.returnedBy)
            let draft = try XCTUnwrap(try BundleRow.fetchOne(db, key: "b2"))
            XCTAssertEqual(draft.sealedItems, Data([0x0a, 0x0b]))
            XCTAssertEqual(draft.sealedKEK, "kek-1")
            XCTAssertEqual(try BundleItemRow.fetchCount(db), 2)
            XCTAssertEqual(try Row.fetchAll(db, sql: "PRAGMA foreign_key_check"), [])
            XCTAssertEqual(try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE tbl_name = 'bundles' AND type = 'index' AND name = 'bundles_school'"),
                           ["bundles_school"])
        }
        try queue.write { db in
            try db.execute(sql: "UPDATE bundles SET state = 'returned' WHERE id = 'b2'")
            XCTAssertThrowsError(try db.execute(sql: "UPDATE bundles SET state = 'lost' WHERE id = 'b2'"), "the state is still checked")
        }
    }
}
