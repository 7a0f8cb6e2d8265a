import Foundation
import GRDB

/// How many things wait in some schools, counted without reading any of them: what the
/// "Waiting for you" alerts are made of. Counts only: no id, name, label or reason leaves here.
public protocol WaitingCatalog: Sendable {
    /// Bundle drafts of `schools` that `actor` (an audit actor) did not create.
    func draftBundleCount(schools: [String], notCreatedBy actor: String) throws -> Int
    /// Pending shred requests of `schools` asked for by one of `roles`, made after
    /// `requestedAfterMillis`, and not by `account`.
    func pendingShredCount(schools: [String], requestedRoles: [String], requestedAfterMillis: Int64, notBy account: String) throws -> Int
}

extension SQLiteCatalog: WaitingCatalog {
    public func draftBundleCount(schools: [String], notCreatedBy actor: String) throws -> Int {
        guard !schools.isEmpty else { return 0 }
        return try guarded {
            try pool.read { db in
                try Int.fetchOne(db, sql: """
                    SELECT COUNT(*) FROM bundles WHERE state = 'draft' AND created_by != ?
                      AND school IN (\(databaseQuestionMarks(count: schools.count)))
                    """, arguments: StatementArguments([actor] + schools)) ?? 0
            }
        }
    }

    public func pendingShredCount(schools: [String], requestedRoles: [String], requestedAfterMillis: Int64, notBy account: String) throws -> Int {
        guard !schools.isEmpty, !requestedRoles.isEmpty else { return 0 }
        return try guarded {
            try pool.read { db in
                try Int.fetchOne(db, sql: """
                    SELECT COUNT(*) FROM shred_requests WHERE state = 'pending' AND requested_at_ms > ?
                      AND requested_account != ?
                      AND school IN (\(databaseQuestionMarks(count: schools.count)))
                      AND requested_role IN (\(databaseQuestionMarks(count: requestedRoles.count)))
                    """, arguments: StatementArguments([requestedAfterMillis, account] as [any DatabaseValueConvertible] + schools + requestedRoles)) ?? 0
            }
        }
    }
}
