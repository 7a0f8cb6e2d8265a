import Foundation
import GRDB
import KeyManagement

/// A draft sent back to its creator by a second DSL or deputy, with a comment (migration
/// v13-bundle-returns; `BundleRow.returnedBy` and the rest read it back): it can no longer be
/// released, and its sealed choices stay until drafts of its age are forgotten, so the creator
/// can draft it again from them.
public struct BundleReturn: Sendable, Equatable {
    public var by: String
    public var atMillis: Int64
    public var comment: String

    public init(by: String, atMillis: Int64, comment: String) {
        self.by = by
        self.atMillis = atMillis
        self.comment = comment
    }
}

public protocol BundleReturnCatalog: Sendable {
    /// Sends a draft back with its audit event; `lifecycleConflict` unless it is a draft no one
    /// is releasing.
    func returnBundle(id: String, _ back: BundleReturn, event: AuditEntry, signer: AuditSigner?) throws
}

extension SQLiteCatalog {
    static func registerBundleReturnMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v13-bundle-returns") { db in
            // SQLite cannot widen a CHECK in place: the table is made again with the new state
            // and the return's columns, and the rows copied over (GRDB runs migrations with
            // foreign keys off and checks them after; bundle_items names the table, not a copy).
            try db.execute(sql: """
                CREATE TABLE bundles_v13 (
                    id TEXT PRIMARY KEY, school TEXT NOT NULL, recipient TEXT NOT NULL, reason TEXT NOT NULL,
                    state TEXT NOT NULL CHECK (state IN ('draft', 'releasing', 'released', 'returned')), claim TEXT, claimed_at_ms INTEGER,
                    created_by TEXT NOT NULL, created_at_ms INTEGER NOT NULL,
                    approved_by TEXT, released_at_ms INTEGER,
                    sealed_items BLOB, sealed_kek TEXT,
                    archive_sha256 TEXT, archive_size INTEGER,
                    link_hash BLOB UNIQUE, receipt_hash BLOB UNIQUE, link_expires_ms INTEGER, link_max_downloads INTEGER,
                    link_downloads INTEGER NOT NULL DEFAULT 0, link_revoked_ms INTEGER, receipt_at_ms INTEGER,
                    returned_by TEXT, returned_at_ms INTEGER, return_comment TEXT);
                INSERT INTO bundles_v13 (id, school, recipient, reason, state, claim, claimed_at_ms, created_by, created_at_ms,
                    approved_by, released_at_ms, sealed_items, sealed_kek, archive_sha256, archive_size, link_hash, receipt_hash,
                    link_expires_ms, link_max_downloads, link_downloads, link_revoked_ms, receipt_at_ms)
                SELECT id, school, recipient, reason, state, claim, claimed_at_ms, created_by, created_at_ms,
                    approved_by, released_at_ms, sealed_items, sealed_kek, archive_sha256, archive_size, link_hash, receipt_hash,
                    link_expires_ms, link_max_downloads, link_downloads, link_revoked_ms, receipt_at_ms FROM bundles;
                DROP TABLE bundles;
                ALTER TABLE bundles_v13 RENAME TO bundles;
                CREATE INDEX bundles_school ON bundles (school, created_at_ms);
                """)
        }
    }
}

extension RelationalCatalog {
    public func returnBundle(id: String, _ back: BundleReturn, event: AuditEntry, signer: AuditSigner?) throws {
        try auditedWrite { db in
            let changed = try db.execute("""
                UPDATE bundles SET state = 'returned', returned_by = ?, returned_at_ms = ?, return_comment = ?
                WHERE id = ? AND state = 'draft'
                """, [back.by, back.atMillis, back.comment, id])
            guard changed == 1 else {
                throw StorageError.lifecycleConflict("only a draft that is not being released can be sent back")
            }
            _ = try self.appendLocked(db, [event], signer: signer)
        }
    }
}
