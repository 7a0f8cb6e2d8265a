import Foundation
import KeyManagement
import SignIn
import Storage

/// Who may give which role over the web, and who must agree (docs/people.md).
public enum RoleApprovalPolicy {
    /// Roles an administrator may give in the console. A backup operator is the operator's to add.
    public static let givenOnline: [Role] = [.staff, .dsl, .deputy, .dpo, .admin]
    /// Roles that read or govern a school's safeguarding records: given over the web, their
    /// enrolment link works only once a second person agrees.
    public static let needsSecondPerson: Set<Role> = [.dsl, .deputy, .dpo, .admin]
    /// Who may agree (or decline): a DSL or another administrator of one of the person's schools,
    /// never the one who asked.
    public static let approvers: Set<Role> = [.dsl, .admin]
}

/// Where a person stands, as the people page shows it.
public enum PersonState: String, Sendable {
    /// Has a way to sign in, and is not revoked.
    case active
    case revoked
    /// Added over the web with a role that needs a second person, who has not yet agreed.
    case waitingForApproval = "waiting-for-approval"
    /// The second person declined; the account was revoked with it.
    case declined
    /// Has an enrolment link that has not been used yet.
    case linkUnused = "link-unused"
    /// Has no way to sign in and no usable link (it expired): the operator issues a new one.
    case noSignIn = "no-sign-in"
    /// An integration account (a bearer token), not a person.
    case integration
}

/// A person (or integration) in the people list: never a secret, a code or a credential.
public struct PersonEntry: Sendable, Equatable {
    public let account: String
    public let name: String
    public let role: String
    public let schools: [String]
    public let state: PersonState
    /// "passkey", "passphrase", "totp": how they sign in.
    public let factors: [String]
    public let recoveryCodesLeft: Int
    public let lastSignIn: Date?
    public let addedAt: Date
}

/// A person just added in the console: the link is shown once, to the administrator who added
/// them; when `waitsForApproval`, it works only after a second person agrees.
public struct AddedPerson: Sendable {
    public let user: UserAccount
    public let token: String
    public let waitsForApproval: Bool
}

/// A request waiting for a second person, as an approver sees it.
public struct PendingApproval: Sendable, Equatable {
    public let account: String
    public let name: String
    public let role: String
    public let schools: [String]
    public let requestedBy: String
    public let requestedAt: Date
    /// The viewer asked for it themselves, so may not approve it.
    public let askedByViewer: Bool
}

extension Vault {
    /// An administrator signed in as a person (integrations and the operator are refused here:
    /// the operator has the CLI, and these acts need a second factor).
    func requireAdministrator(_ caller: Caller, _ action: AuditAction) throws -> Principal {
        guard case .person(let principal, _) = caller, principal.role == .admin else {
            try audit(AuditEntry(actor: caller.actor, action: action, outcome: .denied, reason: "needs an administrator signed in"))
            throw VaultError.forbidden("only an administrator signed in to the console may do this")
        }
        return principal
    }

