import Foundation
import Storage

/// Who is calling a vault operation. Every public operation that acts for someone takes one,
/// and none takes an optional: there is no value that skips the role and school checks. A
/// person or an integration is checked against `AccessPolicy` and their schools; the operator
/// at the CLI holds the master key and acts under a name; a link holder has only their token.
public enum Caller: Sendable, Equatable {
    /// A person signed in with a session: a second factor was given when it began, and again
    /// at `session.factorAt` (step-up).
    case person(Principal, session: SessionFacts)
    /// An integration account's bearer token (no person, no second factor).
    case integration(Principal)
    /// The operator at the CLI, who holds the master key and acts under their `--actor` name.
    case `operator`(String)
    /// Someone holding a bundle link or receipt token, from an address (`RefusalSource`).
    case linkHolder(source: String)

    /// The signed-in person or integration, or nil for the operator and a link holder.
    public var principal: Principal? {
        switch self {
        case .person(let principal, _), .integration(let principal): principal
        case .operator, .linkHolder: nil
        }
    }

    /// A link holder's address, against which refusals of unknown links are counted; nil for
    /// anyone else (whose refusals are an event each).
    var linkSource: String? {
        if case .linkHolder(let source) = self { source } else { nil }
    }

    /// How the caller appears in audit events (docs/audit.md).
    public var actor: AuditActor {
        switch self {
        case .person(let principal, _), .integration(let principal): principal.actor
        case .operator(let name): .operator(name)
        case .linkHolder: .anonymous
        }
    }
}

/// What the vault knows of a person's session when they call: when it began and when they
/// last gave a second factor. Step-up asks for one within `SessionFacts.stepUpWindow`.
public struct SessionFacts: Sendable, Equatable {
    /// A public handle of the session (never the secret cookie value): the first 16 hex digits
    /// of its stored hash, enough to name it in an audit event or a list of sessions.
    public var handle: String
    /// When a second factor was last given in this session (sign-in or step-up).
    public var factorAt: Date

    public init(handle: String, factorAt: Date) {
        self.handle = handle
        self.factorAt = factorAt
    }
}

extension Vault {
    /// How long a second factor given in a session stands for the acts that ask for one again
    /// (downloading evidence, releasing a bundle, approving a shred, holds, changing users).
    public static let defaultStepUpWindow: TimeInterval = 300

    /// Checks `caller` may use `capability` in `school` (nil: no school named). A person or an
    /// integration is checked against their role and schools (and the denial audited); the
    /// operator may do anything (nil grant: no limit); a link holder may do nothing here.
    @discardableResult
    func requireCaller(_ capability: Capability, _ caller: Caller, school: String?) throws -> Grant? {
        switch caller {
        case .person(let principal, _), .integration(let principal):
            return try requireSchool(capability, principal, school: school)
        case .operator:
            return nil
        case .linkHolder:
            try audit(AuditEntry(actor: caller.actor, action: capability.auditAction, outcome: .denied, school: school,
                                 reason: "a link holder may not \(capability.rawValue)"))
            throw VaultError.forbidden("a link holder may not \(capability.rawValue)")
        }
    }

    /// The person or integration behind `caller`, for the acts that belong to someone with a
    /// role: holds and shreds, whose two-person rules compare who asked with who approves. The
    /// operator and a link holder are denied (and the denial audited); the caller still checks
    /// the role and the school.
    func requirePrincipal(_ capability: Capability, _ caller: Caller) throws -> Principal {
        guard let principal = caller.principal else {
            try audit(AuditEntry(actor: caller.actor, action: capability.auditAction, outcome: .denied,
                                 reason: "needs a person or an integration account with a role"))
            throw VaultError.forbidden("this needs a person signed in with a role that may \(capability.rawValue)")
        }
        return principal
    }

    /// The person or integration behind `caller`, or nil for the operator at the CLI (who may
    /// do what any role may, in any school); a link holder is denied (and the denial audited).
    func principalOrOperator(_ capability: Capability, _ caller: Caller) throws -> Principal? {
        if case .linkHolder = caller { try requireCaller(capability, caller, school: nil) }
        return caller.principal
    }

    /// Checks `caller` is the operator, for the acts before a store is open (creating one,
    /// restoring one), where there is no log yet to write a denial to.
    static func requireOperator(_ caller: Caller, _ act: String) throws {
        guard case .operator = caller else { throw VaultError.forbidden("only the operator at the command line may \(act)") }
    }

    /// Checks `caller` is the operator at the CLI, for the acts only they may do (keys, backups,
    /// verification, the whole audit log, people). Anyone else is denied, and the denial audited.
    func requireOperator(_ caller: Caller, _ action: AuditAction) throws {
        if case .operator = caller { return }
        try audit(AuditEntry(actor: caller.actor, action: action, outcome: .denied,
                             reason: "only the operator at the command line may \(action.rawValue)"))
        throw VaultError.forbidden("only the operator at the command line may do this (\(action.rawValue))")
    }

    /// Refuses a person whose last second factor is older than the step-up window; the
    /// refusal is audited (action `step-up`, outcome `refused`) and names the act.
    func requireRecentFactor(_ caller: Caller, for act: String) throws {
        guard case .person(let principal, let session) = caller else { return }
        let age = clock().timeIntervalSince(session.factorAt)
        guard age > sessionPolicy.stepUpWindow || age < -60 else { return }
        try audit(AuditEntry(actor: principal.actor, action: .stepUp, outcome: .refused,
                             reason: "\(act) needs a second factor within \(Int(sessionPolicy.stepUpWindow)) seconds (session \(session.handle))"))
        throw VaultError.stepUpRequired("\(act) needs you to confirm it is you: give a passkey or a code again")
    }
}

/// How long sessions last and how recent a second factor must be for the acts that ask again.
public struct SessionPolicy: Sendable, Equatable {
    /// A session unused this long ends.
    public var idleTimeout: TimeInterval = 30 * 60
    /// No session lasts longer than this, used or not.
    public var absoluteLimit: TimeInterval = 12 * 60 * 60
    /// How long a second factor stands for downloads, releases, approvals, holds and user changes.
    public var stepUpWindow: TimeInterval = Vault.defaultStepUpWindow

    public init() {}
}
