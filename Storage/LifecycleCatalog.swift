import Foundation
import KeyManagement

/// The part of the catalog that retention, legal holds, shredding and key rotation work on.
/// Every change commits with its audit events in one transaction, like the rest of `Catalog`.
public protocol LifecycleCatalog: Sendable {
    /// Records a child's date of birth (`YYYY-MM-DD`) in one school (nil: in every school, the
    /// operator's choice) and moves their records to new review dates and KEKs, with the audit
    /// event, in one transaction. Child ids are the schools' own, so two schools may use one id
    /// for different children: a school's own entry wins over an every-school one.
    func setDateOfBirth(school: String?, child: String, dob: String, by actor: String, updates: [RecordKeyUpdate], event: AuditEntry, signer: AuditSigner?) throws
    /// What places a new record of `child` and `concern` in `school`, in one read (an upload
    /// asks on every request): the child's date of birth, and whether an active hold covers them.
    func newRecordFacts(school: String, child: String, concern: String) throws -> (dateOfBirth: String?, held: Bool)
    /// Whether `school` has its own date of birth for this child id.
    func hasOwnDateOfBirth(school: String, child: String) throws -> Bool

    /// Moves data keys to other KEKs; returns how many records were still under their `fromKEK`.
    /// Refuses (`kekDestroyed`) if a target KEK has been destroyed.
    @discardableResult
    func rekey(_ updates: [RecordKeyUpdate], events: [AuditEntry], signer: AuditSigner?) throws -> Int
    /// One step of a rotation's walk, in one write transaction: reads up to `limit` live records
    /// after `afterRowID` in storage order, lets `rekey` compute where their keys go, applies
    /// that. Returns the last row read (nil: the walk is over) and how many records changed.
    /// `rekey` gets the page and the active holds, both read in that transaction.
    func rekeyPage(afterRowID: Int64, limit: Int, _ rekey: @escaping ([KeyedRecord], [Hold]) throws -> [RecordKeyUpdate]) throws -> (last: Int64?, changed: Int)

    func placeHold(_ hold: Hold, updates: [RecordKeyUpdate], event: AuditEntry, signer: AuditSigner?) throws
    /// Stores a request to release a hold (`requested`), if the hold is still active and exactly
    /// `expected` (as the vault read it); else `lifecycleConflict`.
    func requestHoldRelease(_ requested: Hold, expected: Hold, event: AuditEntry, signer: AuditSigner?) throws
    /// Marks the hold released (the approval of its pending request) and moves records no longer
    /// held back to their period KEKs, if the hold is still active and exactly `expected`.
    func releaseHold(_ released: Hold, expected: Hold, updates: [RecordKeyUpdate], event: AuditEntry, signer: AuditSigner?) throws
    func hold(id: String) throws -> Hold?
    func activeHolds(school: String?) throws -> [Hold]
    /// Live records an active hold of `school` with this scope and target covers.
    func records(school: String, scope: Hold.Scope, target: String) throws -> [EvidenceRecord]

    /// The live records among `ids`, in one read (a shred request can name a hundred thousand).
    func records(ids: [String]) throws -> [EvidenceRecord]

    /// Stores a pending request; refuses (`recordsHeld`) if an active hold covers a record it names.
    func createShredRequest(_ request: ShredRequest, event: AuditEntry, signer: AuditSigner?) throws
    func shredRequest(id: String) throws -> ShredRequest?
    /// The shred requests of the given schools, newest first, at most `limit`, without their
    /// certificates (`certificate` is nil: read one with `shredRequest(id:)`).
    func shredRequests(schools: [String], limit: Int) throws -> [ShredRequest]
    /// Marks a pending request withdrawn (by `actor`, at `atMillis`) with its audit event; a
    /// request in any other state is a `lifecycleConflict`, an unknown one `lifecycleNotFound`.
    func withdrawShredRequest(id: String, by actor: String, atMillis: Int64, event: AuditEntry, signer: AuditSigner?) throws
    /// Executes an approved request in one transaction. If a hold covered one of its records at
    /// any time since the request was made (active now, or placed and released meanwhile), the
    /// request becomes void with the event `voided` makes of those records, and nothing else
    /// changes. Otherwise writes the tombstones, deletes the records' rows (and so their wrapped
    /// data keys; SQLite's secure_delete overwrites them) and marks the request executing.
    func executeShred(
        _ approved: ShredRequest, tombstones: [Tombstone], events: [AuditEntry], voided: ([String]) -> AuditEntry, signer: AuditSigner?
    ) throws -> ShredExecution
    /// Requests approved but not finished (a crash in the middle): the vault finishes them on start.
    func unfinishedShreds() throws -> [ShredRequest]
    func tombstones(request: String) throws -> [Tombstone]
    func tombstone(record: String) throws -> Tombstone?
    func allTombstones() throws -> [Tombstone]
    func completeShred(id: String, certificate: Data, events: [AuditEntry], signer: AuditSigner?) throws
    /// Writes the WAL back into the database file and empties it, so deleted rows survive in neither.
    func purgeWriteAheadLog() throws

    /// How many live records each KEK wraps.
    func recordCountsByKEK() throws -> [String: Int]
    /// Marks KEKs destroyed unless a live record still uses one; returns the ids it marked. The
    /// mark is what stops another process committing a new record under one of them.
    func markKEKsDestroyed(_ ids: Set<String>, reason: String, events: (Set<String>) -> [AuditEntry], signer: AuditSigner?) throws -> Set<String>
    func destroyedKEKs() throws -> Set<String>

    /// Records whose review date is on or before `asOf` (`YYYY-MM-DD`), in the given schools (nil:
    /// all), ordered by review date.
    func dueRecords(asOf: String, schools: [String]?) throws -> [DueRecord]
}

/// What the transaction of a shred approval did.
public enum ShredExecution: Sendable, Equatable {
    /// The records are gone; the request is executing.
    case executed
    /// A legal hold covered these records since the request was made: the request is void.
    case voided(held: [String])
}
