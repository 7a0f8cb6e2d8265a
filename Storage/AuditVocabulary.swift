/// What an audit event records that someone did. Every action the vault writes is one case, and
/// docs/audit.md describes each (a test holds the two together). The raw value is what the log
/// stores and hashes, so a case's raw value never changes once released.
public enum AuditAction: String, CaseIterable, Sendable {
    // The store
    case `init`, verify, gc, checkpoint
    case auditRead = "audit-read"
    case auditWitness = "audit-witness"
    case signRefused = "sign-refused"
    // Evidence
    case put, get, show, list, view, print
    case auditTrail = "audit-trail"
    case labelSet = "label-set"
    case labelRead = "label-read"
    // People and sign-in
    case authenticate
    case userAdd = "user-add"
    case userRevoke = "user-revoke"
    case userReset = "user-reset"
    case userMigrate = "user-migrate"
    case userApprove = "user-approve"
    case userDecline = "user-decline"
    case enrol
    case signIn = "sign-in"
    case signInFailed = "sign-in-failed"
    case signOut = "sign-out"
    case sessionEnd = "session-end"
    case stepUp = "step-up"
    case csrf
    // Retention, holds and shredding
    case setDOB = "set-dob"
    case setDOBPreview = "set-dob-preview"
    case retentionDue = "retention-due"
    case hold
    case holdPlace = "hold-place"
    case holdReleaseRequest = "hold-release-request"
    case holdRelease = "hold-release"
    case holdList = "hold-list"
    case shredRequest = "shred-request"
    case shredApprove = "shred-approve"
    case shred
    case shredCertificate = "shred-certificate"
    case shredReplay = "shred-replay"
    case shredList = "shred-list"
    case shredWithdraw = "shred-withdraw"
    case oversightView = "oversight-view"
    // Keys
    case kekCreate = "kek-create"
    case kekRotateStart = "kek-rotate-start"
    case kekRotate = "kek-rotate"
    case kekDestroy = "kek-destroy"
    case masterRotate = "master-rotate"
    // Sharing
    case recipientAdd = "recipient-add"
    case recipientList = "recipient-list"
    case recipientRemove = "recipient-remove"
    case share
    case bundleCreate = "bundle-create"
    case bundleApprove = "bundle-approve"
    case bundleBuild = "bundle-build"
    case bundleRelease = "bundle-release"
    case bundleDownload = "bundle-download"
    case bundleReceipt = "bundle-receipt"
    case bundleRevoke = "bundle-revoke"
    case bundleExport = "bundle-export"
    case bundleList = "bundle-list"
    case bundleShow = "bundle-show"
    case bundleReturn = "bundle-return"

    case transferCard = "transfer-card"
    case schoolTrust = "school-trust"
    case schoolList = "school-list"
    case transferCreate = "transfer-create"
    case transferApprove = "transfer-approve"
    case transferSend = "transfer-send"
    case transferDownload = "transfer-download"
    case transferImport = "transfer-import"
    case transferReceipt = "transfer-receipt"
    case transferList = "transfer-list"
    case transferShow = "transfer-show"
    case transferRule = "transfer-rule"
    // Backups
    case keysBackup = "keys-backup"
    case ledgerExport = "ledger-export"
    case backupCreate = "backup-create"
    case backupPrune = "backup-prune"
    case backupVerify = "backup-verify"
    case restore
    case migrate
}

/// Who an audit event names as having acted. The log stores `description`; docs/audit.md
/// lists the forms.
public enum AuditActor: Sendable, Equatable, CustomStringConvertible {
    /// A person or an integration account: its name and the first 8 hex digits of its account
    /// id (`user:NAME#ID8`), so two accounts that held one name are told apart.
    case user(name: String, account: String)
    /// The operator at the CLI, under the name they gave (`--actor`).
    case `operator`(String)
    /// Someone holding a bundle's link (`link:BUNDLE`).
    case link(bundle: String)
    /// A request from no known caller.
    case anonymous
    /// The vault itself, in work no one asked for at that moment (a migration, a key period).
    case system
    /// A keyed process refusing to sign over a log that failed its proof.
    case vault
    /// An actor as a stored row names them (who approved a shred, say), written again in a
    /// later event exactly as it was first recorded.
    case recorded(String)

    public var description: String {
        switch self {
        case .user(let name, let account): "user:\(name)#\(account.prefix(8))"
        case .operator(let name): name
        case .link(let bundle): "link:\(bundle)"
        case .anonymous: "anonymous"
        case .system: "system"
        case .vault: "vault"
        case .recorded(let text): text
        }
    }
}

extension AuditEntry {
    /// An event of `action` by `actor`.
    public init(
        actor: AuditActor, action: AuditAction, outcome: AuditOutcome, school: String? = nil, child: String? = nil,
        concern: String? = nil, record: String? = nil, reason: String? = nil
    ) {
        self.init(actor: actor.description, action: action.rawValue, outcome: outcome, school: school, child: child,
                  concern: concern, record: record, reason: reason)
    }
}
