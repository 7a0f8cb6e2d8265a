import Foundation
import KeyManagement

/// What a caller asks the audit log to record. The log adds the sequence number, the system
/// time, the link to the previous event and the hash. No file content and no filenames belong
/// here; control characters in any value are escaped before it is stored.
public struct AuditEntry: Sendable, Equatable {
    public var actor: String
    public var action: String
    public var outcome: AuditOutcome
    public var school: String?
    public var child: String?
    public var concern: String?
    public var record: String?
    public var reason: String?

    public init(
        actor: String, action: String, outcome: AuditOutcome, school: String? = nil, child: String? = nil,
        concern: String? = nil, record: String? = nil, reason: String? = nil
    ) {
        self.actor = actor
        self.action = action
        self.outcome = outcome
        self.school = school
        self.child = child
        self.concern = concern
        self.record = record
        self.reason = reason
    }
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

    /// The first event's previous hash binds the log to its vault.
    public static func genesisHash(vaultID: String) -> [UInt8] {
        var b = Binding(label: "strongroom/v1/audit-genesis")
        b.append(vaultID)
        return SHA256Hasher.hash(b.bytes)
    }

    public var time: Date { Date(timeIntervalSince1970: Double(timeMillis) / 1000) }
}

public enum LogText {
    /// Escapes control characters (C0, DEL, C1 and Unicode line/paragraph separators) so no
    /// logged value can forge a line or a terminal sequence.
    public static func escape(_ value: String) -> String {
        var out = ""
        for scalar in value.unicodeScalars {
            let v = scalar.value
            if v < 0x20 || v == 0x7f || (0x80...0x9f).contains(v) || v == 0x2028 || v == 0x2029 || scalar == "\\" {
                out += scalar == "\\" ? "\\\\" : String(format: "\\u{%X}", v)
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
}
