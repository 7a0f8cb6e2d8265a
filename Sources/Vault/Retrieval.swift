import Foundation
import KeyManagement
import Storage

extension Vault {
    /// Streams a record's plaintext to `sink`, after its audit event is durable. Every chunk is
    /// authenticated before it reaches the sink; the size and SHA-256 are checked at the end,
    /// and a failure after bytes were sent is thrown (the caller discards what it received).
    @discardableResult
    public func get(id: String, actor: String, to sink: (UnsafeRawBufferPointer) throws -> Void) throws -> EvidenceRecord {
        let keys = try requireKeys("get")
        let record = try lookUp(id: id, actor: actor, action: "get")
        try vaulting {
            guard let blob = try blobs.open(recordID: id) else { throw StorageError.blobMissing(record: id) }
            let dek = try dataKey(of: record, keys: keys)
            // No audit record, no access: the event is committed before the first byte leaves.
            try audit(event(record, actor: actor, action: "get", outcome: .ok))
            do {
                try decrypt(record, blob: blob, dataKey: dek, to: sink)
            } catch {
                _ = try? audit(event(record, actor: actor, action: "get", outcome: .failed, reason: "\(VaultError.wrap(error))"))
                throw error
            }
        }
        return record
    }

    /// A record's data key, unwrapped under its KEK with the record's own binding.
    func dataKey(of record: EvidenceRecord, keys: KeyStore) throws -> SecretBytes {
        try KeyWrap.unwrapDataKey(
            Array(record.wrappedDEK), under: try keys.kek(id: record.kekID),
            binding: DataKeyBinding(schoolID: record.school, recordID: record.id,
                                    formatVersion: UInt64(record.formatVersion), kekID: record.kekID))
    }

    func decrypt(_ record: EvidenceRecord, blob: RandomAccessBlob, dataKey: SecretBytes,
                 to sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        var hasher = SHA256Hasher()
        var size: Int64 = 0
        try BlobReader.decrypt(
            blob, schoolID: record.school, recordID: record.id, dataKey: dataKey,
            expectedCiphertextSize: Int(record.ciphertextSize)
        ) { chunk in
            hasher.update(chunk)
            size += Int64(chunk.count)
            try sink(chunk)
        }
        guard size == record.size, Hex.encode(hasher.finalize()) == record.sha256 else {
            throw StorageError.blobDamaged(record: record.id, damage: .plaintextMismatch)
        }
    }

    /// A record's metadata, after its audit event.
    public func show(id: String, actor: String) throws -> EvidenceRecord {
        let record = try lookUp(id: id, actor: actor, action: "show")
        try audit(event(record, actor: actor, action: "show", outcome: .ok))
        return record
    }

    /// Records in chronological order, after an audit event naming the filter.
    public func list(_ filter: RecordFilter, actor: String) throws -> [EvidenceRecord] {
        for (value, field) in [(filter.school, "school id"), (filter.child, "child id"), (filter.concern, "concern id")] {
            if let value { try vaulting { try OpaqueID.validate(value, field: field) } }
        }
        let records = try vaulting { try catalog.records(matching: filter) }
        try audit(AuditEntry(
            actor: actor, action: "list", outcome: .ok, school: filter.school, child: filter.child, concern: filter.concern,
            reason: "\(records.count) records"))
        return records
    }

    /// Finds a record, auditing a failed look-up (the id is validated hex, safe to log).
    func lookUp(id: String, actor: String, action: String) throws -> EvidenceRecord {
        guard RecordID.isValid(id) else {
            try audit(AuditEntry(actor: actor, action: action, outcome: .failed, reason: "malformed record id"))
            throw VaultError.storage(.invalidIdentifier(field: "record id", rule: "32 lower-case hexadecimal characters"))
        }
        guard let record = try vaulting({ try catalog.record(id: id) }) else {
            try audit(AuditEntry(actor: actor, action: action, outcome: .failed, record: id, reason: "no such record"))
            throw VaultError.notFound(id)
        }
        return record
    }

    func event(_ record: EvidenceRecord, actor: String, action: String, outcome: AuditOutcome, reason: String? = nil) -> AuditEntry {
        AuditEntry(actor: actor, action: action, outcome: outcome, school: record.school, child: record.child,
                   concern: record.concern, record: record.id, reason: reason)
    }
}
