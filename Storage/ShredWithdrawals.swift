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
}

extension RelationalCatalog {
    /// Every column but the certificate, which can be megabytes: a listing never needs it.
    static let shredRequestListColumns = [
        "id", "school", "records", "reason", "requested_by", "requested_role", "requested_at_ms", "requested_account",
        "approved_by", "approved_role", "approved_at_ms", "state", "withdrawn_by", "withdrawn_at_ms",
    ].joined(separator: ", ")

    public func shredRequests(schools: [String], limit: Int) throws -> [ShredRequest] {
        guard !schools.isEmpty, limit > 0 else { return [] }
        let arguments: SQLArguments = schools.map { $0 } + [limit]
        return try guarded {
            try read { db in
                try db.fetchAll(ShredRequest.self, """
                    SELECT \(Self.shredRequestListColumns) FROM shred_requests WHERE school IN (\(placeholders(schools.count)))
                    ORDER BY requested_at_ms DESC, id LIMIT ?
                    """, arguments)
            }
        }
    }

    public func withdrawShredRequest(id: String, by actor: String, atMillis: Int64, event: AuditEntry, signer: AuditSigner?) throws {
        try auditedWrite { db in
            // Only while pending: once approved the records are gone, and a void request is dead already.
            let changed = try db.execute(
                "UPDATE shred_requests SET state = ?, withdrawn_by = ?, withdrawn_at_ms = ? WHERE id = ? AND state = ?",
                [ShredRequest.State.withdrawn.rawValue, actor, atMillis, id, ShredRequest.State.pending.rawValue])
            guard changed == 1 else {
                let state = try db.value(String.self, "SELECT state FROM shred_requests WHERE id = ?", [id])
                guard let state else { throw StorageError.lifecycleNotFound(what: "shred request", id: id) }
                throw StorageError.lifecycleConflict("shred request \(id) is \(state), not waiting for approval, so it cannot be withdrawn")
            }
            _ = try self.appendLocked(db, [event], signer: signer)
        }
    }
}
