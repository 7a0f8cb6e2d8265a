import Foundation
import KeyManagement

/// What a caller asks the audit log to record. The log adds the sequence number, the system
/// time, the link to the previous event and the hash. No file content and no filenames belong
/// here; control characters in any value are escaped before it is stored. Every value is held
/// to its bound in `AuditLimits` as it is set, so no entry can grow the log without limit.
public struct AuditEntry: Sendable, Equatable {
    public var actor: String { didSet { actor = AuditLimits.bounded(actor, to: AuditLimits.actor) } }
    public var action: String { didSet { action = AuditLimits.bounded(action, to: AuditLimits.action) } }
    public var outcome: AuditOutcome
    public var school: String? { didSet { school = Self.id(school) } }
    public var child: String? { didSet { child = Self.id(child) } }
    public var concern: String? { didSet { concern = Self.id(concern) } }
    public var record: String? { didSet { record = Self.id(record) } }
    public var reason: String? { didSet { reason = reason.map { AuditLimits.bounded($0, to: AuditLimits.reason) } } }

    /// Only Storage writes an entry from bare strings (its own `sign-refused`, tests); the
    /// vault names actors and actions by `AuditActor` and `AuditAction`.
    init(
        actor: String, action: String, outcome: AuditOutcome, school: String? = nil, child: String? = nil,
        concern: String? = nil, record: String? = nil, reason: String? = nil
    ) {
        // Observers do not run in an initialiser: the bounds are applied here too.
        self.actor = AuditLimits.bounded(actor, to: AuditLimits.actor)
        self.action = AuditLimits.bounded(action, to: AuditLimits.action)
        self.outcome = outcome
        self.school = Self.id(school)
        self.child = Self.id(child)
        self.concern = Self.id(concern)
        self.record = Self.id(record)
        self.reason = reason.map { AuditLimits.bounded($0, to: AuditLimits.reason) }
    }

    private static func id(_ value: String?) -> String? { value.map { AuditLimits.bounded($0, to: AuditLimits.identifier) } }
}

public enum AuditOutcome: String, Sendable, Codable { case ok, refused, denied, failed }

/// An event as stored: the entry plus sequence number (from 1), time, previous hash and hash.
public struct AuditEvent: Sendable, Equatable {
    public var sequence: Int64
    public var timeMillis: Int64
    public var actor: String
    public var action: String
    public var outcome: String
    public var school: String?
    public var child: String?
    public var concern: String?
    public var record: String?
    public var reason: String?
    public var previousHash: [UInt8]
    public var hash: [UInt8]

    public init(
        sequence: Int64, timeMillis: Int64, actor: String, action: String, outcome: String, school: String?, child: String?,
        concern: String?, record: String?, reason: String?, previousHash: [UInt8], hash: [UInt8]
    ) {
        self.sequence = sequence
        self.timeMillis = timeMillis
        self.actor = actor
        self.action = action
        self.outcome = outcome
        self.school = school
        self.child = child
        self.concern = concern
        self.record = record
        self.reason = reason
        self.previousHash = previousHash
        self.hash = hash
    }

    public static let label = "strongroom/v1/audit-event"

    /// The leaf bytes (docs/audit.md): every field, length-prefixed, after a domain label.
    /// Absent optional fields encode as empty strings (ids are never empty).
    public var canonicalBytes: [UInt8] {
        var b = Binding(label: Self.label)
        b.append(UInt64(bitPattern: sequence))
        b.append(UInt64(bitPattern: timeMillis))
        b.append(actor)
        b.append(action)
        b.append(outcome)
        b.append(school ?? "")
        b.append(child ?? "")
        b.append(concern ?? "")
        b.append(record ?? "")
        b.append(reason ?? "")
        b.append(previousHash)
        return b.bytes
    }

    /// The event's hash, which is also its RFC 9162 leaf hash.
    public var computedHash: [UInt8] { AuditTree.leafHash(canonicalBytes) }

    /// What the verifier needs of this event.
    public var link: AuditLink {
        AuditLink(sequence: sequence, previousHash: previousHash, hash: hash, contentHash: computedHash)
    }

    /// The first event's previous hash binds the log to its vault.
    public static func genesisHash(vaultID: String) -> [UInt8] {
        var b = Binding(label: "strongroom/v1/audit-genesis")
        b.append(vaultID)
        return SHA256Hasher.hash(b.bytes)
    }

