import Foundation
import Storage
import Vault

// What the retention pages' templates read. Labels are children's names, shown only to those
// the vault lets read them; every value is escaped where the template places it.

/// A school in a page's school selector.
struct SchoolChoice {
    let id: String
    let selected: Bool

    static func list(_ principal: Principal, selected: String) -> [SchoolChoice] {
        principal.schools.sorted().map { SchoolChoice(id: $0, selected: $0 == selected) }
    }
}

/// A child as the retention pages name them: the label and the id, or the id alone.
enum ChildName {
    static func text(_ child: String, labels: [String: String]) -> String {
        labels[child].map { "\($0) (\(child))" } ?? "Child \(child)"
    }
}

struct RetentionDuePage {
    /// The most records one page lists (and can select at once).
    static let limit = 200

    struct Item {
        let id: String
        let child: String
        let childName: String
        let kind: String
        let review: String
        let held: Bool
        let selectable: Bool
        let checkboxID: String
        let dobHref: String
        let canSetDOB: Bool
        let recordHref: String
    }

    let title = "Retention review"
    let script = "retention.js"
    let signedInName: String?
    let navigation: ConsoleNavigation
    let schools: [SchoolChoice]
    let school: String
    let asOf: String
    let asOfText: String
    let items: [Item]
    let hasItems: Bool
    let summary: String
    let canShred: Bool
    let errors: [FieldError]
    let hasErrors: Bool
    let schoolError: String?
    let asOfError: String?

    init(_ principal: Principal, school: String, asOf: String, due: [DueRecord], labels: [String: String], errors: [FieldError]) {
        signedInName = principal.name
        navigation = ConsoleNavigation(principal, current: .retention)
        schools = SchoolChoice.list(principal, selected: school)
        self.school = school
        self.asOf = asOf
        asOfText = ReadingText.day(asOf)
        let canSetDOB = AccessPolicy.grant(principal.role, .setDOB) != .denied
        canShred = AccessPolicy.grant(principal.role, .shred) != .denied
        items = due.prefix(Self.limit).enumerated().map { index, r in
            Item(id: r.id, child: r.child, childName: ChildName.text(r.child, labels: labels), kind: ReadingText.kind(r.kind),
                 review: ReadingText.day(r.reviewOn), held: r.held, selectable: !r.held && principal.role != .backup,
                 checkboxID: "record-\(index + 1)",
                 dobHref: "/children/\(r.child)/date-of-birth?school=\(r.school)", canSetDOB: canSetDOB,
                 recordHref: ReadingPaths.record(r.id))
        }
        hasItems = !items.isEmpty
        let count = due.count
        summary = count == 0 ? "" : count > Self.limit
            ? "\(count) records are due. The first \(Self.limit), by review date, are listed."
            : count == 1 ? "1 record is due." : "\(count) records are due."
        self.errors = errors
        hasErrors = !errors.isEmpty
        schoolError = errors.first { $0.field == "school" }?.text
        asOfError = errors.first { $0.field == "asOf" }?.text
    }
}

/// Words for a shred request's state.
enum ShredText {
    static func state(_ state: ShredRequest.State) -> String {
        switch state {
        case .pending: "Waiting for approval"
        case .executing: "Being shredded"
        case .done: "Shredded"
        case .void: "Void: a legal hold covered a record"
        case .withdrawn: "Withdrawn"
        }
    }

    static func role(_ role: String) -> String {
        switch role {
        case "dsl": "DSL"
        case "deputy": "deputy DSL"
        case "dpo": "DPO"
        default: role
        }
    }

    static func records(_ n: Int) -> String { n == 1 ? "1 record" : "\(n) records" }
}

struct ShredRequestsPage {
    struct Item {
        let id: String
        let href: String
        let school: String
        let asked: String
        let askedBy: String
        let reason: String
        let records: String
        let held: Bool
        let state: String
        let expires: String
    }

    let title = "Shred requests"
    let script = "shred-requests.js"
    let signedInName: String?
    let navigation: ConsoleNavigation
    let waiting: [Item]
    let hasWaiting: Bool
    let own: [Item]
    let hasOwn: Bool
    let others: [Item]
    let hasOthers: Bool

