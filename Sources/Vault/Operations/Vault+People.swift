import Foundation
import Storage

extension Vault {
    /// People administration in the console: administrators add and remove people of their own
    /// schools; a role that reads or governs safeguarding records waits for a second person
    /// (`RoleApprovalPolicy`); and what waits for each person, counted.
    public var people: People { People(vault: self) }

    /// People administration in the console, and what waits for each person.
    public struct People: Sendable {
        let vault: Vault

        /// Adds a person to some of the administrator's own schools (stepped up, audited). The
        /// link is returned once; for a DSL, deputy, DPO or administrator it works only once a
        /// DSL or another administrator of one of those schools approves.
        /// `email`, when given, is where alerts that something waits for them are sent.
        public func add(name: String, role: Role, schools: [String], email: String? = nil, by caller: Caller) throws -> AddedPerson {
            try vault.addPersonOnline(name: name, role: role, schools: schools, email: email, by: caller)
        }

        /// The people of the administrator's schools, with how they sign in and where they stand.
        public func list(by caller: Caller) throws -> [PersonEntry] {
            try vault.people(by: caller)
        }

        /// Revokes a person of the administrator's schools (stepped up, audited); never oneself.
        public func revoke(account: String, by caller: Caller) throws {
            try vault.revokePerson(account: account, by: caller)
        }

        /// Requests waiting for a second person that the caller (a DSL or administrator) may see.
        public func approvals(by caller: Caller) throws -> [PendingApproval] {
            try vault.pendingApprovals(by: caller)
        }

        /// Agrees to a waiting request: the person's link starts to work (stepped up, audited).
        public func approve(account: String, by caller: Caller) throws {
            try vault.decideRole(account: account, approve: true, by: caller)
        }

        /// Declines a waiting request: the person's account is revoked (stepped up, audited).
        public func decline(account: String, by caller: Caller) throws {
            try vault.decideRole(account: account, approve: false, by: caller)
        }

        /// Each active person with an alert address and what waits for them now (counts only).
        public func alertTargets() throws -> [(account: String, address: String, counts: WaitingCounts)] {
            try vault.alertTargets()
        }

        /// How many things wait for the caller: counts only.
        public func waiting(by caller: Caller) throws -> WaitingCounts {
            try vault.waiting(by: caller)
        }
    }
}

extension Vault.Bundles {
    /// Removes an agency from a school's directory (audited).
    public func removeRecipient(school: String, name: String, by caller: Caller) throws {
        try vault.removeRecipient(school: school, name: name, by: caller)
    }
}
