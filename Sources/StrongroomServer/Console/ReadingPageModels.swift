import Foundation
import Storage
import Vault

// What the reading pages' templates read (find a child, a chronology, a record, my uploads).
// Every value is escaped where the template places it; labels and titles are children's and
// concerns' names, shown only to those the vault lets read them.

/// One error on a server-drawn form: its text, and the id of the field it belongs to.
struct FieldError {
    let text: String
    let field: String
}

/// Previous and next links of a paged list, 50 to a page.
struct Pagination {
    static let pageSize = 50

    let previous: String?
    let next: String?
    let summary: String
    /// Whether there is another page either way (read by the templates, which see stored values only).
    let any: Bool

    /// `base` ends with "?" or "&"; `count` is how many items this page shows; `more` whether another page follows.
    init(base: String, page: Int, count: Int, more: Bool) {
        previous = page > 1 ? base + "page=\(page - 1)" : nil
        next = more ? base + "page=\(page + 1)" : nil
        let first = (page - 1) * Self.pageSize + 1
        summary = count == 0 ? "" : "Showing \(first) to \(first + count - 1), oldest first."
        any = previous != nil || next != nil
    }
}

struct FindChildPage {
    struct Found {
        let label: String
        let child: String
        let school: String
        let href: String
    }

    struct SchoolOption {
        let id: String
        let selected: Bool
    }

    let title = "Find a child"
    let script = "header.js"
    let signedInName: String?
    let navigation: ConsoleNavigation
    let query: String
    let searched: Bool
    let found: [Found]
    let foundHeading: String
    let errors: [FieldError]
    let hasErrors: Bool
    let queryError: String?
    let childError: String?
    let schoolError: String?
    let hasFound: Bool
    let child: String
    let schools: [SchoolOption]
    let oneSchool: String?

    init(_ principal: Principal, query: String, searched: Bool, found: [(school: String, child: String, label: String)],
         errors: [FieldError], child: String, school: String?) {
        signedInName = principal.name
        navigation = ConsoleNavigation(principal, current: .children)
        self.query = query
        self.searched = searched
        self.found = found.map { Found(label: $0.label, child: $0.child, school: $0.school, href: ReadingPaths.chronology($0.child, $0.school)) }
        foundHeading = found.isEmpty ? "No children found" : found.count == 1 ? "1 child found" : "\(found.count) children found"
        self.errors = errors
        hasErrors = !errors.isEmpty
        queryError = errors.first { $0.field == "q" }?.text
        childError = errors.first { $0.field == "child" }?.text
        schoolError = errors.first { $0.field == "school" }?.text
        hasFound = !found.isEmpty
        self.child = child
        let sorted = principal.schools.sorted()
        schools = sorted.map { SchoolOption(id: $0, selected: $0 == school) }
        oneSchool = sorted.count == 1 ? sorted[0] : nil
    }
}

struct ChronologyPage {
    struct Item {
        let date: String
        let kind: String
        let concern: String
        let addedBy: String
        let review: String
        let held: Bool
        let href: String
        /// "Received from SCHOOL on DATE" for a record that arrived by transfer, else "".
        let origin: String
    }

    struct Concern {
        let id: String
        /// The title, or "" (never nil: a missing key would make the template show the page's
        /// own title in its place).
        let title: String
        let hasTitle: Bool
        let formID: String
    }

    struct Share {
        let released: String
        let recipient: String
        let reason: String
        let requestedBy: String
        let approvedBy: String
        let records: String
    }

    let title: String
    let script = "chronology.js"
    let signedInName: String?
    let navigation: ConsoleNavigation
    let heading: String
    let label: String?
    let child: String
    let school: String
    let canLabel: Bool
    let showHolds: Bool
    let items: [Item]
    let hasItems: Bool
    let pagination: Pagination
    let concerns: [Concern]
    let shares: [Share]
    let hasShares: Bool
    /// A DSL or deputy may start a bundle of this child's records.
    let canShare: Bool
    /// Where the child's file went, and where received records came from (DSL and deputy).
    let transfers: ChronologyTransfers

    init(_ principal: Principal, child: String, school: String, label: String?, records: [EvidenceRecord], more: Bool, page: Int,
         titles: [String: String], holds: [Hold]?, shares: [ShareEntry], transfers: ChronologyTransfers = .none) {
        self.transfers = transfers
        signedInName = principal.name
        navigation = ConsoleNavigation(principal, current: .children)
        canShare = AccessPolicy.grant(principal.role, .share) != .denied
        self.child = child
        self.school = school
        self.label = label
        heading = label ?? "Child \(child)"
        title = "Chronology"
        canLabel = AccessPolicy.grant(principal.role, .label) == .schools
        showHolds = holds != nil
        items = records.map { record in
            let concern = titles[record.concern].map { "\($0) (\(record.concern))" } ?? record.concern
            let date = ConsoleDate.text(record.createdAt)
            return Item(date: date, kind: ReadingText.kind(record.kind), concern: concern, addedBy: ReadingText.person(record.createdBy),
                        review: ReadingText.day(record.reviewOn), held: holds.map { HeldRecords.isHeld(record, by: $0) } ?? false,
                        href: ReadingPaths.record(record.id), origin: transfers.origins[record.id] ?? "")
        }
        hasItems = !items.isEmpty
        pagination = Pagination(base: ReadingPaths.chronology(child, school) + "&", page: page, count: records.count, more: more)
        var seen: Set<String> = []
        concerns = records.compactMap { record in
            guard seen.insert(record.concern).inserted else { return nil }
            let title = titles[record.concern]
            return Concern(id: record.concern, title: title ?? "", hasTitle: title != nil, formID: "concern-\(seen.count)")
        }
        self.shares = shares.map { share in
            Share(released: share.bundle.releasedAtMillis.map(ReadingText.time(millis:)) ?? "Not yet shared",
                  recipient: share.bundle.recipient, reason: share.bundle.reason, requestedBy: ReadingText.person(share.bundle.createdBy),
                  approvedBy: share.bundle.approvedBy.map(ReadingText.person) ?? "Not yet approved",
                  records: share.items.count == 1 ? "1 record" : "\(share.items.count) records")
        }
        hasShares = !self.shares.isEmpty
    }
}

