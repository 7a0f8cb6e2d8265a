import Foundation
import KeyManagement

/// The seam between the vault and its metadata: records, their wrapped keys and the audit log,
/// which must commit together. SQLite (`SQLiteCatalog`) is the embedded default; PostgreSQL
/// (`PostgresCatalog`) serves several nodes; both run the same operations (`RelationalCatalog`).
public protocol Catalog: LifecycleCatalog, SharingCatalog, BundleCatalog, BundleReturnCatalog, SignInCatalog, LabelCatalog, PeopleCatalog,
    WaitingCatalog, TransferCatalog, Sendable {
    var vaultID: String { get }
    /// Where each signed checkpoint is also written, outside the database, if anywhere.
    var witness: AuditWitness? { get }
    /// A store-wide setting kept beside the vault id (where the blobs are), or nil.
    func vaultSetting(_ key: String) throws -> String?
    func setVaultSetting(_ key: String, _ value: String) throws
    /// Closes every connection (later calls fail) and writes the newest checkpoint still
    /// waiting for the witness.
    func close()

    /// Commits a record row (with its wrapped key) and its audit event in one transaction.
    /// Signs a new checkpoint in the same transaction when a signer is given.
    @discardableResult
    func commitRecord(_ record: EvidenceRecord, event: AuditEntry, signer: AuditSigner?) throws -> AuditEvent

    /// Appends audit events durably, or throws `StorageError.auditUnavailable`: callers must not
    /// go on with the operation the events describe if this throws.
    @discardableResult
    func append(_ entries: [AuditEntry], signer: AuditSigner?) throws -> [AuditEvent]

    func record(id: String) throws -> EvidenceRecord?
    func records(matching filter: RecordFilter) throws -> [EvidenceRecord]
    func allRecordIDs() throws -> Set<String>
    /// Where each record's `put` event (outcome ok) says it was filed: what a row must still say,
    /// and which rows must exist unless shredded.
    func filedRecords() throws -> [String: FiledRecord]

    func events(record: String?) throws -> [AuditEvent]
    /// The reasons of every event with this action (a few hundred at most for the actions asked).
    func auditReasons(action: String) throws -> [String]
    /// Numbers only, by school and month, for the oversight page (OversightTallies.swift).
    func oversightTallies(schools: [String], window: OversightWindow) throws -> [OversightTally]

    /// Adds a user account with its audit event; refuses (`userExists`) while an active account
    /// holds the name. Revoked accounts of the name stay, with their ids.
    func addUser(_ user: UserAccount, event: AuditEntry, signer: AuditSigner?) throws
    /// Replaces an active account's row (by id) with its revoked, re-signed form.
    func revokeUser(_ revoked: UserAccount, event: AuditEntry, signer: AuditSigner?) throws
    /// Every account, revoked ones too, by name and then age.
    func users() throws -> [UserAccount]
    /// In one transaction: reads the rows of signature format 1, lets `resign` return those it
    /// re-signed (only their signature and format may differ) and the audit event, stores both,
    /// and marks the others format 0 (refused for good). Returns how many rows were re-signed
    /// (0, and no event, when no row was of format 1).
    func upgradeUserSignatures(_ resign: ([UserAccount]) throws -> (rows: [UserAccount], event: AuditEntry), signer: AuditSigner?) throws -> Int
    /// The user holding the token with this hash, revoked or not.
    func user(tokenHash: Data) throws -> UserAccount?
    func latestCheckpoint() throws -> Checkpoint?
    /// Proves, without any secret, that the stored log is an append-only extension of its newest
    /// signed checkpoint (and of the witness's), as a keyed process does before it signs; throws
    /// `StorageError.auditRewritten` saying why not.
    func proveAuditLog(publicKey: VaultPublicKey) throws
    /// Walks the whole log for verification, in sequence order, with the stored head and checkpoints.
    func auditSnapshot(_ body: (AuditSnapshot) throws -> Void) throws
}

/// A consistent read of everything `audit verify` checks.
public protocol AuditSnapshot {
    var head: (size: Int, lastHash: [UInt8], frontier: TreeFrontier?)? { get }
    var checkpoints: [Checkpoint] { get }
    /// Record ids that have no successful put event.
    var recordsWithoutPutEvent: [String] { get }
    /// Whether the first event is the vault's successful `init`, as every vault's log begins.
    var beginsWithInit: Bool { get }
    /// Every event in sequence order, as the verifier needs it.
    func forEachLink(_ body: (AuditLink) throws -> Void) throws
    /// The first few successful events after `size` whose action needs the vault key
    /// (`AuditEvent.keyedActions`): sequence and action.
    func keyedEvents(after size: Int) throws -> [(sequence: Int64, action: String)]
}

/// A record as its signed `put` event recorded it.
public struct FiledRecord: Sendable, Equatable {
    public var school: String?
    public var child: String?
    public var concern: String?
    public init(school: String?, child: String?, concern: String?) {
        self.school = school
        self.child = child
        self.concern = concern
    }
}
