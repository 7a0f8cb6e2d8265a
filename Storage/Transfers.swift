import Foundation
import GRDB
import KeyManagement

// School-to-school transfers of a child's file (docs/transfers.md, migration v16-transfers):
// the directory of other schools' pinned cards, transfers sent, transfers received.

/// Another school's card, pinned in a school's directory after its fingerprint was compared out
/// of band. Signed by this vault's key over every field, so someone who can write the database
/// but not sign cannot swap the keys a child's file is encrypted to.
public struct PinnedSchool: Sendable, Equatable, Codable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "school_directory"
    /// The school whose directory this is.
    public var owner: String
    public var school: String
    public var name: String
    public var ageRecipient: String
    /// The other vault's Ed25519 key, minisign base64.
    public var signingKey: String
    public var fingerprint: String
    public var addedBy: String
    public var addedAtMillis: Int64
    public var signature: Data

    enum CodingKeys: String, CodingKey {
        case owner, school, name, ageRecipient = "age_recipient", signingKey = "signing_key", fingerprint
        case addedBy = "added_by", addedAtMillis = "added_at_ms", signature
    }

    public init(owner: String, school: String, name: String, ageRecipient: String, signingKey: String, fingerprint: String,
                addedBy: String, addedAtMillis: Int64) {
        self.owner = owner
        self.school = school
        self.name = name
        self.ageRecipient = ageRecipient
        self.signingKey = signingKey
        self.fingerprint = fingerprint
        self.addedBy = addedBy
        self.addedAtMillis = addedAtMillis
        self.signature = Data()
    }

    public static let label = "strongroom/v1/pinned-school"

    public func message(vaultID: String) -> [UInt8] {
        var b = Binding(label: Self.label)
        for value in [vaultID, owner, school, name, ageRecipient, signingKey, fingerprint, addedBy] { b.append(value) }
        b.append(UInt64(bitPattern: addedAtMillis))
        return b.bytes
    }

    public mutating func sign(vaultID: String, signer: AuditSigner) throws {
        signature = Data(try signer.sign(message(vaultID: vaultID)))
    }

    public func verify(vaultID: String, publicKey: VaultPublicKey) -> Bool {
        publicKey.verify(signature: Array(signature), message: message(vaultID: vaultID))
    }
}

/// A transfer this vault sends.
public struct TransferRow: Sendable, Equatable, Codable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "transfers"
    /// `sending`: claimed by one approver while its package is made (taken over after an hour).
    public enum State: String, Sendable, Codable { case draft, sending, sent, received }
    public static let claimTimeoutMillis: Int64 = 3_600_000

    public var id: String
    public var school: String
    public var child: String
    public var toSchool: String
    /// The receiving school's fingerprint when the draft was made: approval refuses if the
    /// directory now pins another card for it (a changed key is never approved unseen).
    public var toFingerprint: String
    public var reason: String
    public var state: State
    public var createdBy: String
    public var createdAccount: String?
    public var createdAtMillis: Int64
    public var approvedBy: String?
    public var approvedAccount: String?
    public var claim: String?
    public var claimedAtMillis: Int64?
    public var sentAtMillis: Int64?
    public var manifestSHA256: String?
    public var packageSHA256: String?
    public var packageSize: Int64?
    public var recordCount: Int?
    /// SHA-256 of the download link's token (shown once, never stored).
    public var linkHash: Data?
    public var linkExpiresMillis: Int64?
    public var linkDownloads: Int
    public var receiptAtMillis: Int64?
    /// The receiving vault's signed receipt, as it arrived.
    public var receipt: Data?
    /// What happened to this school's copies after the receipt (the school's rule).
    public var afterReceipt: String?

    enum CodingKeys: String, CodingKey {
        case id, school, child, toSchool = "to_school", toFingerprint = "to_fingerprint", reason, state, createdBy = "created_by"
        case createdAccount = "created_account", createdAtMillis = "created_at_ms", approvedBy = "approved_by"
        case approvedAccount = "approved_account", claim, claimedAtMillis = "claimed_at_ms", sentAtMillis = "sent_at_ms"
        case manifestSHA256 = "manifest_sha256", packageSHA256 = "package_sha256", packageSize = "package_size"
        case recordCount = "record_count", linkHash = "link_hash", linkExpiresMillis = "link_expires_ms"
        case linkDownloads = "link_downloads", receiptAtMillis = "receipt_at_ms", receipt, afterReceipt = "after_receipt"
    }

    public init(id: String, school: String, child: String, toSchool: String, toFingerprint: String, reason: String, createdBy: String,
                createdAccount: String?, createdAtMillis: Int64) {
        self.id = id
        self.school = school
        self.child = child
        self.toSchool = toSchool
        self.toFingerprint = toFingerprint
        self.reason = reason
        self.state = .draft
        self.createdBy = createdBy
        self.createdAccount = createdAccount
        self.createdAtMillis = createdAtMillis
        self.linkDownloads = 0
    }
}

