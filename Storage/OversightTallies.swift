import Foundation
import GRDB

/// One count of the oversight page: how many times `measure` happened in `school` in `month`
/// (`YYYY-MM`, UTC). The exact number, for the vault to round before anyone sees it.
public struct OversightTally: Sendable, Equatable {
    public var school: String
    public var month: String
    public var measure: String
    public var count: Int

    public init(school: String, month: String, measure: String, count: Int) {
        self.school = school
        self.month = month
        self.measure = measure
        self.count = count
    }
}

/// The window the tallies cover: events and uploads from `fromMillis` up to (not including)
/// `toMillis`; review dates from `fromDay` up to (not including) `toDay`; a review date before
/// `today` is overdue.
public struct OversightWindow: Sendable, Equatable {
    public var fromMillis: Int64
    public var toMillis: Int64
    public var fromDay: String
    public var toDay: String
    public var today: String

    public init(fromMillis: Int64, toMillis: Int64, fromDay: String, toDay: String, today: String) {
        self.fromMillis = fromMillis
        self.toMillis = toMillis
        self.fromDay = fromDay
        self.toDay = toDay
        self.today = today
    }
}

extension SQLiteCatalog {
    /// What the tallies count, by measure name: audit actions that succeeded.
    public static let oversightActions = ["view", "get", "bundle-release", "hold-place", "hold-release", "shred"]

    /// Counts by school and month: evidence added by kind (`added:KIND`, from live records and
    /// the tombstones of shredded ones, redacted copies left out), the audit actions of
    /// `oversightActions` that succeeded (measure: the action), and live records whose review date
    /// falls in the window (`review-due`), of which those past `today` (`review-overdue`), and
    /// transfers of a child's file sent (`transfer-sent`) and received (`transfer-received`). Only
    /// numbers leave this function: no id, name or reason.
    public func oversightTallies(schools: [String], window: OversightWindow) throws -> [OversightTally] {
        guard !schools.isEmpty else { return [] }
        let marks = Array(repeating: "?", count: schools.count).joined(separator: ",")
        let actionMarks = Array(repeating: "?", count: Self.oversightActions.count).joined(separator: ",")
        return try guarded {
            try pool.read { db in
                var out: [OversightTally] = []
                let added = try Row.fetchAll(db, sql: """
                    SELECT school, strftime('%Y-%m', created_at_ms / 1000, 'unixepoch') AS month, kind, COUNT(*) FROM (
                        SELECT school, created_at_ms, kind FROM records WHERE derived_from IS NULL
                        UNION ALL SELECT school, created_at_ms, kind FROM tombstones)
                    WHERE school IN (\(marks)) AND created_at_ms >= ? AND created_at_ms < ?
                    GROUP BY 1, 2, 3
                    """, arguments: StatementArguments(schools) + [window.fromMillis, window.toMillis])
                out += added.map { OversightTally(school: $0[0], month: $0[1], measure: "added:" + ($0[2] as String), count: $0[3]) }
                let acts = try Row.fetchAll(db, sql: """
                    SELECT school, strftime('%Y-%m', time_ms / 1000, 'unixepoch') AS month, action, COUNT(*) FROM audit_events
                    WHERE outcome = 'ok' AND school IN (\(marks)) AND action IN (\(actionMarks)) AND time_ms >= ? AND time_ms < ?
                    GROUP BY 1, 2, 3
                    """, arguments: StatementArguments(schools) + StatementArguments(Self.oversightActions) + [window.fromMillis, window.toMillis])
                out += acts.map { OversightTally(school: $0[0], month: $0[1], measure: $0[2], count: $0[3]) }
                let reviews = try Row.fetchAll(db, sql: """
                    SELECT school, substr(review_on, 1, 7) AS month, COUNT(*), SUM(review_on < ?) FROM records
                    WHERE school IN (\(marks)) AND review_on >= ? AND review_on < ?
                    GROUP BY 1, 2
                    """, arguments: [window.today] + StatementArguments(schools) + [window.fromDay, window.toDay])
                for row in reviews {
                    out.append(OversightTally(school: row[0], month: row[1], measure: "review-due", count: row[2]))
                    out.append(OversightTally(school: row[0], month: row[1], measure: "review-overdue", count: row[3]))
                }
                // Children's files sent to another school (by the month they were sent) and received from one.
                for (measure, table, column, condition) in [("transfer-sent", "transfers", "sent_at_ms", "sent_at_ms IS NOT NULL AND "),
                                                            ("transfer-received", "incoming_transfers", "received_at_ms", "")] {
                    let rows = try Row.fetchAll(db, sql: """
                        SELECT school, strftime('%Y-%m', \(column) / 1000, 'unixepoch') AS month, COUNT(*) FROM \(table)
                        WHERE \(condition)school IN (\(marks)) AND \(column) >= ? AND \(column) < ?
                        GROUP BY 1, 2
                        """, arguments: StatementArguments(schools) + [window.fromMillis, window.toMillis])
                    out += rows.map { OversightTally(school: $0[0], month: $0[1], measure: measure, count: $0[2]) }
                }
                return out
            }
        }
    }
}