    func addPersonOnline(name: String, role: Role, schools: [String], email: String? = nil, by caller: Caller) throws -> AddedPerson {
        let admin = try requireAdministrator(caller, .userAdd)
        let email = email.map { $0.trimmingCharacters(in: .whitespaces) }.flatMap { $0.isEmpty ? nil : $0 }
        if let email, !AlertAddress.isValid(email) {
            throw VaultError.invalidArgument("the email address must be like name@school.example, with no spaces")
        }
        guard RoleApprovalPolicy.givenOnline.contains(role) else {
            try audit(AuditEntry(actor: admin.actor, action: .userAdd, outcome: .denied, reason: "role \(role.rawValue) is given at the command line only"))
            throw VaultError.forbidden("a \(role.rawValue) account is added by the operator at the command line")
        }
        let unique = Array(Set(schools)).sorted()
        guard !unique.isEmpty else { throw VaultError.invalidArgument("choose at least one school") }
        guard unique.allSatisfy(admin.schools.contains) else {
            try audit(AuditEntry(actor: admin.actor, action: .userAdd, outcome: .denied, reason: "a school that is not the administrator's"))
            throw VaultError.forbidden("you may add people only to the schools you administer")
        }
        try requireRecentFactor(caller, for: "adding a person")
        guard RoleApprovalPolicy.needsSecondPerson.contains(role) else {
            let issued = try issuePerson(name: name, role: role, schools: unique, by: caller)
            if let email { try vaulting { try catalog.setPersonEmail(account: issued.user.id, address: email) } }
            return AddedPerson(user: issued.user, token: issued.token, waitsForApproval: false)
        }
        let keys = try requireKeys("user add")
        return try vaulting {
            try OpaqueID.validate(name, field: "user name")
            var user = UserAccount(
                name: name, role: role.rawValue, schools: unique, tokenHash: Data(SHA256Hasher.hash(randomPublicBytes(32))),
                createdAtMillis: nowMillis, createdBy: LogText.escape(admin.actor.description))
            let signer = try keys.auditSigner()
            user.signature = Data(try signer.sign(user.signedMessage(vaultID: vaultID)))
            // The link's token is made now and shown once; only its hash waits here. The signed
            // enrolment row that makes it work is written at approval.
            let token = Base64URL.encode(randomPublicBytes(32))
            let approval = RoleApproval(account: user.id, tokenHash: Self.tokenHash(token), requestedBy: admin.actor.description,
                                        requestedAccount: admin.account, requestedAtMillis: nowMillis)
            try catalog.addPendingPerson(
                user, approval: approval,
                event: AuditEntry(actor: admin.actor, action: .userAdd, outcome: .ok,
                                  reason: "person \(name) (account \(user.id)), role \(role.rawValue), schools \(unique.joined(separator: " ")); enrolment waits for a second person"),
                signer: signer)
            if let email { try catalog.setPersonEmail(account: user.id, address: email) }
            return AddedPerson(user: user, token: token, waitsForApproval: true)
        }
    }

    func people(by caller: Caller) throws -> [PersonEntry] {
        let admin = try requireAdministrator(caller, .userAdd)
        return try vaulting {
            let summaries = try signInSummaries()
            var entries: [PersonEntry] = []
            for user in try catalog.users() where !admin.schools.isDisjoint(with: user.schools) && verifiedUserRow(user) {
                let summary = summaries[user.id]
                let approval = try catalog.roleApproval(account: user.id)
                let factors = summary?.factors.map(\.kind) ?? []
                let state: PersonState
                if user.isRevoked {
                    state = approval?.state == .declined ? .declined : .revoked
                } else if approval?.state == .pending {
                    state = .waitingForApproval
                } else if !factors.isEmpty {
                    state = .active
                } else if summary?.enrolmentPending == true {
                    state = .linkUnused
                } else if summary?.kind == .integration {
                    state = .integration
                } else {
                    state = .noSignIn
                }
                entries.append(PersonEntry(
                    account: user.id, name: user.name, role: user.role, schools: user.schools, state: state, factors: factors,
                    recoveryCodesLeft: summary?.recoveryCodesLeft ?? 0, lastSignIn: summary?.lastSignIn,
                    addedAt: Date(millis: user.createdAtMillis)))
            }
            return entries
        }
    }

