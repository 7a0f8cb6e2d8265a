import Foundation
import Redaction
import Storage

/// A child's chronology on paper, for a strategy meeting or a case conference: what was added
/// when and by whom, what was shared, what is held and when each record is reviewed, with the
/// child's label and the concerns' titles, but nothing of the evidence itself. Every page says
/// which school, who printed it and when. Each printout is an audit event (`print`).
extension Vault {
    /// At most this many records are printed at once.
    public static let maxPrintedRecords = 2000

    func printChronology(child: String, school: String, by caller: Caller) throws -> [UInt8] {
        try vaulting {
            try OpaqueID.validate(child, field: "child id")
            try OpaqueID.validate(school, field: "school id")
        }
        let grant = try requireCaller(.list, caller, school: school) ?? .schools
        if let principal = caller.principal, grant != .schools {
            try deny(principal, .list, school: school, reason: "a printout is for those who see the school's records")
            throw VaultError.forbidden("the \(principal.role.rawValue) role may not print a chronology")
        }
        let filter = RecordFilter(school: school, child: child, limit: Self.maxPrintedRecords + 1, offset: 0)
        let records = try withoutShredded(try vaulting { try catalog.records(matching: filter) }, id: \.id)
        guard records.count <= Self.maxPrintedRecords else {
            throw VaultError.invalidArgument("a printout holds at most \(Self.maxPrintedRecords) records; this child has more")
        }
        let shares = try shares(child: child, school: school)
        let holds = try activeHolds(school: school)
        let childLabel = try labelText(.child, child, school)
        var titles: [String: String] = [:]
        for concern in Set(records.map(\.concern)) { titles[concern] = try labelText(.concern, concern, school) }

        var rows: [[String]] = records.map { r in
            let held = holds.contains { $0.covers(school: r.school, id: r.id, child: r.child, concern: r.concern) }
            return [Self.day(r.createdAtMillis), r.kind, titles[r.concern].map { "\($0) (\(r.concern))" } ?? r.concern,
                    Self.personName(r.createdBy), r.reviewOn, held ? "held" : ""]
        }
        if rows.isEmpty { rows = [["", "no records", "", "", "", ""]] }
        let shareRows: [[String]] = shares.map { s in
            [Self.day(s.bundle.releasedAtMillis ?? s.bundle.createdAtMillis), s.bundle.recipient,
             "\(s.items.count) item\(s.items.count == 1 ? "" : "s")", Self.personName(s.bundle.createdBy),
             s.bundle.approvedBy.map(Self.personName) ?? "", s.bundle.reason]
        }
        let printedAt = ISO8601DateFormatter.string(from: clock(), timeZone: TimeZone(identifier: "Europe/London")!,
                                                    formatOptions: [.withFullDate, .withTime, .withColonSeparatorInTime, .withDashSeparatorInDate, .withSpaceBetweenDateAndTime])
        let layout = PrintLayout(
            title: "Chronology: " + (childLabel.map { "\($0) (\(child))" } ?? "child \(child)"),
            footer: "School \(school) · printed by \(Self.personName(caller.actor.description)) on \(printedAt) (UK time) · OFFICIAL-SENSITIVE")
        let pdf = try layout.pdf(sections: [
            ("Records", ["Added", "Kind", "Concern", "Added by", "Review", "Hold"], rows),
            ("Shared with agencies", ["Released", "Recipient", "Items", "Drafted by", "Approved by", "Reason"],
             shareRows.isEmpty ? [["", "nothing shared", "", "", "", ""]] : shareRows),
        ])
        try audit(AuditEntry(actor: caller.actor, action: .print, outcome: .ok, school: school, child: child,
                             reason: "chronology printed: \(records.count) records, \(shares.count) shares"))
        return pdf
    }

    private func labelText(_ kind: SubjectLabel.Kind, _ subject: String, _ school: String) throws -> String? {
        guard let row = try vaulting({ try catalog.label(school: school, kind: kind, subject: subject) }) else { return nil }
        return try open(row)
    }

