import Foundation
import Storage
import Vault

// What the people pages' templates read: the people list, adding a person (a form, then
// "check your answers"), removing one, and the roles waiting for a second person. Every value
// is escaped where the template places it.

/// Where a person stands, in the words the people page uses.
enum PersonStateText {
    static func text(_ state: PersonState) -> String {
        switch state {
        case .active: "Active"
        case .revoked: "Access removed"
        case .waitingForApproval: "Waiting for approval"
        case .declined: "Declined"
        case .linkUnused: "Link not used yet"
        case .noSignIn: "Link expired"
        case .integration: "Integration"
        }
    }

    /// How they sign in: "Passkey", "Passphrase and authenticator app (7 recovery codes left)".
    static func signIn(_ person: PersonEntry) -> String {
        var ways: [String] = []
        if person.factors.contains("passkey") { ways.append("Passkey") }
        if person.factors.contains("passphrase") || person.factors.contains("totp") {
            let codes = person.recoveryCodesLeft == 1 ? "1 recovery code left" : "\(person.recoveryCodesLeft) recovery codes left"
            ways.append("Passphrase and authenticator app (\(codes))")
        }
        if person.state == .integration { return "Access token" }
        return ways.isEmpty ? "Not set up" : ways.joined(separator: "; ")
    }
}

struct PeoplePage {
    struct Row {
        let name: String
        let role: String
        let schools: String
        let signIn: String
        let lastSignIn: String
        let state: String
        let removeHref: String?
    }

    let title = "People"
    let script = "header.js"
    let signedInName: String?
    let navigation: ConsoleNavigation
    let rows: [Row]
    let notice: String?

    init(_ principal: Principal, people: [PersonEntry], notice: String?) {
        signedInName = principal.name
        navigation = ConsoleNavigation(principal, current: .people)
        rows = people.sorted { ($0.name, $0.addedAt) < ($1.name, $1.addedAt) }.map { p in
            let removable = p.account != principal.account && p.state != .revoked && p.state != .declined
                && p.schools.allSatisfy(principal.schools.contains)
            return Row(name: p.name, role: RoleName.text(p.role), schools: p.schools.joined(separator: ", "),
                       signIn: PersonStateText.signIn(p), lastSignIn: p.lastSignIn.map(ConsoleDate.text) ?? "Never",
                       state: PersonStateText.text(p.state), removeHref: removable ? "/people/\(p.account)/remove" : nil)
        }
        self.notice = notice
    }
}

/// A role an administrator may give, as a radio button.
struct RoleOption {
    let value: String
    let text: String
    let hint: String?
    let checked: Bool

    static func all(checked: String?) -> [RoleOption] {
        RoleApprovalPolicy.givenOnline.map { role in
            RoleOption(value: role.rawValue, text: RoleName.text(role.rawValue),
                       hint: RoleApprovalPolicy.needsSecondPerson.contains(role)
                           ? "Their link works only once a DSL or another administrator agrees." : nil,
                       checked: role.rawValue == checked)
        }
    }
}

struct PersonSchoolChoice {
    let id: String
    let checked: Bool
}

/// The add-a-person form, and what was wrong with it.
struct AddPersonPage {
    let title = "Add a person"
    let script = "header.js"
    let signedInName: String?
    let navigation: ConsoleNavigation
    let name: String
    let email: String
    let roles: [RoleOption]
    let schools: [PersonSchoolChoice]
    let errors: [FieldError]
    let hasErrors: Bool
    let nameError: String?
    let emailError: String?
    let roleError: String?
    let schoolsError: String?

    init(_ principal: Principal, name: String, email: String = "", role: String?, schools: Set<String>, errors: [FieldError]) {
        signedInName = principal.name
        navigation = ConsoleNavigation(principal, current: .people)
        self.name = name
        self.email = email
        emailError = errors.first { $0.field == "email" }?.text
        roles = RoleOption.all(checked: role)
        self.schools = principal.schools.sorted().map { PersonSchoolChoice(id: $0, checked: schools.contains($0) || principal.schools.count == 1) }
        self.errors = errors
        hasErrors = !errors.isEmpty
        nameError = errors.first { $0.field == "name" }?.text
        roleError = errors.first { $0.field == "role-staff" }?.text
        schoolsError = errors.first { $0.field.hasPrefix("school-") }?.text
    }
}

/// "Check your answers" before adding: then the link, shown once, by the page's script.
struct CheckPersonPage {
    let title = "Check before adding this person"
    let script = "people-add.js"
    let signedInName: String?
    let navigation: ConsoleNavigation
    let name: String
    let role: String
    let roleText: String
    let schools: String
    let schoolsText: String
    let email: String
    let emailText: String
    let waits: Bool
    let changeHref: String

    init(_ principal: Principal, name: String, role: Role, schools: [String], email: String, changeHref: String) {
        self.email = email
        emailText = email.isEmpty ? "None: no alert emails" : email
        signedInName = principal.name
        navigation = ConsoleNavigation(principal, current: .people)
        self.name = name
        self.role = role.rawValue
        roleText = RoleName.text(role.rawValue)
        self.schools = schools.joined(separator: " ")
        schoolsText = schools.joined(separator: ", ")
        waits = RoleApprovalPolicy.needsSecondPerson.contains(role)
        self.changeHref = changeHref
    }
}

struct RemovePersonPage {
    let title = "Remove this person's access"
    let script = "people-remove.js"
    let signedInName: String?
    let navigation: ConsoleNavigation
    let account: String
    let name: String
    let role: String
    let schools: String

    init(_ principal: Principal, person: PersonEntry) {
        signedInName = principal.name
        navigation = ConsoleNavigation(principal, current: .people)
        account = person.account
        name = person.name
        role = RoleName.text(person.role)
        schools = person.schools.joined(separator: ", ")
    }
}

struct ApprovalsPage {
    struct Row {
        let name: String
        let role: String
        let schools: String
        let askedBy: String
        let askedAt: String
        let href: String?
    }

    let title = "People waiting for approval"
    let script = "header.js"
    let signedInName: String?
    let navigation: ConsoleNavigation
    let rows: [Row]
    let hasRows: Bool
    let notice: String?

    init(_ principal: Principal, approvals: [PendingApproval], notice: String?) {
        signedInName = principal.name
        navigation = ConsoleNavigation(principal, current: principal.role == .admin ? .people : .waiting)
        rows = approvals.map {
            Row(name: $0.name, role: RoleName.text($0.role), schools: $0.schools.joined(separator: ", "),
                askedBy: ReadingText.person($0.requestedBy), askedAt: ConsoleDate.text($0.requestedAt),
                href: $0.askedByViewer ? nil : "/people/approvals/\($0.account)")
        }
        hasRows = !rows.isEmpty
        self.notice = notice
    }
}

/// "Check before deciding": who, which role and schools, who asked; Approve or Decline.
struct ApprovalPage {
    let title = "Approve or decline this role"
    let script = "people-approval.js"
    let signedInName: String?
    let navigation: ConsoleNavigation
    let account: String
    let name: String
    let role: String
    let schools: String
    let askedBy: String
    let askedAt: String

    init(_ principal: Principal, approval: PendingApproval) {
        signedInName = principal.name
        navigation = ConsoleNavigation(principal, current: principal.role == .admin ? .people : .waiting)
        account = approval.account
        name = approval.name
        role = RoleName.text(approval.role)
        schools = approval.schools.joined(separator: ", ")
        askedBy = ReadingText.person(approval.requestedBy)
        askedAt = ConsoleDate.text(approval.requestedAt)
    }
}