    public var time: Date { Date(timeIntervalSince1970: Double(timeMillis) / 1000) }
}

/// The parts of a stored event that `audit verify` checks: its sequence number, the stored
/// links, and the hash recomputed from its content.
extension AuditEvent {
    /// Actions only a process holding the vault key can take (they wrap or unwrap keys, or sign
    /// rows). Such a process signs a checkpoint in the same transaction as the event, so one of
    /// these that no checkpoint covers means the log after the last checkpoint was rewritten
    /// (or its checkpoints deleted) by someone without the key. Keyless work (backups, gc,
    /// ledger export, a restore's replay, verify without keys) is not listed: it is appended
    /// unsigned, and the next keyed append covers it.
    public static let keyedActions: [AuditAction] = [
        .`init`, .put, .get, .kekCreate, .kekDestroy, .kekRotateStart, .kekRotate, .masterRotate, .userAdd, .userRevoke, .userMigrate, .shred, .shredCertificate, .holdPlace, .holdReleaseRequest, .holdRelease, .setDOB, .bundleApprove, .bundleRelease, .share, .auditWitness,
    ]

    static let keyedActionsSQL = keyedActions.map { "'\($0.rawValue)'" }.joined(separator: ", ")
}

public struct AuditLink: Sendable, Equatable {
    public var sequence: Int64
    public var previousHash: [UInt8]
    public var hash: [UInt8]
    public var contentHash: [UInt8]
}

/// Computes an event's leaf hash straight from its field bytes, in the encoding of
/// `AuditEvent.canonicalBytes`, reusing one buffer: `audit verify` hashes a million events
/// without building a string or an array per field. Tests hold it equal to `canonicalBytes`.
struct AuditLeafHasher {
    private var buffer: [UInt8] = []
    private let labelField: [UInt8]

    init() {
        labelField = Binding(label: AuditEvent.label).bytes
        buffer.reserveCapacity(1024)
    }

    mutating func begin(sequence: Int64, timeMillis: Int64) {
        buffer.removeAll(keepingCapacity: true)
        buffer.append(0x00)  // RFC 9162 leaf prefix
        buffer.append(contentsOf: labelField)
        append(UInt64(bitPattern: sequence))
        append(UInt64(bitPattern: timeMillis))
    }

    mutating func append(_ value: UInt64) {
        buffer.append(contentsOf: [0, 0, 0, 8] as [UInt8])
        for shift in stride(from: 56, through: 0, by: -8) { buffer.append(UInt8(truncatingIfNeeded: value >> UInt64(shift))) }
    }

    /// One length-prefixed field; an absent field (nil) encodes as empty.
    mutating func append(_ field: UnsafeRawBufferPointer?) {
        let n = UInt32(field?.count ?? 0)
        buffer.append(UInt8(truncatingIfNeeded: n >> 24))
        buffer.append(UInt8(truncatingIfNeeded: n >> 16))
        buffer.append(UInt8(truncatingIfNeeded: n >> 8))
        buffer.append(UInt8(truncatingIfNeeded: n))
        if let field, n > 0 { buffer.append(contentsOf: field) }
    }

    func finish() -> [UInt8] {
        buffer.withUnsafeBytes { bytes in
            var h = SHA256Hasher()
            h.update(bytes)
            return h.finalize()
        }
    }
}

public enum LogText {
    /// Escapes control characters (C0, DEL, C1 and Unicode line/paragraph separators) so no
    /// logged value can forge a line or a terminal sequence.
    public static func escape(_ value: String) -> String {
        guard value.unicodeScalars.contains(where: needsEscape) else { return value }
        var out = ""
        for scalar in value.unicodeScalars {
            if needsEscape(scalar) {
                out += scalar == "\\" ? "\\\\" : String(format: "\\u{%X}", scalar.value)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    /// Control characters, line separators and the backslash: what no logged value or stored
    /// filename may carry as is.
    public static func needsEscape(_ scalar: Unicode.Scalar) -> Bool {
        let v = scalar.value
        return v < 0x20 || v == 0x7f || (0x80...0x9f).contains(v) || v == 0x2028 || v == 0x2029 || scalar == "\\"
    }
}
