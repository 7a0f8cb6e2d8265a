import Foundation
import Storage
import Vault

// What the bundle pages' templates read: the school's bundles, the builder, one bundle. Every
// value is escaped where the template places it. Reasons, comments and recipients' names are
// shown only to DSLs and deputies of the school, as the API shows them.

/// One bundle in a list.
struct BundleSummary {
    let id: String
    let href: String
    let recipient: String
    let reason: String
    let createdBy: String
    let created: String
    let state: String
    let stateTag: String
    let expires: String
    let downloads: String
    let receipt: String
    let comment: String

    init(_ row: BundleRow, now: Date) {
        id = row.id
        href = BundlePaths.bundle(row.id)
        recipient = row.recipient
        reason = row.reason
        createdBy = ReadingText.person(row.createdBy)
        created = ConsoleDate.text(Self.date(row.createdAtMillis))
        (state, stateTag) = Self.state(row, now: now)
        expires = row.linkExpiresMillis.map { ConsoleDate.text(Self.date($0)) } ?? ""
        downloads = row.state == .released ? row.linkMaxDownloads.map { "\(row.linkDownloads) of \($0)" } ?? "\(row.linkDownloads)" : ""
        receipt = row.receiptAtMillis.map { ConsoleDate.text(Self.date($0)) } ?? (row.state == .released ? "Not yet" : "")
        comment = row.returnComment ?? ""
    }

    static func date(_ millis: Int64) -> Date { Date(timeIntervalSince1970: Double(millis) / 1000) }

    /// In words, and the tag's modifier class.
    static func state(_ row: BundleRow, now: Date) -> (String, String) {
        switch row.state {
        case .draft: return ("Waiting for approval", "tag--waiting")
        case .releasing: return ("Being made", "tag--waiting")
        case .returned: return ("Sent back", "tag--returned")
        case .released:
            if row.linkRevokedMillis != nil { return ("Link revoked", "tag--ended") }
            if let expires = row.linkExpiresMillis, now >= date(expires) { return ("Link expired", "tag--ended") }
            if let max = row.linkMaxDownloads, row.linkDownloads >= max { return ("Link used up", "tag--ended") }
            return row.receiptAtMillis == nil ? ("Sent", "tag--live") : ("Received", "tag--live")
        }
    }
}

struct SchoolLink {
    let id: String
    let href: String
    let current: Bool
}

/// `/bundles` and `/bundles/queue`: what waits for the viewer, their own drafts, and what left.
struct BundlesPage {
    let title: String
    let script = "header.js"
    let signedInName: String?
    let navigation: ConsoleNavigation
    let school: String
    let schools: [SchoolLink]
    let manySchools: Bool
    let queueOnly: Bool
    let waiting: [BundleSummary]
    let hasWaiting: Bool
    let mine: [BundleSummary]
    let hasMine: Bool
    let released: [BundleSummary]
    let hasReleased: Bool
    let newHref: String

    init(_ principal: Principal, school: String, rows: [BundleRow], queueOnly: Bool, now: Date) {
        title = queueOnly ? "Bundles waiting for your approval" : "Bundles"
        signedInName = principal.name
        navigation = ConsoleNavigation(principal, current: queueOnly ? .waiting : .bundles)
        self.school = school
        let base = queueOnly ? "/bundles/queue" : "/bundles"
        schools = principal.schools.sorted().map { SchoolLink(id: $0, href: "\(base)?school=\($0)", current: $0 == school) }
        manySchools = schools.count > 1
        self.queueOnly = queueOnly
        let me = principal.actor.description
        waiting = rows.filter { $0.state == .draft && $0.createdBy != me }.map { BundleSummary($0, now: now) }
        hasWaiting = !waiting.isEmpty
        mine = queueOnly ? [] : rows.filter { ($0.state == .draft || $0.state == .returned) && $0.createdBy == me }.map { BundleSummary($0, now: now) }
        hasMine = !mine.isEmpty
        released = queueOnly ? [] : rows.filter { $0.state == .released || $0.state == .releasing }.map { BundleSummary($0, now: now) }
        hasReleased = !released.isEmpty
        newHref = "/children"
    }
}

/// `/bundles/new`: the builder. The records are listed with the ways each may go; the page's
/// script keeps the choices, the boxes and the terms, and posts the draft to /v1/bundles.
struct BundleBuilderPage {
    struct Recipient {
        let name: String
        let key: String
    }