    func revokePerson(account: String, by caller: Caller) throws {
        let admin = try requireAdministrator(caller, .userRevoke)
        let keys = try requireKeys("user revoke")
        guard account != admin.account else {
            try audit(AuditEntry(actor: admin.actor, action: .userRevoke, outcome: .denied, reason: "an administrator may not revoke themselves"))
            throw VaultError.forbidden("you cannot remove your own access; ask another administrator")
        }
        guard UserAccount.isValidID(account), var user = try vaulting({ try catalog.user(account: account) }),
              !user.isRevoked, verifiedUserRow(user), !admin.schools.isDisjoint(with: user.schools) else {
            throw VaultError.notFound("no such person")
        }
        guard user.schools.allSatisfy(admin.schools.contains) else {
            try audit(AuditEntry(actor: admin.actor, action: .userRevoke, outcome: .denied,
                                 reason: "user \(LogText.escape(user.name)) (account \(user.id)) also works in schools the administrator does not administer"))
            throw VaultError.forbidden("this person also works in schools you do not administer; the operator can remove their access")
        }
        try requireRecentFactor(caller, for: "removing a person's access")
        try vaulting {
            // Signing a revoked row is safe whatever it held before: a revoked account grants nothing.
            user.revokedAtMillis = nowMillis
            user.signatureFormat = UserAccount.signatureFormat
            let signer = try keys.auditSigner()
            user.signature = Data(try signer.sign(user.signedMessage(vaultID: vaultID)))
            try catalog.revokeUser(
                user, event: AuditEntry(actor: admin.actor, action: .userRevoke, outcome: .ok,
                                        reason: "user \(LogText.escape(user.name)) (account \(user.id))"),
                signer: signer)
        }
    }

    func pendingApprovals(by caller: Caller) throws -> [PendingApproval] {
        let approver = try requireApprover(caller, .userApprove)
        return try vaulting {
            try catalog.pendingRoleApprovals().compactMap { approval -> PendingApproval? in
                guard let user = try catalog.user(account: approval.account), !user.isRevoked, verifiedUserRow(user),
                      !approver.schools.isDisjoint(with: user.schools), approval.account != approver.account else { return nil }
                return PendingApproval(account: user.id, name: user.name, role: user.role, schools: user.schools,
                                       requestedBy: approval.requestedBy, requestedAt: Date(millis: approval.requestedAtMillis),
                                       askedByViewer: approval.requestedAccount == approver.account)
            }
        }
    }

    /// How many requests wait for this approver (none of their own).
    func peopleWaiting(for approver: Principal) throws -> Int {
        guard RoleApprovalPolicy.approvers.contains(approver.role) else { return 0 }
        return try vaulting {
            try catalog.pendingRoleApprovals().filter { approval in
                guard approval.requestedAccount != approver.account, approval.account != approver.account,
                      let user = try catalog.user(account: approval.account), !user.isRevoked, verifiedUserRow(user) else { return false }
                return !approver.schools.isDisjoint(with: user.schools)
            }.count
        }
    }

    func decideRole(account: String, approve: Bool, by caller: Caller) throws {
        let action: AuditAction = approve ? .userApprove : .userDecline
        let approver = try requireApprover(caller, action)
        let keys = try requireKeys("a role approval")
        guard UserAccount.isValidID(account), let approval = try vaulting({ try catalog.roleApproval(account: account) }),
              var user = try vaulting({ try catalog.user(account: account) }), verifiedUserRow(user),
              !approver.schools.isDisjoint(with: user.schools) else {
            throw VaultError.notFound("no such request")
        }
        let who = "person \(LogText.escape(user.name)) (account \(user.id)), role \(user.role)"
        guard approval.requestedAccount != approver.account, approval.account != approver.account else {
            try audit(AuditEntry(actor: approver.actor, action: action, outcome: .denied, reason: "\(who): asked for by the same person"))
            throw VaultError.forbidden("someone other than the person who asked must decide this")
        }
        guard approval.state == .pending, !user.isRevoked else {
            throw VaultError.conflict("this request has already been decided, or the person's access was removed")
        }
        try requireRecentFactor(caller, for: approve ? "approving a person's role" : "declining a person's role")
        var decided = approval
        decided.state = approve ? .approved : .declined
        decided.decidedBy = approver.actor.description
        decided.decidedAccount = approver.account
        decided.decidedAtMillis = nowMillis
        let signer = try keys.auditSigner()
        let event = AuditEntry(actor: approver.actor, action: action, outcome: .ok,
                               reason: "\(who), schools \(user.schools.joined(separator: " ")); asked by \(approval.requestedBy)")
        do {
            try vaulting {
                if approve {
                    var enrolment = Enrolment(tokenHash: approval.tokenHash, account: user.id, createdAtMillis: nowMillis,
                                              expiresAtMillis: nowMillis + Int64(Self.enrolmentLifetime * 1000))
                    enrolment.signature = Data(try signer.sign(enrolment.signedMessage(vaultID: vaultID)))
                    try catalog.approveRole(decided, enrolment: enrolment, event: event, signer: signer)
                } else {
                    user.revokedAtMillis = nowMillis
                    user.signatureFormat = UserAccount.signatureFormat
                    user.signature = Data(try signer.sign(user.signedMessage(vaultID: vaultID)))
                    try catalog.declineRole(decided, revoked: user, event: event, signer: signer)
                }
            }
        } catch VaultError.storage(.lifecycleConflict(let why)) {
            throw VaultError.conflict(why)
        }
    }

