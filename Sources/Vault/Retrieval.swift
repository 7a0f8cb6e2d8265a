import Foundation
import KeyManagement
import Storage

extension Vault {
    /// Opens a record for reading and writes its audit event. No audit record, no access: the
    /// event is committed before this returns, so before the first byte can leave.
    func beginDownload(_ record: EvidenceRecord, actor: AuditActor) throws -> RecordDownload {
        let keys = try requireKeys("get")
        return try vaulting {
            let download: RecordDownload
            do {
                download = try openRecord(record, keys: keys) { [self] error in
                    _ = try? audit(event(record, actor: actor, action: .get, outcome: .failed, reason: "\(error)"))
                }
            } catch {
                _ = try? audit(event(record, actor: actor, action: .get, outcome: .failed, reason: "\(VaultError.wrap(error))"))
                throw error
            }
            try audit(event(record, actor: actor, action: .get, outcome: .ok))
            return download
        }
    }

    /// The one place a record's blob is opened for decryption, under its own data key.
    func openRecord(
        _ record: EvidenceRecord, keys: KeyStore, onFailure: ((StorageError) -> Void)?, from store: (any BlobStore)? = nil
    ) throws -> RecordDownload {
        guard let blob = try (store ?? blobs).open(recordID: record.id) else { throw StorageError.blobMissing(record: record.id) }
        let decryptor = try BlobDecryptor(
            blob, schoolID: record.school, recordID: record.id, dataKey: try dataKey(of: record, keys: keys),
            expectedCiphertextSize: Int(record.ciphertextSize))
        return RecordDownload(record: record, decryptor: decryptor, onFailure: onFailure)
    }

    /// A record's data key, unwrapped under its KEK with the record's own binding. A record the
    /// deletion ledger names is never opened, whatever copy of the database it comes from.
    func dataKey(of record: EvidenceRecord, keys: KeyStore) throws -> SecretBytes {
        guard try !vaulting({ try shredded.contains(record.id) }) else { throw VaultError.notFound(record.id) }
        return try KeyWrap.unwrapDataKey(
            Array(record.wrappedDEK), under: try keys.kek(id: record.kekID),
            binding: DataKeyBinding(schoolID: record.school, recordID: record.id,
                                    formatVersion: UInt64(record.formatVersion), kekID: record.kekID))
    }

    /// A record row, unless the deletion ledger says it was shredded (an older database put back).
    func liveRecord(id: String) throws -> EvidenceRecord? {
        guard let record = try vaulting({ try catalog.record(id: id) }) else { return nil }
        return try vaulting { try shredded.contains(id) } ? nil : record
    }

    /// Leaves out what the deletion ledger names (rows of an older database put back).
    func withoutShredded<T>(_ items: [T], id: (T) -> String) throws -> [T] {
        let gone = try vaulting { try shredded.snapshot() }
        return gone.isEmpty ? items : items.filter { !gone.contains(id($0)) }
    }

    /// The live records among `ids` (those the deletion ledger names left out).
    func liveRecords(ids: [String]) throws -> [EvidenceRecord] {
        try withoutShredded(try vaulting { try catalog.records(ids: ids) }, id: \.id)
    }

    /// Finds a record, auditing a failed look-up (the id is validated hex, safe to log).
    func lookUp(id: String, actor: AuditActor, action: AuditAction) throws -> EvidenceRecord {
        guard RecordID.isValid(id) else {
            try audit(AuditEntry(actor: actor, action: action, outcome: .failed, reason: "malformed record id"))
            throw VaultError.storage(.invalidIdentifier(field: "record id", rule: "32 lower-case hexadecimal characters"))
        }
        guard let record = try liveRecord(id: id) else {
            try audit(AuditEntry(actor: actor, action: action, outcome: .failed, record: id, reason: "no such record"))
            throw VaultError.notFound(id)
        }
        return record
    }

    func event(_ record: EvidenceRecord, actor: AuditActor, action: AuditAction, outcome: AuditOutcome, reason: String? = nil) -> AuditEntry {
        AuditEntry(actor: actor, action: action, outcome: outcome, school: record.school, child: record.child,
                   concern: record.concern, record: record.id, reason: reason)
    }
}