    init(_ principal: Principal, entries: [ShredRequestEntry]) {
        signedInName = principal.name
        navigation = ConsoleNavigation(principal, current: .retention)
        func item(_ e: ShredRequestEntry) -> Item {
            let r = e.request
            return Item(id: r.id, href: "/retention/requests/\(r.id)", school: r.school, asked: ReadingText.time(millis: r.requestedAtMillis),
                        askedBy: "\(ReadingText.person(r.requestedBy)) (\(ShredText.role(r.requestedRole)))", reason: r.reason,
                        records: ShredText.records(r.records.count), held: e.items.contains(where: \.held), state: ShredText.state(r.state),
                        expires: ReadingText.time(millis: e.expiresAtMillis))
        }
        let waitingEntries = entries.filter { $0.waits(for: principal) }
        let ownEntries = entries.filter { $0.isOwn(principal) && $0.request.state == .pending }
        let shown = Set((waitingEntries + ownEntries).map(\.request.id))
        waiting = waitingEntries.map(item)
        own = ownEntries.map(item)
        others = entries.filter { !shown.contains($0.request.id) }.prefix(50).map(item)
        hasWaiting = !waiting.isEmpty
        hasOwn = !own.isEmpty
        hasOthers = !others.isEmpty
    }
}

struct ShredRequestPage {
    struct Item {
        let id: String
        let childName: String
        let kind: String
        let review: String
        let held: Bool
        let href: String
    }

    let title = "Check the shred request"
    let script = "shred-requests.js"
    let signedInName: String?
    let navigation: ConsoleNavigation
    let id: String
    let school: String
    let state: String
    let askedBy: String
    let asked: String
    let expires: String
    let reason: String
    let items: [Item]
    let hasItems: Bool
    let missing: String
    let hasMissing: Bool
    let anyHeld: Bool
    let canApprove: Bool
    let canWithdraw: Bool
    let startApproval: Bool

    init(_ principal: Principal, entry: ShredRequestEntry, labels: [String: String], startApproval: Bool) {
        signedInName = principal.name
        navigation = ConsoleNavigation(principal, current: .retention)
        let r = entry.request
        id = r.id
        school = r.school
        state = ShredText.state(r.state)
        askedBy = "\(ReadingText.person(r.requestedBy)) (\(ShredText.role(r.requestedRole)))"
        asked = ReadingText.time(millis: r.requestedAtMillis)
        expires = ReadingText.time(millis: entry.expiresAtMillis)
        reason = r.reason
        items = entry.items.map {
            Item(id: $0.id, childName: ChildName.text($0.child, labels: labels), kind: ReadingText.kind($0.kind),
                 review: ReadingText.day($0.reviewOn), held: $0.held, href: ReadingPaths.record($0.id))
        }
        hasItems = !items.isEmpty
        let gone = r.state == .pending ? r.records.count - entry.items.count : 0
        missing = gone == 1 ? "1 record it names is no longer in Strongroom." : "\(gone) records it names are no longer in Strongroom."
        hasMissing = gone > 0
        anyHeld = entry.items.contains(where: \.held)
        canApprove = entry.waits(for: principal) && !anyHeld
        canWithdraw = entry.isOwn(principal) && r.state == .pending
        self.startApproval = startApproval && canApprove
    }
}

struct CertificatesPage {
    struct Item {
        let id: String
        let href: String
        let school: String
        let executed: String
        let records: String
        let askedBy: String
        let approvedBy: String
    }

    let title = "Certificates of destruction"
    let script = "header.js"
    let signedInName: String?
    let navigation: ConsoleNavigation
    let items: [Item]
    let hasItems: Bool

    init(_ principal: Principal, entries: [ShredRequestEntry]) {
        signedInName = principal.name
        navigation = ConsoleNavigation(principal, current: .retention)
        items = entries.filter { $0.request.state == .done }.map {
            let r = $0.request
            return Item(id: r.id, href: "/retention/certificates/\(r.id)", school: r.school,
                        executed: r.approvedAtMillis.map(ReadingText.time(millis:)) ?? "",
                        records: ShredText.records(r.records.count), askedBy: ReadingText.person(r.requestedBy),
                        approvedBy: r.approvedBy.map(ReadingText.person) ?? "")
        }
        hasItems = !items.isEmpty
    }
}

struct CertificatePage {
    struct Row {
        let key: String
        let value: String
    }

    struct Item {
        let id: String
        let child: String
        let kind: String
        let created: String
        let shredded: String
        let keyDestroyed: String
    }