    /// A DSL or administrator signed in as a person.
    func requireApprover(_ caller: Caller, _ action: AuditAction) throws -> Principal {
        guard case .person(let principal, _) = caller, RoleApprovalPolicy.approvers.contains(principal.role) else {
            try audit(AuditEntry(actor: caller.actor, action: action, outcome: .denied, reason: "needs a DSL or an administrator signed in"))
            throw VaultError.forbidden("only a DSL or an administrator signed in to the console may decide this")
        }
        return principal
    }

    /// Refuses a link that waits for a second person with its own answer, so the person holding
    /// it knows to wait rather than ask for a new one. Anything else falls through.
    func refuseWaitingEnrolment(_ token: String) throws {
        guard token.utf8.count == 43,
              let approval = try vaulting({ try catalog.roleApproval(tokenHash: Self.tokenHash(token)) }), approval.state == .pending,
              let user = try vaulting({ try catalog.user(account: approval.account) }), !user.isRevoked, verifiedUserRow(user)
        else { return }
        throw VaultError.signIn(.enrolmentAwaitingApproval)
    }
}

/// An address alerts may be sent to: printable ASCII with one `@` and something either side,
/// no space, angle bracket, backslash or line break (so it cannot add an SMTP command or a
/// header), at most 254 characters.
public enum AlertAddress {
    public static func isValid(_ address: String) -> Bool {
        let bytes = Array(address.utf8)
        guard (3...254).contains(bytes.count), bytes.filter({ $0 == UInt8(ascii: "@") }).count == 1,
              bytes.first != UInt8(ascii: "@"), bytes.last != UInt8(ascii: "@") else { return false }
        return bytes.allSatisfy { $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "<") && $0 != UInt8(ascii: ">") && $0 != UInt8(ascii: "\\") }
    }
}

extension Vault {
    /// Each active person with an alert address, with what waits for them now: what the alert
    /// mailer compares with what waited before. The operator's housekeeping: no caller.
    func alertTargets() throws -> [(account: String, address: String, counts: WaitingCounts)] {
        let addresses = try vaulting { try catalog.personEmails() }
        guard !addresses.isEmpty else { return [] }
        // A person whose role still waits for a second person can act on nothing yet.
        let waitingForApproval = Set(try vaulting { try catalog.pendingRoleApprovals() }.map(\.account))
        var out: [(account: String, address: String, counts: WaitingCounts)] = []
        for user in try vaulting({ try catalog.users() }) where !user.isRevoked && !waitingForApproval.contains(user.id) {
            guard let address = addresses[user.id], verifiedUserRow(user), let principal = Principal(user) else { continue }
            out.append((user.id, address, try waiting(by: .integration(principal))))
        }
        return out
    }
}
