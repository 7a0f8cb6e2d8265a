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

extension RelationalCatalog {
    /// What the tallies count, by measure name: audit actions that succeeded.
    public static let oversightActions = ["view", "get", "bundle-release", "hold-place", "hold-release", "shred"]

    /// The longest window `oversightTallies` counts by month (the vault asks for at most 36).
    static let oversightMaxMonths = 1200

    /// Counts by school and month: evidence added by kind (`added:KIND`, from live records and
    /// the tombstones of shredded ones, redacted copies left out), the audit actions of
    /// `oversightActions` that succeeded (measure: the action), and live records whose review date
    /// falls in the window (`review-due`), of which those past `today` (`review-overdue`), and
    /// transfers of a child's file sent (`transfer-sent`) and received (`transfer-received`). Only
    /// numbers leave this function: no id, name or reason.
    public func oversightTallies(schools: [String], window: OversightWindow) throws -> [OversightTally] {
        guard !schools.isEmpty else { return [] }
        let marks = placeholders(schools.count)
        let actionMarks = placeholders(Self.oversightActions.count)
        let inSchools: SQLArguments = schools.map { $0 }
        let during: SQLArguments = [window.fromMillis, window.toMillis]
        let months = try Self.oversightMonths(window)
        return try guarded {
            try read { db in
                var out: [OversightTally] = []
                // An empty window holds no instant: only the review dates, which it bounds by day, are counted.
                if let months {
                    let added = try db.rows("""
                        SELECT school, \(months.sql("created_at_ms")) AS month, kind, COUNT(*) AS n FROM (
                            SELECT school, created_at_ms, kind FROM records WHERE derived_from IS NULL
                            UNION ALL SELECT school, created_at_ms, kind FROM tombstones) AS added
                        WHERE school IN (\(marks)) AND created_at_ms >= ? AND created_at_ms < ?
                        GROUP BY 1, 2, 3
                        """, months.arguments + inSchools + during)
                    out += added.map { OversightTally(school: $0["school"], month: $0["month"], measure: "added:" + ($0["kind"] as String), count: $0["n"]) }
                    let acts = try db.rows("""
                        SELECT school, \(months.sql("time_ms")) AS month, action, COUNT(*) AS n FROM audit_events
                        WHERE outcome = 'ok' AND school IN (\(marks)) AND action IN (\(actionMarks)) AND time_ms >= ? AND time_ms < ?
                        GROUP BY 1, 2, 3
                        """, months.arguments + inSchools + Self.oversightActions.map { $0 } + during)
                    out += acts.map { OversightTally(school: $0["school"], month: $0["month"], measure: $0["action"], count: $0["n"]) }
                }
                let reviews = try db.rows("""
                    SELECT school, substr(review_on, 1, 7) AS month, COUNT(*) AS n, SUM(CASE WHEN review_on < ? THEN 1 ELSE 0 END) AS overdue
                    FROM records
                    WHERE school IN (\(marks)) AND review_on >= ? AND review_on < ?
                    GROUP BY 1, 2
                    """, [window.today] + inSchools + [window.fromDay, window.toDay])
                for row in reviews {
                    out.append(OversightTally(school: row["school"], month: row["month"], measure: "review-due", count: row["n"]))
                    out.append(OversightTally(school: row["school"], month: row["month"], measure: "review-overdue", count: row["overdue"]))
                }
                guard let months else { return out }
                // Children's files sent to another school (by the month they were sent) and received from one.
                for (measure, table, column, condition) in [("transfer-sent", "transfers", "sent_at_ms", "sent_at_ms IS NOT NULL AND "),
                                                            ("transfer-received", "incoming_transfers", "received_at_ms", "")] {
                    let rows = try db.rows("""
                        SELECT school, \(months.sql(column)) AS month, COUNT(*) AS n FROM \(table)
                        WHERE \(condition)school IN (\(marks)) AND \(column) >= ? AND \(column) < ?
                        GROUP BY 1, 2
                        """, months.arguments + inSchools + during)
                    out += rows.map { OversightTally(school: $0["school"], month: $0["month"], measure: measure, count: $0["n"]) }
                }
                return out
            }
        }
    }

    /// How SQL names the month (`YYYY-MM`, UTC) of an instant in the window: a `CASE` over the
    /// window's months, each ending where the next begins, which both engines read alike (they
    /// share no date function). nil for an empty window.
    static func oversightMonths(_ window: OversightWindow) throws -> (sql: (String) -> String, arguments: SQLArguments)? {
        guard window.fromMillis < window.toMillis else { return nil }
        let first = UTCMonth(millis: window.fromMillis)
        let count = UTCMonth(millis: window.toMillis - 1).index - first.index + 1
        guard count <= oversightMaxMonths else {
            throw StorageError.database("oversight counts cover at most \(oversightMaxMonths) months at a time")
        }
        var arguments: SQLArguments = []
        var month = first
        for _ in 0..<count {
            let next = month.next
            arguments += [next.startMillis, month.text]
            month = next
        }
        return ({ column in "CASE " + Array(repeating: "WHEN \(column) < ? THEN ?", count: Int(count)).joined(separator: " ") + " END" }, arguments)
    }
}

/// A calendar month in UTC (proleptic Gregorian, as SQLite's date functions count).
struct UTCMonth: Equatable {
    var year: Int64
    /// 1 to 12.
    var month: Int64

    init(year: Int64, month: Int64) {
        self.year = year
        self.month = month
    }

    /// The month an instant (milliseconds since 1970, UTC) falls in.
    init(millis: Int64) {
        // Days to a civil date (H. Hinnant's days_from_civil inverted), with floor division so
        // instants before 1970 land in the right month too.
        let days = millis >= 0 ? millis / 86_400_000 : -((-millis - 1) / 86_400_000) - 1
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shifted = (5 * dayOfYear + 2) / 153
        month = shifted < 10 ? shifted + 3 : shifted - 9
        year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
    }

    /// Months since year 0: consecutive months differ by one.
    var index: Int64 { year * 12 + month - 1 }

    var next: UTCMonth { month == 12 ? UTCMonth(year: year + 1, month: 1) : UTCMonth(year: year, month: month + 1) }

    /// Its first instant, in milliseconds since 1970.
    var startMillis: Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return (era * 146_097 + dayOfEra - 719_468) * 86_400_000
    }

    /// `YYYY-MM`.
    var text: String {
        let y = String(year)
        let m = String(month)
        return String(repeating: "0", count: max(0, 4 - y.count)) + y + "-" + (m.count == 1 ? "0" : "") + m
    }
}