struct RecordPage {
    struct Row {
        let key: String
        let value: String
        let href: String?
    }

    struct Event {
        let time: String
        let who: String
        let what: String
        let outcome: String
        let detail: String
    }

    let title = "Record"
    let script = "record.js"
    let signedInName: String?
    let navigation: ConsoleNavigation
    let id: String
    let heading: String
    let rows: [Row]
    let canPreview: Bool
    let canDownload: Bool
    let canAudit: Bool
    let events: [Event]
    /// A body map's marks, numbered as on the drawing (nil: not a body map drawn here).
    let marks: [Mark]
    let hasMarks: Bool
    let back: String
    let backText: String
    let startDownload: Bool
    let page: Int

    struct Mark {
        let number: Int
        let place: String
        let colour: String
        let size: Int
        let note: String
    }

    init(_ principal: Principal, record: EvidenceRecord, label: String?, title concernTitle: String?, held: Bool?, events: [AuditEvent]?,
         marks: [BodyMark]? = nil, startDownload: Bool, page: Int) {
        signedInName = principal.name
        let seesChildren = ConsoleNavigation.seesChildren(principal.role)
        navigation = ConsoleNavigation(principal, current: seesChildren ? .children : .uploads)
        id = record.id
        heading = "\(ReadingText.kind(record.kind)) added \(ConsoleDate.text(record.createdAt))"
        let chronology = ReadingPaths.chronology(record.child, record.school)
        var rows = [
            Row(key: "Kind", value: ReadingText.kind(record.kind), href: nil),
            Row(key: "Type", value: ReadingText.fileType(record.sniffedType), href: nil),
            Row(key: "Size", value: ReadingText.size(record.size), href: nil),
            Row(key: "Added by", value: ReadingText.person(record.createdBy), href: nil),
            Row(key: "Added", value: ConsoleDate.text(record.createdAt), href: nil),
            Row(key: "School", value: record.school, href: nil),
            Row(key: "Child", value: label.map { "\($0) (\(record.child))" } ?? record.child, href: seesChildren ? chronology : nil),
            Row(key: "Concern", value: concernTitle.map { "\($0) (\(record.concern))" } ?? record.concern, href: nil),
            Row(key: "Review date", value: ReadingText.day(record.reviewOn), href: nil),
        ]
        if let held { rows.append(Row(key: "Legal hold", value: held ? "On legal hold" : "Not on hold", href: nil)) }
        self.rows = rows
        canPreview = AccessPolicy.grant(principal.role, .preview) == .schools
        canDownload = AccessPolicy.grant(principal.role, .download) != .denied
        canAudit = events != nil
        self.events = (events ?? []).map {
            Event(time: ReadingText.time(millis: $0.timeMillis), who: ReadingText.person($0.actor), what: ReadingText.action($0.action),
                  outcome: ReadingText.outcome($0.outcome), detail: $0.reason ?? "")
        }
        self.marks = (marks ?? []).enumerated().map { index, mark in
            Mark(number: index + 1,
                 place: "\(mark.shape == .point ? "A point" : "An area") on the \(mark.side.rawValue)",
                 colour: mark.colour.rawValue.capitalized, size: mark.size, note: mark.note)
        }
        hasMarks = !self.marks.isEmpty
        back = seesChildren ? chronology : "/uploads"
        backText = seesChildren ? "Back to the chronology" : "Back to my uploads"
        self.startDownload = startDownload && canDownload
        self.page = page
    }
}

struct UploadsPage {
    struct Item {
        let date: String
        let kind: String
        let child: String
        let school: String
        let concern: String
        let href: String
    }

    let title = "My uploads"
    let script = "header.js"
    let signedInName: String?
    let navigation: ConsoleNavigation
    let items: [Item]
    let hasItems: Bool
    let pagination: Pagination

    init(_ principal: Principal, records: [EvidenceRecord], more: Bool, page: Int) {
        signedInName = principal.name
        navigation = ConsoleNavigation(principal, current: .uploads)
        items = records.map {
            let date = ConsoleDate.text($0.createdAt)
            return Item(date: date, kind: ReadingText.kind($0.kind), child: $0.child, school: $0.school, concern: $0.concern,
                        href: ReadingPaths.record($0.id))
        }
        hasItems = !items.isEmpty
        pagination = Pagination(base: "/uploads?", page: page, count: records.count, more: more)
    }
}

/// The reading pages' addresses. Ids are opaque ids (letters, digits, '.', '_', '-') or hex,
/// so they need no encoding in a path or query.
enum ReadingPaths {
    static func chronology(_ child: String, _ school: String) -> String { "/children/\(child)?school=\(school)" }
    static func record(_ id: String) -> String { "/records/\(id)" }
}

/// Whether a legal hold covers a record: one on the record, its child or its concern, in its school.
enum HeldRecords {
    static func isHeld(_ record: EvidenceRecord, by holds: [Hold]) -> Bool {
        holds.contains { hold in
            guard hold.isActive, hold.school == record.school else { return false }
            switch hold.scope {
            case .record: return hold.target == record.id
            case .child: return hold.target == record.child
            case .concern: return hold.target == record.concern
            }
        }
    }
}