    struct Item {
        let id: String
        let date: String
        let kind: String
        let concern: String
        let child: String
        /// "image", "pdf", "text", "office" or "other": how the page lets it be redacted.
        let family: String
        let typeName: String
        let modes: [Mode]
        let needsConfirm: Bool
        let redactable: Bool
        let checkboxID: String
        let modeID: String
    }

    struct Mode {
        let value: String
        let label: String
        let selected: Bool
    }

    let title = "Prepare a bundle"
    let script = "bundle-builder.js"
    let signedInName: String?
    let navigation: ConsoleNavigation
    let school: String
    let heading: String
    let children: String
    let recipients: [Recipient]
    let hasRecipients: Bool
    let items: [Item]
    let hasItems: Bool
    let manyChildren: Bool
    let from: String
    let chronologyHref: String
    /// The concerns of the records listed, to tick one concern's records only.
    let concerns: [Concern]
    let manyConcerns: Bool

    struct Concern {
        let id: String
        let label: String
    }

    init(_ principal: Principal, school: String, children: [String], heading: String, records: [EvidenceRecord], copies: Set<String>,
         recipients: [Storage.Recipient], from: String?, titles: [String: String] = [:]) {
        signedInName = principal.name
        navigation = ConsoleNavigation(principal, current: .bundles)
        self.school = school
        self.heading = heading
        self.children = children.joined(separator: " ")
        self.recipients = recipients.map { Recipient(name: $0.name, key: $0.ageRecipient == nil ? "passphrase" : "age") }
        hasRecipients = !recipients.isEmpty
        items = records.map { Self.item($0, hasCopy: copies.contains($0.id)) }
        hasItems = !items.isEmpty
        manyChildren = children.count > 1
        self.from = from ?? ""
        chronologyHref = children.count == 1 ? ReadingPaths.chronology(children[0], school) : "/children"
        concerns = Set(records.map(\.concern)).sorted().map { id in Concern(id: id, label: titles[id].map { "\($0) (\(id))" } ?? id) }
        manyConcerns = concerns.count > 1
    }

    static func family(_ record: EvidenceRecord) -> String {
        switch EvidenceType(mime: record.sniffedType) {
        case .png, .jpeg, .webp, .heic: "image"
        case .pdf: "pdf"
        case .text: "text"
        case .docx, .odt, .rtf, .xlsx, .ods: "office"
        default: "other"
        }
    }

    /// The ways a record may go, as the vault's plan allows them (it checks again on saving).
    static func item(_ record: EvidenceRecord, hasCopy: Bool) -> Item {
        let family = family(record)
        var modes = [Mode(value: "as-is", label: family == "image" ? "As it is, without hidden details (location, camera)" : "As it is", selected: true)]
        switch family {
        case "image", "pdf": modes.append(Mode(value: "redacted", label: "With parts blacked out", selected: false))
        case "text": modes.append(Mode(value: "redacted", label: "With words taken out", selected: false))
        case "office" where hasCopy: modes.append(Mode(value: "redacted", label: "As its redacted PDF copy", selected: false))
        default: break
        }
        modes.append(Mode(value: "original", label: "The original file, exactly as stored", selected: false))
        return Item(id: record.id, date: ConsoleDate.text(record.createdAt), kind: ReadingText.kind(record.kind), concern: record.concern,
                    child: record.child, family: family, typeName: EvidenceType(mime: record.sniffedType)?.displayName ?? record.sniffedType,
                    modes: modes, needsConfirm: family == "office", redactable: family == "image" || family == "pdf" || family == "text",
                    checkboxID: "include-\(record.id)", modeID: "mode-\(record.id)")
    }
}

/// `/bundles/{id}`: one bundle. A draft shows each item as stored beside the item as it will
/// be sent (both drawn by the server), for the approver to check; a released one, its link.
struct BundlePage {
    struct Row {
        let key: String
        let value: String
    }

    struct Item {
        let position: Int
        let record: String
        let recordHref: String
        let kind: String
        let mode: String
        let child: String
        let headingID: String
    }

