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

extension RelationalCatalog {
    public func draftBundleCount(schools: [String], notCreatedBy actor: String) throws -> Int {
        guard !schools.isEmpty else { return 0 }
        let arguments: SQLArguments = [actor] + schools.map { $0 }
        return try guarded {
            try read { db in
                try db.value(Int.self, """
                    SELECT COUNT(*) AS n FROM bundles WHERE state = 'draft' AND created_by != ?
                      AND school IN (\(placeholders(schools.count)))
                    """, arguments) ?? 0
            }
        }
    }

    public func pendingShredCount(schools: [String], requestedRoles: [String], requestedAfterMillis: Int64, notBy account: String) throws -> Int {
        guard !schools.isEmpty, !requestedRoles.isEmpty else { return 0 }
        let arguments: SQLArguments = [requestedAfterMillis, account] + schools.map { $0 } + requestedRoles.map { $0 }
        return try guarded {
            try read { db in
                try db.value(Int.self, """
                    SELECT COUNT(*) AS n FROM shred_requests WHERE state = 'pending' AND requested_at_ms > ?
                      AND requested_account != ?
                      AND school IN (\(placeholders(schools.count)))
                      AND requested_role IN (\(placeholders(requestedRoles.count)))
                    """, arguments) ?? 0
            }
        }
    }
}
