import Storage

/// Who may do what over HTTP: the single source of truth. The server asks it, the README
/// prints it (`AccessPolicy.markdownTable`), and the tests walk every cell.
public enum Role: String, CaseIterable, Sendable, Codable {
    case staff, dsl, deputy, dpo, backup, admin
}

/// What a request does to evidence.
public enum Capability: String, CaseIterable, Sendable {
    case upload
    /// List records (a child's chronology).
    case list
    /// Read a record's metadata.
    case metadata
    /// Read a record's content.
    case download
    /// Look at a record's content as the server draws it (an image, a PDF page, its text).
    case preview
    /// Read a record's audit trail.
    case audit
    /// Record a child's date of birth (which sets their records' review dates).
    case setDOB = "set-dob"
    /// List what is due for retention review.
    case retention
    /// Place legal holds, and ask for or approve their release (two different people: see `HoldReleasePolicy`).
    case hold
    /// Request a shred, or approve another person's request (the two must differ: see `ShredPolicy`).
    case shred
    /// Keep the school's directory of agencies evidence is shared with (and, later, share bundles).
    case share
    /// Set a child's label or a concern's title (display names for the opaque ids).
    case label
    /// Send a child's file to another school, receive one, and keep the directory of schools.
    case transfer

    /// The action name its audit events carry.
    public var auditAction: AuditAction {
        switch self {
        case .upload: .put
        case .list: .list
        case .metadata: .show
        case .download: .get
        case .preview: .view
        case .audit: .auditTrail
        case .setDOB: .setDOB
        case .retention: .retentionDue
        case .hold: .hold
        case .shred: .shred
        case .share: .share
        case .label: .labelSet
        case .transfer: .transferCreate
        }
    }
}

public enum Grant: Sendable, Equatable {
    /// On every record of the user's schools.
    case schools
    /// Only on records the user uploaded themselves (in their schools).
    case ownUploads
    case denied
}

public enum AccessPolicy {
    /// Always within the user's own schools.
    public static let table: [Role: [Capability: Grant]] = [
        .staff: [.upload: .schools, .list: .ownUploads, .metadata: .ownUploads, .download: .denied, .audit: .denied],
        .dsl: [.upload: .schools, .list: .schools, .metadata: .schools, .download: .schools, .preview: .schools, .audit: .schools,
               .setDOB: .schools, .retention: .schools, .hold: .schools, .shred: .schools, .share: .schools, .label: .schools,
               .transfer: .schools],
        .deputy: [.upload: .schools, .list: .schools, .metadata: .schools, .download: .schools, .preview: .schools, .audit: .schools,
                  .setDOB: .schools, .retention: .schools, .hold: .schools, .shred: .schools, .share: .schools, .label: .schools,
                  .transfer: .schools],
        .dpo: [.upload: .denied, .list: .schools, .metadata: .schools, .download: .denied, .audit: .schools,
               .retention: .schools, .hold: .schools, .shred: .schools],
        .backup: [.upload: .denied, .list: .denied, .metadata: .denied, .download: .denied, .audit: .denied],
        .admin: [.upload: .denied, .list: .denied, .metadata: .denied, .download: .denied, .audit: .denied],
    ]

    public static func grant(_ role: Role, _ capability: Capability) -> Grant {
        table[role]?[capability] ?? .denied
    }

    /// The table as Markdown, for the README.
    public static var markdownTable: String {
        let caps = Capability.allCases
        var out = "| role | " + caps.map(\.rawValue).joined(separator: " | ") + " |\n"
        out += "| --- |" + String(repeating: " --- |", count: caps.count) + "\n"
        for role in Role.allCases {
            let cells = caps.map { cap -> String in
                switch grant(role, cap) {
                case .schools: "yes"
                case .ownUploads: "own uploads"
                case .denied: "no"
                }
            }
            out += "| \(role.rawValue) | " + cells.joined(separator: " | ") + " |\n"
        }
        return out
    }
}

/// An authenticated user, as the vault sees them on a request.
public struct Principal: Sendable, Equatable {
    public var name: String
    public var role: Role
    public var schools: Set<String>
    /// The user account's id (`UserAccount.id`): who they are. A name revoked and added again is
    /// another account, so everything that belongs to a person (own uploads, a request they made)
    /// is decided by this, never by the name.
    public var account: String

    public init(name: String, role: Role, schools: Set<String>, account: String) {
        self.name = name
        self.role = role
        self.schools = schools
        self.account = account
    }

    /// How the user appears in audit events and as a record's `createdBy`: the name and the first
    /// 8 hex digits of the account id, so two accounts that held one name are told apart
    /// (docs/audit.md).
    public var actor: AuditActor { .user(name: name, account: account) }
}