    let title = "Certificate of destruction"
    let script = "header.js"
    let signedInName: String?
    let navigation: ConsoleNavigation
    let id: String
    let valid: Bool
    let problem: String
    let rows: [Row]
    let items: [Item]
    let download: String
    let filename: String

    init(_ principal: Principal, id: String, check: CertificateCheck) {
        signedInName = principal.name
        navigation = ConsoleNavigation(principal, current: .retention)
        self.id = id
        valid = check.valid
        problem = check.problem
        download = "/v1/shred-requests/\(id)/certificate"
        filename = "certificate-\(id).json"
        guard let c = check.certificate else {
            rows = []
            items = []
            return
        }
        func time(_ iso: String) -> String {
            (try? Date(iso, strategy: .iso8601)).map(ConsoleDate.text) ?? iso
        }
        rows = [
            Row(key: "Request", value: c.request),
            Row(key: "School", value: c.school),
            Row(key: "Why", value: c.reason),
            Row(key: "Asked by", value: "\(ReadingText.person(c.requestedBy)) (\(ShredText.role(c.requestedRole))), \(time(c.requestedAt))"),
            Row(key: "Approved by", value: "\(ReadingText.person(c.approvedBy)) (\(ShredText.role(c.approvedRole))), \(time(c.approvedAt))"),
            Row(key: "Shredded", value: time(c.executedAt)),
            Row(key: "Records", value: ShredText.records(c.records.count)),
        ]
        items = c.records.map {
            Item(id: $0.id, child: $0.child, kind: ReadingText.kind($0.kind), created: time($0.createdAt), shredded: time($0.shreddedAt),
                 keyDestroyed: $0.kekDestroyed ? "Yes" : "Not yet: other records still use it")
        }
    }
}

struct HoldsPage {
    struct Item {
        let id: String
        let school: String
        let what: String
        /// The held record's page, or the held child's chronology (none for a concern).
        let href: String?
        /// What is held with its id, for the buttons' names to a screen reader.
        let name: String
        let reason: String
        let placed: String
        let placedBy: String
        let releaseAskedBy: String
        let releaseReason: String
        let releasePending: Bool
        let canApproveRelease: Bool
        let canAskRelease: Bool
        let reasonID: String
    }

    let title = "Legal holds"
    let script = "holds.js"
    let signedInName: String?
    let navigation: ConsoleNavigation
    let schools: [SchoolChoice]
    let oneSchool: String?
    let items: [Item]
    let hasItems: Bool

    init(_ principal: Principal, holds: [Hold], now: Date) {
        signedInName = principal.name
        navigation = ConsoleNavigation(principal, current: .retention)
        let sorted = principal.schools.sorted()
        schools = SchoolChoice.list(principal, selected: sorted.first ?? "")
        oneSchool = sorted.count == 1 ? sorted[0] : nil
        let me = principal.actor.description
        items = holds.enumerated().map { index, h in
            let what = switch h.scope {
            case .record: "One record"
            case .child: "Every record of child \(h.target)"
            case .concern: "Every record of concern \(h.target)"
            }
            let pending = h.releaseRequestedBy != nil
            let href: String? = switch h.scope {
            case .record: ReadingPaths.record(h.target)
            case .child: ReadingPaths.chronology(h.target, h.school)
            case .concern: nil
            }
            return Item(id: h.id, school: h.school, what: what, href: href, name: "\(h.scope.rawValue) \(h.target)", reason: h.reason, placed: ReadingText.time(millis: h.placedAtMillis),
                        placedBy: ReadingText.person(h.placedBy), releaseAskedBy: h.releaseRequestedBy.map(ReadingText.person) ?? "",
                        releaseReason: h.releaseRequestReason ?? "", releasePending: pending,
                        canApproveRelease: pending && h.releaseRequestedAccount != principal.account && h.releaseRequestedBy != me,
                        canAskRelease: !pending, reasonID: "release-reason-\(index + 1)")
        }
        hasItems = !items.isEmpty
    }
}

struct DateOfBirthPage {
    let title = "Date of birth"
    let script = "date-of-birth.js"
    let signedInName: String?
    let navigation: ConsoleNavigation
    let child: String
    let school: String
    let heading: String
    let back: String

    init(_ principal: Principal, child: String, school: String, label: String?) {
        signedInName = principal.name
        navigation = ConsoleNavigation(principal, current: .retention)
        self.child = child
        self.school = school
        heading = label.map { "\($0) (\(child))" } ?? "Child \(child)"
        back = "/retention?school=\(school)"
    }
}
