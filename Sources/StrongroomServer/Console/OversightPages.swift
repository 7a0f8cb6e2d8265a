import Foundation
import Hummingbird
import Vault

/// `/oversight[?from=YYYY-MM&to=YYYY-MM&school=S]`: counts by school and month for DSLs, deputies
/// and DPOs, of their own schools (docs/oversight.md). The vault has already written every count
/// from 1 to 4 as "fewer than 5"; the page only lays the numbers out.
struct OversightPages {
    static let paths: Set<String> = ["GET /oversight"]

    let console: ConsoleRoutes

    func register(on group: RouterGroup<StrongroomContext>) {
        group.get("oversight", use: oversight)
    }

    @Sendable func oversight(_ request: Request, context: StrongroomContext) async throws -> Response {
        guard let (caller, principal, _) = try await console.person(request) else { return console.signInFirst(request) }
        guard ConsoleNavigation.seesOversight(principal.role) else {
            throw Problem(status: .forbidden, slug: "forbidden", title: "You cannot see this page",
                          detail: "oversight counts are for designated safeguarding leads, their deputies and data protection officers")
        }
        let query = request.uri.queryParameters
        func value(_ name: String) -> String? {
            query.get(name).map { String($0) }.flatMap { $0.isEmpty ? nil : $0 }
        }
        let from = value("from"), to = value("to"), school = value("school")
        let vault = console.vault
        do {
            let report = try await console.pool.run { try vault.oversight.counts(from: from, to: to, school: school, by: caller) }
            return try console.pages.render("oversight", OversightPage(principal, report: report, school: school, error: nil))
        } catch VaultError.invalidArgument(let why) {
            let error = FieldError(text: "Enter the months as year and month, the first no later than the last (" + why + ")", field: "from")
            return try console.pages.render("oversight", OversightPage(principal, report: nil, school: school, error: error), status: .badRequest)
        }
    }
}

struct OversightPage {
    struct Cell {
        let text: String
        /// What the count is, shown beside it when a phone stacks the table's cells.
        let label: String
    }

    struct Row {
        let heading: String
        let cells: [Cell]
    }

    /// One table of a school: a group of counts (columns) by month (rows, newest first).
    struct Group {
        let heading: String
        let tableID: String
        let columns: [String]
        let rows: [Row]
    }

    struct SchoolTable {
        let school: String
        let groups: [Group]
    }

    let title = "Oversight"
    let script = "header.js"
    let signedInName: String?
    let navigation: ConsoleNavigation
    let from: String
    let to: String
    let rangeText: String
    let schools: [SchoolChoice]
    let allSchools: Bool
    let tables: [SchoolTable]
    let hasTables: Bool
    let compare: Bool
    let compareMonth: String
    let compareSchools: [String]
    let compareRows: [Row]
    let errors: [FieldError]
    let hasErrors: Bool
    let fromError: String?

    init(_ principal: Principal, report: OversightReport?, school: String?, error: FieldError?) {
        signedInName = principal.name
        navigation = ConsoleNavigation(principal, current: .oversight)
        schools = SchoolChoice.list(principal, selected: school ?? "")
        allSchools = school == nil
        from = report?.from ?? ""
        to = report?.to ?? ""
        rangeText = report.map { "\(Self.monthName($0.from)) to \(Self.monthName($0.to))" } ?? ""
        let kinds = report?.kinds ?? []
        // Four narrow tables rather than one of eighteen columns: each fits a laptop's width.
        let groups: [(String, [String], (OversightMonth) -> [OversightCount])] = [
            ("Evidence added", kinds.map(ReadingText.kind), { m in kinds.map { m.added[$0] ?? .exact(0) } }),
            ("Evidence used and shared", ["Previews", "Downloads", "Bundles released"], { [$0.previews, $0.downloads, $0.bundlesReleased] }),
            ("Legal holds, shredding and retention reviews", ["Holds placed", "Holds released", "Records shredded", "Reviews due", "Reviews overdue"],
             { [$0.holdsPlaced, $0.holdsReleased, $0.recordsShredded, $0.reviewsDue, $0.reviewsOverdue] }),
            ("Children's files moving school", ["Files sent to another school", "Files received from another school"],
             { [$0.transfersSent, $0.transfersReceived] }),
        ]
        let measures = groups.flatMap { group in group.1.map { group.0 == "Evidence added" ? "\($0) added" : $0 } }
        func cells(_ m: OversightMonth) -> [Cell] { zip(measures, groups.flatMap { $0.2(m) }).map { Cell(text: Self.text($1), label: $0) } }
        tables = (report?.schools ?? []).enumerated().map { index, s in
            SchoolTable(school: s.school, groups: groups.enumerated().map { g, group in
                Group(heading: group.0, tableID: "counts-\(index + 1)-\(g + 1)", columns: group.1,
                      rows: s.months.reversed().map { m in
                          Row(heading: Self.monthName(m.month), cells: zip(group.1, group.2(m)).map { Cell(text: Self.text($1), label: $0) })
                      })
            })
        }
        hasTables = !tables.isEmpty
        let schoolsInReport = report?.schools ?? []
        compare = schoolsInReport.count > 1
        compareMonth = report.map { Self.monthName($0.to) } ?? ""
        let schoolIDs = schoolsInReport.map(\.school)
        compareSchools = schoolIDs
        let lastMonths = schoolsInReport.compactMap { $0.months.last.map(cells) }
        compareRows = compare ? measures.enumerated().map { i, measure in
            Row(heading: measure, cells: zip(schoolIDs, lastMonths).map { school, cells in Cell(text: cells[i].text, label: school) })
        } : []
        errors = error.map { [$0] } ?? []
        hasErrors = error != nil
        fromError = error?.text
    }

    static func text(_ count: OversightCount) -> String {
        switch count {
        case .exact(let n): "\(n)"
        case .fewerThanFive: "fewer than 5"
        }
    }

    /// "2026-01" as "January 2026".
    static func monthName(_ month: String) -> String {
        let day = ReadingText.day(month + "-01")
        return day.split(separator: " ", maxSplits: 1).dropFirst().first.map(String.init) ?? month
    }
}
