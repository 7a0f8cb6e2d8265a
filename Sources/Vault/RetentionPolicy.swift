import Foundation

/// How long each kind and category of evidence is kept: the one table. Retention ends in a
/// review by the DPO and a DSL (`retention due`), never in an automatic deletion.
public struct RetentionRule: Sendable, Equatable {
    public enum Anchor: String, Sendable { case dateOfBirth = "date of birth", creation }

    /// A kind of evidence (`TypePolicy.kinds`), or `*` for every kind.
    public var kind: String
    public var category: String
    public var anchor: Anchor
    public var years: Int
    /// Years from creation when the anchor is a date of birth the vault does not have.
    public var fallbackYears: Int
    /// Where the rule comes from.
    public var source: String
}

public enum RetentionPolicy {
    public static let defaultCategory = "child-protection"

    /// The retention table. Defaults follow the IRMS Information Management Toolkit for Schools.
    public static let table: [RetentionRule] = [
        RetentionRule(
            kind: "*", category: "child-protection", anchor: .dateOfBirth, years: 25, fallbackYears: 25,
            source: "IRMS toolkit: child protection records, until the child's 25th birthday, then review"),
        RetentionRule(
            kind: "*", category: "allegation-against-staff", anchor: .creation, years: 10, fallbackYears: 10,
            source: "IRMS toolkit: allegations against staff, at least 10 years from the allegation (or to retirement age if longer: review then)"),
    ]

    public static var categories: [String] { Array(Set(table.map(\.category))).sorted() }

    /// The rule for a kind and category: an exact row first, then the category's `*` row.
    public static func rule(kind: String, category: String) -> RetentionRule? {
        table.first { $0.kind == kind && $0.category == category } ?? table.first { $0.kind == "*" && $0.category == category }
    }

    /// The day a record's retention ends, `YYYY-MM-DD` (UTC).
    public static func reviewDate(rule: RetentionRule, dateOfBirth: String?, createdAt: Date) -> String {
        if rule.anchor == .dateOfBirth, let dob = dateOfBirth, let day = CivilDate(dob) {
            return day.adding(years: rule.years).text
        }
        let years = rule.anchor == .dateOfBirth ? rule.fallbackYears : rule.years
        return CivilDate(createdAt).adding(years: years).text
    }

    /// The table as Markdown, for the README.
    public static var markdownTable: String {
        var out = "| kind | category | kept until | without a date of birth | source |\n| --- | --- | --- | --- | --- |\n"
        for rule in table {
            let until = rule.anchor == .dateOfBirth ? "date of birth + \(rule.years) years" : "creation + \(rule.years) years"
            let fallback = rule.anchor == .dateOfBirth ? "creation + \(rule.fallbackYears) years" : "(same)"
            out += "| \(rule.kind == "*" ? "any" : rule.kind) | \(rule.category) | \(until) | \(fallback) | \(rule.source) |\n"
        }
        return out
    }
}

/// A calendar day in UTC, `YYYY-MM-DD`. Adding years keeps the day, except 29 February, which
/// becomes 28 February in a year that has none.
public struct CivilDate: Sendable, Equatable, Comparable {
    public var year: Int
    public var month: Int
    public var day: Int

    /// Parses exactly `YYYY-MM-DD` with a real day in it (years 1900 to 2999).
    public init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard text.utf8.count == 10, parts.count == 3, parts[0].count == 4, parts[1].count == 2, parts[2].count == 2,
              parts.allSatisfy({ $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }),
              let y = Int(parts[0]), let m = Int(parts[1]), let d = Int(parts[2]),
              (1900...2999).contains(y), (1...12).contains(m), (1...Self.days(inMonth: m, year: y)).contains(d) else { return nil }
        (year, month, day) = (y, m, d)
    }

    public init(_ date: Date) {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day], from: date)
        (year, month, day) = (c.year!, c.month!, c.day!)
    }

    init(year: Int, month: Int, day: Int) { (self.year, self.month, self.day) = (year, month, day) }

    /// The same day `years` later. 29 February in a year without one is 1 March: retention must
    /// last at least the whole period, so the review never falls a day before the anniversary
    /// (in English law a person born on 29 February comes of an age on 1 March in such years).
    public func adding(years: Int) -> CivilDate {
        let y = year + years
        if month == 2, day == 29, Self.days(inMonth: 2, year: y) == 28 { return CivilDate(year: y, month: 3, day: 1) }
        return CivilDate(year: y, month: month, day: min(day, Self.days(inMonth: month, year: y)))
    }

    public var text: String {
        String(format: "%04d-%02d-%02d", year, month, day)
    }

    /// The retention period this day falls in: its month, `YYYY-MM`.
    public var period: String { String(text.prefix(7)) }

    static func days(inMonth m: Int, year y: Int) -> Int {
        switch m {
        case 2: return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    public static func < (a: CivilDate, b: CivilDate) -> Bool { (a.year, a.month, a.day) < (b.year, b.month, b.day) }
}
