import Foundation
import Storage
import Vault

// What each console template reads. Mustache reads these by reflection; every value is
// escaped where the template places it. `title` and `script` are read by layout.mustache.

struct SignInPage {
    let title = "Sign in"
    let script = "sign-in.js"
    let signedInName: String? = nil
    let next: String
    let ended: Bool
}

struct EnrolPage {
    let title = "Set up how you sign in"
    let script = "enrol.js"
    let signedInName: String? = nil
    let name: String
    let role: String
    let schools: String
    let expires: String

    init(_ view: EnrolmentView) {
        name = view.name
        role = RoleName.text(view.role)
        schools = view.schools.sorted().joined(separator: ", ")
        expires = ConsoleDate.text(view.expiresAt)
    }
}

struct AccountPage {
    struct Session {
        let id: String
        let started: String
        let lastUsed: String
        let browser: String
        let address: String
        let current: Bool
    }

    let title = "Your account"
    let script = "account.js"
    let signedInName: String?
    let name: String
    let role: String
    let schools: String
    let sessions: [Session]
    let otherSessions: Bool
    let navigation: ConsoleNavigation

    init(_ principal: Principal, sessions: [SignInSession], current: String) {
        signedInName = principal.name
        navigation = ConsoleNavigation(principal, current: .account)
        name = principal.name
        role = RoleName.text(principal.role.rawValue)
        schools = principal.schools.sorted().joined(separator: ", ")
        // Newest first: the one a person is looking for is usually the one they just started.
        self.sessions = sessions.sorted { $0.createdAtMillis > $1.createdAtMillis }.map {
            Session(id: $0.handle, started: ConsoleDate.text(Date(timeIntervalSince1970: Double($0.createdAtMillis) / 1000)),
                    lastUsed: ConsoleDate.text(Date(timeIntervalSince1970: Double($0.lastSeenAtMillis) / 1000)),
                    browser: BrowserName.text($0.browser), address: $0.address, current: $0.handle == current)
        }
        otherSessions = sessions.contains { $0.handle != current }
    }
}

struct ConfirmPage {
    let title = "Confirm it is you"
    let script = "confirm.js"
    let next: String
    let signedInName: String?
    var navigation: ConsoleNavigation?
}

/// Roles as staff in English schools name them.
enum RoleName {
    static func text(_ role: String) -> String {
        switch Role(rawValue: role) {
        case .staff: "Staff"
        case .dsl: "Designated safeguarding lead (DSL)"
        case .deputy: "Deputy designated safeguarding lead (deputy DSL)"
        case .dpo: "Data protection officer (DPO)"
        case .backup: "Backup operator"
        case .admin: "Administrator"
        case nil: role
        }
    }
}
