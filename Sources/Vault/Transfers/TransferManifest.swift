import Foundation
import KeyManagement
import Storage

/// A transfer package's `manifest.json` (docs/transfers.md): the child, every record with its
/// SHA-256, holds and shares, who sent it, and the SHA-256 of the package's other files. Signed,
/// as its exact bytes, in `manifest.json.minisig` by the sending vault's Ed25519 key.
struct TransferManifest: Codable, Equatable {
    static let formatName = "strongroom-transfer/1"

    struct Sender: Codable, Equatable {
        var school: String
        var name: String
        var signingKey: String
        var fingerprint: String
    }
    struct Receiver: Codable, Equatable {
        var school: String
        var name: String
        var fingerprint: String
    }
    struct Child: Codable, Equatable {
        var id: String
        var label: String?
        var dateOfBirth: String?
    }
    struct Person: Codable, Equatable { var actor: String; var at: String }
    struct HoldInfo: Codable, Equatable {
        var id: String
        var scope: String
        var reason: String
        var placedBy: String
        var placedAt: String
    }
    struct Record: Codable, Equatable {
        var path: String
        var record: String
        var concern: String
        var concernTitle: String?
        var kind: String
        var category: String
        var type: String
        var filename: String
        var size: Int64
        var sha256: String
        var recordedAt: String
        var recordedAtMillis: Int64
        var recordedBy: String
        var reviewOn: String
        /// The record this is a redacted copy of, at the sending school.
        var derivedFrom: String?
        /// Legal holds covering the record when it was sent.
        var holds: [HoldInfo]
    }
    struct Share: Codable, Equatable {
        var bundle: String
        var recipient: String
        var reason: String
        var createdBy: String
        var approvedBy: String?
        var releasedAt: String?
        var receiptAt: String?
        var linkRevokedAt: String?
        var records: [String]
    }

    var format = formatName
    var transfer: String
    var vault: String
    var from: Sender
    var to: Receiver
    var child: Child
    var reason: String
    var createdBy: Person
    var approvedBy: Person
    var sentAt: String
    var sentAtMillis: Int64
    /// Where the receiving vault posts its receipt, when the sender has a public address.
    var receiptURL: String?
    var readmeSHA256: String
    var checkpointSHA256: String
    var proofsSHA256: String
    var records: [Record]
    var shares: [Share]

    func bytes() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(self)) + [0x0a]
    }
}

/// A transfer package's `audit/proofs.json`: for every record, the sending vault's `put` event
/// and its RFC 9162 inclusion proof in the tree that `audit/checkpoint.json` signs.
struct TransferProofs: Codable, Equatable {
    static let formatName = "strongroom-transfer-proofs/1"

    struct Event: Codable, Equatable {
        var sequence: Int64
        var timeMillis: Int64
        var actor: String
        var action: String
        var outcome: String
        var school: String?
        var child: String?
        var concern: String?
        var record: String?
        var reason: String?
        var previousHash: String
        var hash: String

        init(_ e: AuditEvent) {
            sequence = e.sequence; timeMillis = e.timeMillis; actor = e.actor; action = e.action; outcome = e.outcome
            school = e.school; child = e.child; concern = e.concern; record = e.record; reason = e.reason
            previousHash = Hex.encode(e.previousHash); hash = Hex.encode(e.hash)
        }

        var auditEvent: AuditEvent? {
            guard let previous = Hex.decode(previousHash), let hash = Hex.decode(hash) else { return nil }
            return AuditEvent(sequence: sequence, timeMillis: timeMillis, actor: actor, action: action, outcome: outcome, school: school,
                              child: child, concern: concern, record: record, reason: reason, previousHash: previous, hash: hash)
        }
    }
    struct Entry: Codable, Equatable {
        var record: String
        var event: Event
        var inclusionProof: [String]
    }

    var format = formatName
    var vault: String
    var treeSize: Int
    var records: [Entry]

    func bytes() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(self)) + [0x0a]
    }
}

extension AuditEvent {
    /// What a `put` event says of the content (`kind K, TYPE, N bytes, sha256 H[, a redacted copy
    /// of R][, …]`): the kind, type and size, the SHA-256 for events written since puts name it,
    /// and the record it is a redacted copy of.
    var putFacts: (kind: String?, type: String?, size: Int64?, sha256: String?, derivedFrom: String?) {
        let parts = (reason ?? "").components(separatedBy: ", ")
        let kind = parts.first.flatMap { $0.hasPrefix("kind ") ? String($0.dropFirst("kind ".count)) : nil }
        let type = parts.count > 1 ? parts[1] : nil
        let size = parts.first(where: { $0.hasSuffix(" bytes") }).flatMap { Int64($0.dropLast(" bytes".count)) }
        let sha = parts.first(where: { $0.hasPrefix("sha256 ") }).map { String($0.dropFirst("sha256 ".count).prefix(64)) }
        let copy = parts.first(where: { $0.hasPrefix("a redacted copy of ") }).map { String($0.dropFirst("a redacted copy of ".count)) }
        return (kind, type, size, sha, copy)
    }
}