    /// A person as a printout names them: `user:NAME#ID8` becomes NAME; an operator's name stays.
    static func personName(_ actor: String) -> String {
        guard actor.hasPrefix("user:") else { return actor }
        let name = actor.dropFirst(5)
        return String(name[..<(name.lastIndex(of: "#") ?? name.endIndex)])
    }

    static func day(_ millis: Int64) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_GB")
        formatter.timeZone = TimeZone(identifier: "Europe/London")
        formatter.dateFormat = "d MMM yyyy HH:mm"
        return formatter.string(from: Date(timeIntervalSince1970: Double(millis) / 1000))
    }
}

/// Pages of tables on A4, drawn as images (`Drawing.a4PDF`): a title, then each section's
/// heading and rows, cells cut to fit their column, a footer on every page.
struct PrintLayout {
    var title: String
    var footer: String

    static let margin = 80
    static let rowHeight = 34
    static let textHeight = 24
    /// Column widths in pixels (of 1240 − 2 × margin), and the characters each holds.
    static let columns = [(x: 0, chars: 17), (x: 215, chars: 12), (x: 365, chars: 26), (x: 690, chars: 18), (x: 915, chars: 11), (x: 1040, chars: 5)]
    static let black = Drawing.Colour(0, 0, 0)
    static let grey = Drawing.Colour(90, 90, 90)

    func pdf(sections: [(heading: String, header: [String], rows: [[String]])]) throws -> [UInt8] {
        var pages: [(shapes: [Drawing.Shape], labels: [Drawing.Label])] = []
        var labels: [Drawing.Label] = []
        var shapes: [Drawing.Shape] = []
        var y = 0
        let bottom = Drawing.a4Height - Self.margin - 60
        func newPage() {
            if !labels.isEmpty { pages.append((shapes, labels)) }
            labels = [Drawing.Label(Self.cut(title, 70), x: Self.margin, y: Self.margin, height: 40, colour: Self.black)]
            shapes = []
            y = Self.margin + 70
        }
        func row(_ cells: [String], bold: Bool) {
            if y + Self.rowHeight > bottom { newPage() }
            for (i, cell) in cells.prefix(Self.columns.count).enumerated() {
                let column = Self.columns[i]
                labels.append(Drawing.Label(Self.cut(cell, column.chars), x: Self.margin + column.x, y: y, height: Self.textHeight,
                                            colour: Self.black, font: bold ? "sans bold" : "sans"))
            }
            y += Self.rowHeight
            shapes.append(Drawing.Shape(points: [Drawing.Point(Double(Self.margin), Double(y - 6)),
                                                 Drawing.Point(Double(Drawing.a4Width - Self.margin), Double(y - 6))],
                                        width: 1, colour: Drawing.Colour(200, 200, 200)))
        }
        newPage()
        for section in sections {
            if y + 3 * Self.rowHeight > bottom { newPage() }
            y += 20
            labels.append(Drawing.Label(section.heading, x: Self.margin, y: y, height: 32, colour: Self.black))
            y += 50
            row(section.header, bold: true)
            for cells in section.rows { row(cells, bold: false) }
        }
        pages.append((shapes, labels))
        let count = pages.count
        return try Drawing.a4PDF(pages.enumerated().map { index, page in
            var labels = page.labels
            labels.append(Drawing.Label(Self.cut(footer, 95), x: Self.margin, y: Drawing.a4Height - Self.margin - 20, height: 20,
                                        colour: Self.grey, font: "sans"))
            labels.append(Drawing.Label("Page \(index + 1) of \(count)", x: Drawing.a4Width - Self.margin - 150,
                                        y: Drawing.a4Height - Self.margin + 10, height: 20, colour: Self.grey, font: "sans"))
            return (page.shapes, labels)
        })
    }

    /// `text` cut to `characters`, with an ellipsis where it was cut; no line breaks.
    static func cut(_ text: String, _ characters: Int) -> String {
        let flat = text.replacingOccurrences(of: "\n", with: " ")
        return flat.count <= characters ? flat : String(flat.prefix(characters - 1)) + "…"
    }
}