    let title: String
    let script = "bundle.js"
    let signedInName: String?
    let navigation: ConsoleNavigation
    let id: String
    let school: String
    let heading: String
    let stateText: String
    let stateTag: String
    let rows: [Row]
    let items: [Item]
    let isDraft: Bool
    let isReturned: Bool
    let isReleased: Bool
    let linkLive: Bool
    let canApprove: Bool
    let isCreator: Bool
    let returnedBy: String
    let returnComment: String
    let returnedAt: String
    let againHref: String
    let recipientKey: String
    let startApproval: Bool

    init(_ principal: Principal, row: BundleRow, items: [BundleItemRow], review: BundleReview?, kinds: [String: String], now: Date,
         startApproval: Bool) {
        signedInName = principal.name
        navigation = ConsoleNavigation(principal, current: .bundles)
        id = row.id
        school = row.school
        title = row.state == .draft ? "Check a bundle before it is sent" : "Bundle for \(row.recipient)"
        heading = "Bundle for \(row.recipient)"
        (stateText, stateTag) = BundleSummary.state(row, now: now)
        isDraft = row.state == .draft
        isReturned = row.state == .returned
        isReleased = row.state == .released
        isCreator = row.createdBy == principal.actor.description
        canApprove = isDraft && !isCreator
        linkLive = isReleased && stateTag == "tag--live"
        var rows = [Row(key: "Status", value: stateText), Row(key: "Sent to", value: row.recipient)]
        if let recipient = review?.recipient {
            recipientKey = recipient.ageRecipient ?? ""
            rows.append(Row(key: "Their key", value: recipient.ageRecipient ?? "None: each bundle has a passphrase, given to them separately"))
            if !recipient.contact.isEmpty { rows.append(Row(key: "Contact", value: recipient.contact)) }
            rows.append(Row(key: "Added to the directory by", value: "\(ReadingText.person(recipient.createdBy)) on \(ConsoleDate.text(BundleSummary.date(recipient.createdAtMillis)))"))
        } else {
            recipientKey = ""
            if row.state == .draft { rows.append(Row(key: "Their key", value: "The recipient is no longer in the school's directory: this bundle cannot be sent")) }
        }
        rows.append(Row(key: "Why", value: row.reason))
        rows.append(Row(key: "Prepared by", value: "\(ReadingText.person(row.createdBy)) on \(ConsoleDate.text(BundleSummary.date(row.createdAtMillis)))"))
        if let approver = row.approvedBy, row.state == .released {
            rows.append(Row(key: "Approved by", value: ReadingText.person(approver)))
        }
        if let released = row.releasedAtMillis { rows.append(Row(key: "Sent", value: ConsoleDate.text(BundleSummary.date(released)))) }
        if let expires = row.linkExpiresMillis { rows.append(Row(key: "Link works until", value: ConsoleDate.text(BundleSummary.date(expires)))) }
        if row.state == .released {
            let used = row.linkMaxDownloads.map { "\(row.linkDownloads) of \($0)" } ?? "\(row.linkDownloads) (no limit)"
            rows.append(Row(key: "Downloads", value: used))
            rows.append(Row(key: "Receipt confirmed", value: row.receiptAtMillis.map { ConsoleDate.text(BundleSummary.date($0)) } ?? "Not yet"))
            if let revoked = row.linkRevokedMillis { rows.append(Row(key: "Link revoked", value: ConsoleDate.text(BundleSummary.date(revoked)))) }
        }
        self.rows = rows
        returnedBy = row.returnedBy.map(ReadingText.person) ?? ""
        returnComment = row.returnComment ?? ""
        returnedAt = row.returnedAtMillis.map { ConsoleDate.text(BundleSummary.date($0)) } ?? ""
        let children = Array(Set(items.map(\.child))).sorted()
        againHref = "/bundles/new?school=\(row.school)" + children.map { "&child=\($0)" }.joined() + "&from=\(row.id)"
        self.items = items.map { item in
            Item(position: item.position + 1, record: item.record, recordHref: ReadingPaths.record(item.record),
                 kind: kinds[item.record].map(ReadingText.kind) ?? "Record", mode: Self.mode(item.mode), child: item.child,
                 headingID: "item-\(item.position + 1)-heading")
        }
        self.startApproval = startApproval && canApprove
    }

    static func mode(_ mode: String) -> String {
        switch mode {
        case "redacted": "With parts taken out"
        case "original": "The original file, exactly as stored"
        default: "As it is"
        }
    }
}

enum BundlePaths {
    static func bundle(_ id: String) -> String { "/bundles/\(id)" }
}
