import Foundation
import Storage
import Vault

// What the transfer pages' templates read: a school's transfers, drafting one, one transfer,
// receiving a package, and the directory of schools with this school's own card.

/// A school the person works in, as a link to the same page for that school.
struct TransferSchoolLink {
    let id: String
    let href: String
    let current: Bool

    static func all(_ principal: Principal, current: String, path: String) -> [TransferSchoolLink] {
        principal.schools.sorted().map { TransferSchoolLink(id: $0, href: path + "?school=" + RecipientPaths.query($0), current: $0 == current) }
    }
}

/// A transfer's state in words and its tag's class; nothing is said by colour alone.
enum TransferStateText {
    static func of(_ state: TransferStatus.State) -> (text: String, tag: String) {
        switch state {
        case .draft: ("Draft", "tag--waiting")
        case .sent: ("Sent", "tag--live")
        case .received: ("Received", "tag--ended")
        case .overdue: ("Overdue", "tag--hold")
        }
    }

    static func date(_ millis: Int64) -> String { ConsoleDate.text(Date(timeIntervalSince1970: Double(millis) / 1000)) }

    /// The receiving school as "Name (id)", or the id when it is no longer in the directory.
    static func school(_ id: String, name: String?) -> String { name.map { "\($0) (\(id))" } ?? id }

    static func child(_ id: String, label: String?) -> String { label.map { "\($0) (\(id))" } ?? "Child \(id)" }
}

struct TransfersPage {
    struct Sent {
        let href: String
        let state: String
        let stateTag: String
        let to: String
        let child: String
        let sent: String
        let due: String
    }

    struct Received {
        let from: String
        let child: String
        let received: String
        let records: String
        let chronologyHref: String
    }

    let title = "Transfers"
    let script = "header.js"
    let signedInName: String?
    let navigation: ConsoleNavigation
    let school: String
    let schoolLinks: [TransferSchoolLink]
    let severalSchools: Bool
    let receiveHref: String
    let schoolsHref: String
    let sent: [Sent]
    let hasSent: Bool
    let received: [Received]
    let hasReceived: Bool

    init(_ principal: Principal, school: String, sent: [TransferStatus], received: [IncomingTransferRow], labels: [String: String]) {
        signedInName = principal.name
        navigation = ConsoleNavigation(principal, current: .transfers)
        self.school = school
        schoolLinks = TransferSchoolLink.all(principal, current: school, path: "/transfers")
        severalSchools = principal.schools.count > 1
        receiveHref = "/transfers/receive?school=" + RecipientPaths.query(school)
        schoolsHref = "/schools?school=" + RecipientPaths.query(school)
        self.sent = sent.map { s in
            let (text, tag) = TransferStateText.of(s.state)
            return Sent(href: "/transfers/" + s.transfer.id, state: text, stateTag: tag,
                        to: TransferStateText.school(s.transfer.toSchool, name: s.toName),
                        child: TransferStateText.child(s.transfer.child, label: labels[s.transfer.child]),
                        sent: s.transfer.sentAtMillis.map(TransferStateText.date) ?? "Not yet",
                        due: s.state == .received ? "Receipt arrived" : s.receiptDueMillis.map(TransferStateText.date) ?? "After sending")
        }
        hasSent = !sent.isEmpty
        self.received = received.map { r in
            let count = (try? TransferReceipt.parse(Array(r.receipt)))?.records
            return Received(from: TransferStateText.school(r.fromSchool, name: r.fromName),
                            child: TransferStateText.child(r.child, label: labels[r.child]),
                            received: TransferStateText.date(r.receivedAtMillis),
                            records: count.map(String.init) ?? "",
                            chronologyHref: ReadingPaths.chronology(r.child, r.school))
        }
        hasReceived = !received.isEmpty
    }
}

struct TransferNewPage {
    struct Record {
        let date: String
        let kind: String
        let held: Bool
    }

    struct Option {
        let inputID: String
        let school: String
        let name: String
        let fingerprint: String
    }

    let title = "Send a child's file to their new school"
    let script = "transfer-new.js"
    let signedInName: String?
    let navigation: ConsoleNavigation
    let school: String
    let child: String
    let childText: String
    let chronologyHref: String
    let schoolsHref: String
    let recordCount: Int
    let recordCountText: String
    let hasRecords: Bool
    /// The first records, oldest first: the check step lists a few, and says how many in all.
    let records: [Record]
    let moreRecords: String
    let hasMoreRecords: Bool
    let heldText: String
    let hasHeld: Bool
    let options: [Option]
    let hasOptions: Bool