/// What sending a claimed transfer writes.
public struct TransferSending: Sendable {
    public var claim: String
    public var sentAtMillis: Int64
    public var manifestSHA256: String
    public var packageSHA256: String
    public var packageSize: Int64
    public var records: [String]
    public var linkHash: Data
    public var linkExpiresMillis: Int64

    public init(claim: String, sentAtMillis: Int64, manifestSHA256: String, packageSHA256: String, packageSize: Int64,
                records: [String], linkHash: Data, linkExpiresMillis: Int64) {
        self.claim = claim
        self.sentAtMillis = sentAtMillis
        self.manifestSHA256 = manifestSHA256
        self.packageSHA256 = packageSHA256
        self.packageSize = packageSize
        self.records = records
        self.linkHash = linkHash
        self.linkExpiresMillis = linkExpiresMillis
    }
}

/// A transfer this vault received: where it came from, and the sender's signed account of it.
public struct IncomingTransferRow: Sendable, Equatable, Codable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "incoming_transfers"
    public var id: String
    public var school: String
    public var child: String
    public var fromSchool: String
    public var fromName: String
    /// The sending vault's id for the transfer.
    public var transfer: String
    /// SHA-256 of the package's manifest: a package is received once.
    public var manifestSHA256: String
    public var sentAtMillis: Int64
    public var receivedAtMillis: Int64
    public var receivedBy: String
    /// The receipt this vault signed (JSON).
    public var receipt: Data
    /// The sender's chronology of shares of these records (JSON, as in the manifest).
    public var shares: Data
    /// When the receipt reached the sender by itself (nil: not yet, or not reachable).
    public var receiptDeliveredMillis: Int64?

    enum CodingKeys: String, CodingKey {
        case id, school, child, fromSchool = "from_school", fromName = "from_name", transfer
        case manifestSHA256 = "manifest_sha256", sentAtMillis = "sent_at_ms", receivedAtMillis = "received_at_ms"
        case receivedBy = "received_by", receipt, shares, receiptDeliveredMillis = "receipt_delivered_ms"
    }

    public init(id: String, school: String, child: String, fromSchool: String, fromName: String, transfer: String,
                manifestSHA256: String, sentAtMillis: Int64, receivedAtMillis: Int64, receivedBy: String, receipt: Data, shares: Data) {
        self.id = id
        self.school = school
        self.child = child
        self.fromSchool = fromSchool
        self.fromName = fromName
        self.transfer = transfer
        self.manifestSHA256 = manifestSHA256
        self.sentAtMillis = sentAtMillis
        self.receivedAtMillis = receivedAtMillis
        self.receivedBy = receivedBy
        self.receipt = receipt
        self.shares = shares
    }
}

/// Where a received record came from.
public struct TransferredRecordRow: Sendable, Equatable, Codable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "transferred_records"
    public var record: String
    public var incoming: String
    public var originalID: String
    public var originalSHA256: String
    /// When the sending school recorded it (ms).
    public var recordedAtMillis: Int64
    public var recordedBy: String

    enum CodingKeys: String, CodingKey {
        case record, incoming, originalID = "original_id", originalSHA256 = "original_sha256"
        case recordedAtMillis = "recorded_at_ms", recordedBy = "recorded_by"
    }

    public init(record: String, incoming: String, originalID: String, originalSHA256: String, recordedAtMillis: Int64, recordedBy: String) {
        self.record = record
        self.incoming = incoming
        self.originalID = originalID
        self.originalSHA256 = originalSHA256
        self.recordedAtMillis = recordedAtMillis
        self.recordedBy = recordedBy
    }
}

/// What a school does with its own copies once a receipt proves the file arrived.
public enum AfterReceiptRule: String, Sendable, Codable, CaseIterable {
    /// A shred request for them is drafted, still needing the usual second person.
    case draftShred = "draft-shred"
    /// They stay until their normal review.
    case keep
}

