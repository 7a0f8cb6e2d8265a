import Foundation
import GRDB
import KeyManagement

// A school's shred requests, listed; and the withdrawal of a pending one by the person who asked.

extension SQLiteCatalog {
    static func registerShredWithdrawalMigration(_ migrator: inout DatabaseMigrator) {
        migrator.registerMigration("v14-shred-withdrawals") { db in
            // A request can now be 'withdrawn', with who withdrew it and when. Registering the
            // migration also makes older builds, which do not know that state, refuse this
            // database rather than guess what a withdrawn request is.
            try db.execute(sql: """
                ALTER TABLE shred_requests ADD COLUMN withdrawn_by TEXT;
                ALTER TABLE shred_requests ADD COLUMN withdrawn_at_ms INTEGER;
                CREATE INDEX shred_requests_by_school ON shred_requests (school, requested_at_ms);
                """)
        }
    }

    static let shredRequestListColumns = [
        "id", "school", "records", "reason", "requested_by", "requested_role", "requested_at_ms", "requested_account",
        "approved_by", "approved_role", "approved_at_ms", "state", "withdrawn_by", "withdrawn_at_ms",
    ]

    public func shredRequests(schools: [String], limit: Int) throws -> [ShredRequest] {
        guard !schools.isEmpty, limit > 0 else { return [] }
        return try guarded {
            try pool.read { db in
                // Every column but the certificate, which can be megabytes: a listing never needs it.
                try ShredRequest
                    .select(Self.shredRequestListColumns.map { Column($0) })
                    .filter(schools.contains(Column("school")))
                    .order(Column("requested_at_ms").desc, Column("id"))
                    .limit(limit)
                    .fetchAll(db)
            }
        }
    }

    public func withdrawShredRequest(id: String, by actor: String, atMillis: Int64, event: AuditEntry, signer: AuditSigner?) throws {
        try sqliteWrite { db in
            // Only while pending: once approved the records are gone, and a void request is dead already.
            try db.execute(
                sql: "UPDATE shred_requests SET state = ?, withdrawn_by = ?, withdrawn_at_ms = ? WHERE id = ? AND state = ?",
                arguments: [ShredRequest.State.withdrawn.rawValue, actor, atMillis, id, ShredRequest.State.pending.rawValue])
            guard db.changesCount == 1 else {
                let state = try String.fetchOne(db, sql: "SELECT state FROM shred_requests WHERE id = ?", arguments: [id])
                guard let state else { throw StorageError.lifecycleNotFound(what: "shred request", id: id) }
                throw StorageError.lifecycleConflict("shred request \(id) is \(state), not waiting for approval, so it cannot be withdrawn")
            }
            _ = try self.appendLocked(db, [event], signer: signer)
        }
    }
}