    init(_ principal: Principal, school: String, child: String, label: String?, records: [EvidenceRecord], holds: [Hold], directory: [PinnedSchool]) {
        signedInName = principal.name
        navigation = ConsoleNavigation(principal, current: .transfers)
        self.school = school
        self.child = child
        childText = TransferStateText.child(child, label: label)
        chronologyHref = ReadingPaths.chronology(child, school)
        schoolsHref = "/schools?school=" + RecipientPaths.query(school)
        recordCount = records.count
        recordCountText = records.count == 1 ? "1 record" : "\(records.count) records"
        hasRecords = !records.isEmpty
        let shown = records.prefix(10)
        self.records = shown.map {
            Record(date: TransferStateText.date($0.createdAtMillis), kind: ReadingText.kind($0.kind), held: HeldRecords.isHeld($0, by: holds))
        }
        moreRecords = records.count > shown.count ? "and \(records.count - shown.count) more" : ""
        hasMoreRecords = records.count > shown.count
        let held = records.filter { HeldRecords.isHeld($0, by: holds) }.count
        heldText = held == 1 ? "1 record is under a legal hold: it travels with the hold flagged."
            : "\(held) records are under a legal hold: they travel with the hold flagged."
        hasHeld = held > 0
        options = directory.sorted { $0.name < $1.name }.enumerated().map { index, pinned in
            Option(inputID: "to-\(index)", school: pinned.school, name: pinned.name, fingerprint: pinned.fingerprint)
        }
        hasOptions = !directory.isEmpty
    }
}

struct TransferPage {
    struct Row {
        let key: String
        let value: String
        /// Names the row for the page's script (which rewrites it once the transfer is sent).
        var id: String? = nil
    }

    let title: String
    let script = "transfer.js"
    let signedInName: String?
    let navigation: ConsoleNavigation
    let id: String
    let school: String
    let stateText: String
    let stateTag: String
    let rows: [Row]
    let isDraft: Bool
    let isCreator: Bool
    let canApprove: Bool
    let startApproval: Bool
    let isSent: Bool
    let isOverdue: Bool
    let due: String
    let isReceived: Bool
    let afterReceipt: String
    let shredRequestsHref: String
    let hasShredRequest: Bool
    let listHref: String
    let chronologyHref: String

    init(_ principal: Principal, status: TransferStatus, label: String?, pinned: PinnedSchool?, recordsNow: Int?, startApproval: Bool, now: Date) {
        let row = status.transfer
        signedInName = principal.name
        navigation = ConsoleNavigation(principal, current: .transfers)
        id = row.id
        school = row.school
        (stateText, stateTag) = TransferStateText.of(status.state)
        title = status.state == .draft ? "Check a transfer before it is sent" : "Transfer of a child's file"
        isDraft = status.state == .draft
        isCreator = row.createdBy == principal.actor.description || row.createdAccount == principal.account
        canApprove = isDraft && !isCreator
        self.startApproval = canApprove && startApproval
        isSent = status.state == .sent || status.state == .overdue
        isOverdue = status.state == .overdue
        due = status.receiptDueMillis.map(TransferStateText.date) ?? ""
        isReceived = status.state == .received
        afterReceipt = row.afterReceipt.map(ProblemPage.sentence) ?? ""
        // "shred request ID drafted for …": the request itself, for a DPO to approve.
        let drafted = row.afterReceipt.flatMap { text -> String? in
            guard text.hasPrefix("shred request ") else { return nil }
            return text.dropFirst("shred request ".count).split(separator: " ").first.map(String.init)
        }.flatMap { RecordID.isValid($0) || OpaqueID.isValid($0) ? $0 : nil }
        hasShredRequest = drafted != nil
        shredRequestsHref = drafted.map { "/retention/requests/" + RecipientPaths.query($0) } ?? ""
        listHref = "/transfers?school=" + RecipientPaths.query(row.school)
        chronologyHref = ReadingPaths.chronology(row.child, row.school)
        var rows = [
            Row(key: "Child", value: TransferStateText.child(row.child, label: label)),
            Row(key: "Receiving school", value: TransferStateText.school(row.toSchool, name: status.toName)),
            Row(key: "Their fingerprint", value: pinned?.fingerprint ?? "No longer in your directory"),
            Row(key: "Reason", value: row.reason),
            Row(key: "Drafted by", value: ReadingText.person(row.createdBy) + " on " + TransferStateText.date(row.createdAtMillis)),
        ]
        if let recordsNow {
            rows.append(Row(key: "What will travel", value: "Every record of the child in \(row.school) when it is approved: \(recordsNow) now",
                            id: "transfer-travel"))
        }
        if let approver = row.approvedBy { rows.append(Row(key: "Approved and sent by", value: ReadingText.person(approver))) }
        if let sent = row.sentAtMillis { rows.append(Row(key: "Sent", value: TransferStateText.date(sent))) }
        if let count = row.recordCount { rows.append(Row(key: "Records", value: "\(count)")) }
        if let due = status.receiptDueMillis, status.state != .received { rows.append(Row(key: "Receipt due by", value: TransferStateText.date(due))) }
        if let received = row.receiptAtMillis { rows.append(Row(key: "Receipt arrived", value: TransferStateText.date(received))) }
        if let receipt = row.receipt.flatMap({ try? TransferReceipt.parse(Array($0)) }) {
            rows.append(Row(key: "Receipt", value: "Signed by school \(receipt.toSchool) for \(receipt.records) records, received on "
                                + TransferStateText.date(receipt.receivedAtMillis)))
        }
        self.rows = rows
    }
}

