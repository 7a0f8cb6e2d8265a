import Foundation
import Storage
import Vault

// What the recipients pages' templates read: a school's directory of agencies, the form to
// add one, and the check before removing one.

struct RecipientsPage {
    struct Row {
        let name: String
        let contact: String
        let how: String
        let added: String
        let removeHref: String
    }

    struct SchoolLink {
        let id: String
        let href: String
    }

    let title = "Recipients"
    let script = "recipients.js"
    let signedInName: String?
    let navigation: ConsoleNavigation
    /// The school shown, or nil while the person (who works in several) has not chosen one.
    let school: String?
    let schoolLinks: [SchoolLink]
    let rows: [Row]
    let hasRows: Bool
    let notice: String?

    init(_ principal: Principal, school: String?, recipients: [Recipient], notice: String?) {
        signedInName = principal.name
        navigation = ConsoleNavigation(principal, current: .recipients)
        self.school = school
        schoolLinks = principal.schools.sorted().map { SchoolLink(id: $0, href: "/recipients?school=" + $0) }
        rows = recipients.map { r in
            let query = "school=\(RecipientPaths.query(r.school))&name=\(RecipientPaths.query(r.name))"
            return Row(name: r.name, contact: r.contact.isEmpty ? "None given" : r.contact,
                       how: r.usesPassphrase ? "A passphrase for each bundle, given separately" : "Their encryption key (age)",
                       added: ConsoleDate.text(Date(timeIntervalSince1970: Double(r.createdAtMillis) / 1000)),
                       removeHref: "/recipients/remove?" + query)
        }
        hasRows = !recipients.isEmpty
        self.notice = notice
    }
}

struct RemoveRecipientPage {
    let title = "Remove this recipient"
    let script = "recipients.js"
    let signedInName: String?
    let navigation: ConsoleNavigation
    let school: String
    let name: String
    let contact: String
    let backHref: String

    init(_ principal: Principal, recipient: Recipient) {
        signedInName = principal.name
        navigation = ConsoleNavigation(principal, current: .recipients)
        school = recipient.school
        name = recipient.name
        contact = recipient.contact.isEmpty ? "None given" : recipient.contact
        backHref = "/recipients?school=" + RecipientPaths.query(recipient.school)
    }
}

enum RecipientPaths {
    static let value = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))

    /// A query value percent-encoded for a link (an agency's name has spaces and apostrophes).
    static func query(_ text: String) -> String { text.addingPercentEncoding(withAllowedCharacters: value) ?? "" }
}

/// What waits for the person: counts only, each with the page where it is dealt with.
struct WaitingPage {
    struct Row {
        let id: String
        let text: String
        let count: Int
        let href: String
    }

    let title = "Waiting for you"
    let script = "header.js"
    let signedInName: String?
    let navigation: ConsoleNavigation
    let rows: [Row]
    let hasRows: Bool

    init(_ principal: Principal, counts: WaitingCounts) {
        signedInName = principal.name
        navigation = ConsoleNavigation(principal, current: .waiting)
        var rows: [Row] = []
        if [.dsl, .deputy].contains(principal.role) {
            rows.append(Row(id: "waiting-bundles", text: "Bundles to approve before they are shared", count: counts.bundlesToApprove,
                            href: "/bundles/queue"))
        }
        if ConsoleNavigation.sendsTransfers(principal.role) {
            rows.append(Row(id: "waiting-transfers", text: "Transfers of a child's file to approve before they are sent",
                            count: counts.transfersToApprove, href: "/transfers"))
            rows.append(Row(id: "waiting-transfers-overdue", text: "Transfers sent with no receipt after five school days",
                            count: counts.transfersOverdue, href: "/transfers"))
        }
        if [.dsl, .deputy, .dpo].contains(principal.role) {
            rows.append(Row(id: "waiting-shreds", text: "Requests to destroy records, waiting for your side", count: counts.shredsToApprove,
                            href: "/retention/requests"))
        }
        if RoleApprovalPolicy.approvers.contains(principal.role) {
            rows.append(Row(id: "waiting-people", text: "People waiting for approval of their role", count: counts.peopleToApprove,
                            href: "/people/approvals"))
        }
        self.rows = rows
        hasRows = !rows.isEmpty
    }
}