/// A received package's records and everything stored with them, committed at once.
public struct TransferImport: Sendable {
    public var incoming: IncomingTransferRow
    public var records: [EvidenceRecord]
    public var provenance: [TransferredRecordRow]
    public var holds: [Hold]
    public var events: [AuditEntry]
    /// The child's date of birth, recorded in the same transaction for a child new to the school.
    public var dateOfBirth: String?

    public init(incoming: IncomingTransferRow, records: [EvidenceRecord], provenance: [TransferredRecordRow], holds: [Hold], events: [AuditEntry],
                dateOfBirth: String? = nil) {
        self.incoming = incoming
        self.records = records
        self.provenance = provenance
        self.holds = holds
        self.events = events
        self.dateOfBirth = dateOfBirth
    }
}

/// Whether a transfer's download link may be used now.
public enum TransferLinkUse: Sendable, Equatable {
    case allowed(TransferRow)
    case unknown
    case expired(TransferRow)
    case usedUp(TransferRow)
}

/// The part of the catalog that transfers work on.
public protocol TransferCatalog: Sendable {
    /// Pins (or, explicitly, replaces) a card in `school.owner`'s directory with its event.
    func pinSchool(_ school: PinnedSchool, event: AuditEntry, signer: AuditSigner?) throws
    func pinnedSchools(owner: String) throws -> [PinnedSchool]
    func pinnedSchool(owner: String, school: String) throws -> PinnedSchool?

    func addTransfer(_ transfer: TransferRow, event: AuditEntry, signer: AuditSigner?) throws
    func transfer(id: String) throws -> TransferRow?
    /// A school's transfers (of one child, if given), newest first.
    func transfers(school: String, child: String?) throws -> [TransferRow]
    /// The drafts and the sent transfers without a receipt of these schools, without their
    /// receipts: what the waiting counts, asked every half minute by every header, look at.
    func waitingTransfers(schools: [String]) throws -> [TransferRow]
    /// The records a sent transfer carried.
    func transferRecords(id: String) throws -> [String]
    /// Claims a draft for `approver` before anything is read (`lifecycleConflict` if another holds it).
    func claimTransfer(id: String, approver: String, account: String?, claim: String, nowMillis: Int64) throws
    func unclaimTransfer(id: String, claim: String) throws
    /// Marks a claimed transfer sent, with its events; `lifecycleConflict` if a record vanished.
    func sendTransfer(id: String, _ sending: TransferSending, events: [AuditEntry], signer: AuditSigner?) throws
    /// Decides whether a link may be used, counts the use, appends `event(use)`, in one transaction.
    func useTransferLink(hash: Data, maxDownloads: Int, nowMillis: Int64, event: @escaping (TransferLinkUse) -> AuditEntry?, signer: AuditSigner?) throws -> TransferLinkUse
    /// Marks a sent transfer received with its verified receipt, its events and the shred request
    /// the school's rule drafts, all in one transaction; returns false (writing nothing) if it
    /// already was received.
    func recordTransferReceipt(id: String, receipt: Data, atMillis: Int64, afterReceipt: String, events: [AuditEntry],
                               shred: (request: ShredRequest, event: AuditEntry)?, signer: AuditSigner?) throws -> Bool

    /// Stores a received package's records, provenance, holds and events in one transaction;
    /// `lifecycleConflict` if a package with the same manifest was received before.
    func commitImport(_ received: TransferImport, signer: AuditSigner?) throws
    /// Whether the school holds anything of this child: records, a date of birth or a label.
    func childKnown(school: String, child: String) throws -> Bool
    func incomingTransfer(manifestSHA256: String) throws -> IncomingTransferRow?
    func incomingTransfer(id: String) throws -> IncomingTransferRow?
    /// A school's received transfers (of one child, if given), newest first.
    func incomingTransfers(school: String, child: String?) throws -> [IncomingTransferRow]
    func transferredRecords(incoming: String) throws -> [TransferredRecordRow]
    func markReceiptDelivered(incoming: String, atMillis: Int64) throws

    /// The names schools go by on this vault's transfer cards, by school id.
    func transferNames() throws -> [String: String]
    func setTransferName(school: String, name: String, event: AuditEntry, signer: AuditSigner?) throws
    func afterReceiptRule(school: String) throws -> AfterReceiptRule
    func setAfterReceiptRule(school: String, _ rule: AfterReceiptRule, event: AuditEntry, signer: AuditSigner?) throws

    /// The leaf hashes of the audit log's first `size` events, in order.
    func auditLeafHashes(size: Int) throws -> [[UInt8]]
    /// The `put` event (outcome ok) of each record, by record id.
    func putEvents(records: [String]) throws -> [String: AuditEvent]
}
