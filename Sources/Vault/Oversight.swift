import Foundation
import Storage

/// A count as the oversight page may show it. Counts from 1 to 4 are never given out (not in a
/// page, not in the JSON): in a small school a handful of events can point to one child or one
/// member of staff, so they read "fewer than 5". Zero is shown as 0: it points to no one.
public enum OversightCount: Sendable, Equatable {
    case exact(Int)
    case fewerThanFive

    /// The smallest count shown as itself, other than 0.
    public static let threshold = 5

    public init(_ n: Int) {
        self = (1..<Self.threshold).contains(n) ? .fewerThanFive : .exact(max(0, n))
    }
}

/// One school's counts for one month (`YYYY-MM`, UTC).
public struct OversightMonth: Sendable, Equatable {
    public var month: String
    /// Evidence added, by kind (every kind of `kinds` in the report, 0 when none).
    public var added: [String: OversightCount]
    public var previews: OversightCount
    public var downloads: OversightCount
    public var bundlesReleased: OversightCount
    public var holdsPlaced: OversightCount
    public var holdsReleased: OversightCount
    public var recordsShredded: OversightCount
    /// Live records whose retention review falls in this month, and of those, the ones whose
    /// review date has passed (still not reviewed: kept, or not yet shredded).
    public var reviewsDue: OversightCount
    public var reviewsOverdue: OversightCount
    /// Children's files sent to another school, and received from one (docs/transfers.md).
    public var transfersSent: OversightCount
    public var transfersReceived: OversightCount
}

public struct OversightSchool: Sendable, Equatable {
    public var school: String
    /// From the first month of the range to the last.
    public var months: [OversightMonth]
}

/// Counts by school and month, with no child, label, file name or person in them.
public struct OversightReport: Sendable, Equatable {
    public var from: String
    public var to: String
    /// The kinds of evidence counted, in order.
    public var kinds: [String]
    public var schools: [OversightSchool]
}

/// Who sees oversight counts, and the range they may ask for.
public enum OversightPolicy {
    /// Those who answer for a school's safeguarding.
    public static let roles: Set<Role> = [.dsl, .deputy, .dpo]
    /// The default range, in months, ending with the current one.
    public static let defaultMonths = 12
    /// The longest range one request may ask for, in months.
    public static let maxMonths = 36
}

extension Vault {
    /// Counts by school and month for the caller's schools (or `school`), from month `from` to
    /// month `to` (`YYYY-MM`, both included; default the last 12 months to this one). Viewing
    /// them is audited as `oversight-view`.
    func oversight(from: String?, to: String?, school: String?, by caller: Caller) throws -> OversightReport {
        guard let principal = caller.principal, OversightPolicy.roles.contains(principal.role) else {
            try audit(AuditEntry(actor: caller.actor, action: .oversightView, outcome: .denied, school: school.flatMap { OpaqueID.isValid($0) ? $0 : nil },
                                 reason: "oversight counts are for DSLs, deputies and DPOs"))
            throw VaultError.forbidden("oversight counts are for DSLs, deputies and DPOs")
        }
        if let school, !(OpaqueID.isValid(school) && principal.schools.contains(school)) {
            try audit(AuditEntry(actor: principal.actor, action: .oversightView, outcome: .denied, school: OpaqueID.isValid(school) ? school : nil,
                                 reason: "not one of the user's schools"))
            throw VaultError.forbidden("you can see the counts of your own schools only")
        }
        let now = CivilDate(clock())
        let last = try to.map { try Self.month($0, "to") } ?? (now.year, now.month)
        let first = try from.map { try Self.month($0, "from") } ?? Self.addingMonths(-(OversightPolicy.defaultMonths - 1), to: last)
        guard first <= last else { throw VaultError.invalidArgument("the first month comes after the last") }
        let months = Self.months(from: first, to: last)
        guard months.count <= OversightPolicy.maxMonths else {
            throw VaultError.invalidArgument("ask for at most \(OversightPolicy.maxMonths) months at a time")
        }
        let after = Self.addingMonths(1, to: last)
        let schools = school.map { [$0] } ?? principal.schools.sorted()
        let window = OversightWindow(
            fromMillis: Self.startMillis(first), toMillis: Self.startMillis(after),
            fromDay: Self.monthText(first) + "-01", toDay: Self.monthText(after) + "-01", today: now.text)
        let tallies = try vaulting { try catalog.oversightTallies(schools: schools, window: window) }
        var exact: [String: [String: [String: Int]]] = [:]
        for t in tallies { exact[t.school, default: [:]][t.month, default: [:]][t.measure, default: 0] += t.count }
        let seenKinds = Set(tallies.compactMap { $0.measure.hasPrefix("added:") ? String($0.measure.dropFirst(6)) : nil })
        let kinds = TypePolicy.kinds + seenKinds.subtracting(TypePolicy.kinds).sorted()
        let report = OversightReport(
            from: Self.monthText(first), to: Self.monthText(last), kinds: kinds,
            schools: schools.map { s in
                OversightSchool(school: s, months: months.map { m in
                    let n = exact[s]?[m] ?? [:]
                    func count(_ measure: String) -> OversightCount { OversightCount(n[measure] ?? 0) }
                    return OversightMonth(
                        month: m, added: Dictionary(uniqueKeysWithValues: kinds.map { ($0, count("added:" + $0)) }),
                        previews: count("view"), downloads: count("get"), bundlesReleased: count("bundle-release"),
                        holdsPlaced: count("hold-place"), holdsReleased: count("hold-release"), recordsShredded: count("shred"),
                        reviewsDue: count("review-due"), reviewsOverdue: count("review-overdue"),
                        transfersSent: count("transfer-sent"), transfersReceived: count("transfer-received"))
                })
            })
        try audit(AuditEntry(actor: principal.actor, action: .oversightView, outcome: .ok, school: school,
                             reason: "\(report.from) to \(report.to), \(schools.count) school\(schools.count == 1 ? "" : "s")"))
        return report
    }

    /// `YYYY-MM` as (year, month), years 1900 to 2999.
    static func month(_ text: String, _ field: String) throws -> (Int, Int) {
        guard let day = CivilDate(text + "-01"), text.utf8.count == 7 else {
            throw VaultError.invalidArgument("\(field) must be a month written YYYY-MM")
        }
        return (day.year, day.month)
    }

    static func addingMonths(_ n: Int, to m: (Int, Int)) -> (Int, Int) {
        let index = m.0 * 12 + (m.1 - 1) + n
        return (index / 12, index % 12 + 1)
    }

    static func months(from first: (Int, Int), to last: (Int, Int)) -> [String] {
        var out: [String] = []
        var m = first
        while m <= last && out.count <= OversightPolicy.maxMonths {
            out.append(monthText(m))
            m = addingMonths(1, to: m)
        }
        return out
    }

    static func monthText(_ m: (Int, Int)) -> String { String(format: "%04d-%02d", m.0, m.1) }

    static func startMillis(_ m: (Int, Int)) -> Int64 {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let date = calendar.date(from: DateComponents(year: m.0, month: m.1, day: 1))!
        return Int64(date.timeIntervalSince1970 * 1000)
    }
}