struct TransferReceivePage {
    let title = "Receive a child's file"
    let script = "transfer-receive.js"
    let signedInName: String?
    let navigation: ConsoleNavigation
    let school: String
    let schoolLinks: [TransferSchoolLink]
    let severalSchools: Bool
    let listHref: String

    init(_ principal: Principal, school: String) {
        signedInName = principal.name
        navigation = ConsoleNavigation(principal, current: .transfers)
        self.school = school
        schoolLinks = TransferSchoolLink.all(principal, current: school, path: "/transfers/receive")
        severalSchools = principal.schools.count > 1
        listHref = "/transfers?school=" + RecipientPaths.query(school)
    }
}

struct SchoolsPage {
    struct Row {
        let school: String
        let name: String
        let fingerprint: String
        let added: String
    }

    struct Card {
        let school: String
        let name: String
        let fingerprint: String
        let href: String
        let filename: String
    }

    let title = "Schools you can send to"
    let script = "schools.js"
    let signedInName: String?
    let navigation: ConsoleNavigation
    let school: String
    let schoolLinks: [TransferSchoolLink]
    let severalSchools: Bool
    let rows: [Row]
    let hasRows: Bool
    let card: Card?
    let hasCard: Bool
    /// Only a DSL accepts a changed card or sets the rule for the school's copies.
    let isDSL: Bool
    let ruleShred: Bool
    let ruleKeep: Bool
    let listHref: String

    init(_ principal: Principal, school: String, directory: [PinnedSchool], card: SchoolCard?, rule: AfterReceiptRule) {
        signedInName = principal.name
        navigation = ConsoleNavigation(principal, current: .transfers)
        self.school = school
        schoolLinks = TransferSchoolLink.all(principal, current: school, path: "/schools")
        severalSchools = principal.schools.count > 1
        rows = directory.sorted { $0.name < $1.name }.map {
            Row(school: $0.school, name: $0.name, fingerprint: $0.fingerprint,
                added: ReadingText.person($0.addedBy) + " on " + TransferStateText.date($0.addedAtMillis))
        }
        hasRows = !directory.isEmpty
        self.card = card.map {
            Card(school: $0.school, name: $0.name, fingerprint: $0.fingerprint,
                 href: "/v1/transfer-card?school=" + RecipientPaths.query($0.school), filename: "school-card-\($0.school).json")
        }
        hasCard = card != nil
        isDSL = principal.role == .dsl
        ruleShred = rule == .draftShred
        ruleKeep = rule == .keep
        listHref = "/transfers?school=" + RecipientPaths.query(school)
    }
}

/// A child's transfers on their chronology: where the file went, and for each record that
/// arrived by transfer, where it came from. Empty for those who do not transfer.
struct ChronologyTransfers {
    struct Line {
        let href: String
        let to: String
        let state: String
        let stateTag: String
        let date: String
    }

    let canTransfer: Bool
    let newHref: String
    let lines: [Line]
    let hasLines: Bool
    /// "Received from NAME (ID) on DATE", by record id.
    let origins: [String: String]

    static let none = ChronologyTransfers(canTransfer: false, newHref: "", lines: [], hasLines: false, origins: [:])

    init(canTransfer: Bool, newHref: String, lines: [Line], hasLines: Bool, origins: [String: String]) {
        self.canTransfer = canTransfer
        self.newHref = newHref
        self.lines = lines
        self.hasLines = hasLines
        self.origins = origins
    }

    init(child: String, school: String, sent: [TransferStatus], received: [(IncomingTransferRow, [TransferredRecordRow])]) {
        canTransfer = true
        newHref = "/transfers/new?school=\(RecipientPaths.query(school))&child=\(RecipientPaths.query(child))"
        lines = sent.map { s in
            let (text, tag) = TransferStateText.of(s.state)
            return Line(href: "/transfers/" + s.transfer.id, to: TransferStateText.school(s.transfer.toSchool, name: s.toName), state: text,
                        stateTag: tag, date: TransferStateText.date(s.transfer.sentAtMillis ?? s.transfer.createdAtMillis))
        }
        hasLines = !sent.isEmpty
        var origins: [String: String] = [:]
        for (row, records) in received {
            let text = "Received from \(TransferStateText.school(row.fromSchool, name: row.fromName)) on \(TransferStateText.date(row.receivedAtMillis))"
            for record in records { origins[record.record] = text }
        }
        self.origins = origins
    }
}
