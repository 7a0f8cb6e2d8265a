import Foundation
import KeyManagement
import Storage

/// What `verify` found. A store is intact when no record is missing or damaged; orphan blobs
/// and leftover uploads are reported for `gc` but harm no record.
public struct StoreReport: Sendable {
    public struct Damage: Sendable {
        public var record: String
        public var kind: String
        public var detail: String
    }
    public var records = 0
    public var intact = 0
    public var authenticated: Bool
    public var missing: [String] = []
    public var damaged: [Damage] = []
    public var orphans: [String] = []
    public var leftovers: [String] = []
    /// Tombstones (shredded records) checked, and those whose vault signature fails.
    public var tombstones = 0
    public var badTombstones: [String] = []
    /// Records present although they were shredded (an older database put back): never opened.
    public var resurrected: [String] = []
    /// What is wrong with the deletion ledger, if anything.
    public var ledgerProblem: String?
    /// Records the audit log says were stored whose row is gone with no shred (a deleted row, an
    /// older database put back): their blobs are kept, never collected as orphans.
    public var vanished: [String] = []
    /// Records whose school, child or concern differs from what their signed put event says.
    public var refiled: [Damage] = []
    /// Why this process refused to sign over the audit log (it is not an append-only extension
    /// of the newest signed checkpoint): the verify itself could then be audited only unsigned.
    public var auditProblem: String?
    public var isIntact: Bool {
        missing.isEmpty && damaged.isEmpty && badTombstones.isEmpty && resurrected.isEmpty && ledgerProblem == nil
            && vanished.isEmpty && refiled.isEmpty && auditProblem == nil
    }
}

public struct GCReport: Sendable {
    public var removedOrphans: [String] = []
    public var removedLeftovers: [String] = []
    /// Blobs of records the audit log says were stored but whose rows are gone: kept (run verify).
    public var keptVanished: [String] = []
    /// Encrypted bundle files whose links ended, and leftovers of crashed releases.
    public var removedBundleFiles = 0
    /// Object versions of deleted blobs that an object lock still keeps.
    public var lockedVersionsKept = 0
    /// Live records whose object someone hid behind a delete marker: their data is still there
    /// (an earlier version) and must be restored, never purged.
    public var deleteMarkedLive: [String] = []
}

extension Vault {
    func verify(by caller: Caller, useKeys: Bool, progress: ((Int, Int) -> Void)? = nil) throws -> StoreReport {
        try requireOperator(caller, .verify)
        let actor = caller.actor
        let keys = useKeys ? try requireKeys("verify with keys (use --no-keys to check without them)") : nil
        var report = StoreReport(authenticated: useKeys)
        let records = try vaulting { try catalog.records(matching: RecordFilter()) }
        report.records = records.count
        var shreddedIDs = Set<String>()
        do {
            let ledger = DeletionLedger(files: keyFiles, vaultID: vaultID)
            shreddedIDs = Set(try ledger.entries(publicKey: publicKey).map(\.record))
            _ = try ledger.entriesForReading(publicKey: publicKey, head: try KeyStore.ledgerHead(files: keyFiles))
        } catch {
            report.ledgerProblem = "\(VaultError.wrap(error))"
        }
        let tombstones = try vaulting { try catalog.allTombstones() }
        report.tombstones = tombstones.count
        for tombstone in tombstones {
            if !publicKey.verify(signature: Array(tombstone.signature), message: tombstone.signedMessage(vaultID: vaultID)) {
                report.badTombstones.append(tombstone.record)
            }
            shreddedIDs.insert(tombstone.record)
        }
        for (n, record) in records.enumerated() {
            progress?(n + 1, records.count)
            if shreddedIDs.contains(record.id) {
                report.resurrected.append(record.id)
                continue
            }
            do {
                if let keys {
                    try openRecord(record, keys: keys, onFailure: nil).readToEnd()
                } else {
                    guard let blob = try blobs.open(recordID: record.id) else { throw StorageError.blobMissing(record: record.id) }
                    try checkWithoutKeys(record, blob: blob)
                }
                report.intact += 1
            } catch StorageError.blobMissing(let id) {
                report.missing.append(id)
            } catch StorageError.blobDamaged(let id, let damage) {
                report.damaged.append(.init(record: id, kind: damage.kind, detail: damage.description))
            } catch KeyManagementError.unwrapFailed(let context) {
                report.damaged.append(.init(record: record.id, kind: "key-unwrap-failed", detail: "wrapped data key does not unwrap (\(context))"))
            } catch {
                report.damaged.append(.init(record: record.id, kind: "unreadable", detail: "\(VaultError.wrap(error))"))
            }
        }
        let known = Set(records.map(\.id))
        // The rows against the signed log: a row deleted or moved to another child without a
        // shred leaves no trace in the blobs or keys, only here.
        let filed = try vaulting { try catalog.filedRecords() }
        report.vanished = filed.keys.filter { !known.contains($0) && !shreddedIDs.contains($0) }.sorted()
        for record in records {
            guard let put = filed[record.id] else { continue }
            if put.school != record.school || put.child != record.child || put.concern != record.concern {
                report.refiled.append(.init(record: record.id, kind: "refiled",
                                            detail: "the row's school, child or concern differs from its signed put event"))
            }
        }
        report.orphans = try vaulting { try blobs.storedRecordIDs().filter { !known.contains($0) && (filed[$0] == nil || shreddedIDs.contains($0)) } }
        report.leftovers = try vaulting { try blobs.leftoverUploads() }
        // The log the rows were compared with must itself extend its newest signed checkpoint:
        // a rewrite that moved a record and its put event together shows only here.
        do { try vaulting { try catalog.proveAuditLog(publicKey: publicKey) } } catch VaultError.storage(.auditRewritten(let why)) {
            report.auditProblem = why
        }
        let summary = "\(report.records) records, \(report.missing.count) missing, \(report.damaged.count) damaged, \(report.vanished.count) rows gone without a shred, \(report.refiled.count) refiled, \(report.orphans.count) orphan blobs, \(report.leftovers.count) leftover uploads, \(report.resurrected.count) shredded records present, \(report.badTombstones.count) bad tombstones\(report.ledgerProblem == nil ? "" : ", deletion ledger damaged")\(report.auditProblem == nil ? "" : ", audit log does not extend its signed checkpoint")\(useKeys ? "" : ", checked without keys")"
        do {
            try audit(AuditEntry(actor: actor, action: .verify, outcome: report.isIntact ? .ok : .failed, reason: summary))
        } catch VaultError.storage(.auditRewritten(let why)) {
            // What verify is for: say so, with everything else it found.
            report.auditProblem = report.auditProblem ?? why
        }
        return report
    }

    /// Size, header binding and ciphertext hash: everything that needs no key.
    func checkWithoutKeys(_ record: EvidenceRecord, blob: RandomAccessBlob) throws {
        func damaged(_ d: BlobDamage) -> StorageError { .blobDamaged(record: record.id, damage: d) }
        let header = try BlobFormat.parseHeaderWithoutKeys(blob, record: record.id)
        guard header.schoolID == record.school, header.recordID == record.id else {
            throw damaged(.belongsToAnotherRecord(school: header.schoolID, record: header.recordID))
        }
        if blob.size < Int(record.ciphertextSize) { throw damaged(.truncated(afterChunk: max(0, (blob.size - header.size) / BlobFormat.encryptedChunkSize) - 1)) }
        if blob.size > Int(record.ciphertextSize) { throw damaged(.extended(trailingBytes: blob.size - Int(record.ciphertextSize))) }
        let hasher = Blake2b()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { buffer.deallocate() }
        var offset = 0
        while true {
            let n = try blob.read(at: offset, into: buffer)
            if n == 0 { break }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            offset += n
        }
        guard Hex.encode(hasher.finalize()) == record.ciphertextBlake2b else { throw damaged(.ciphertextHashMismatch) }
    }

    func gc(by caller: Caller) throws -> GCReport {
        try requireOperator(caller, .gc)
        let actor = caller.actor
        let lock = try storeLock(exclusive: true, wait: false)
        defer { withExtendedLifetime(lock) {} }
        var report = GCReport()
        // A blob is an orphan only if the log, proved against its newest signed checkpoint, has
        // no put event for it: an emptied or rewritten log must not make evidence look orphaned.
        try vaulting { try catalog.proveAuditLog(publicKey: publicKey) }
        try vaulting {
            let known = try catalog.allRecordIDs()
            let filed = try catalog.filedRecords()
            // An unreadable ledger counts as empty here: that only keeps more blobs.
            let shreddedIDs = ((try? shredded.snapshot()) ?? []).union(try catalog.allTombstones().map(\.record))
            // Without a folder lock (a store on PostgreSQL), an object or upload young enough to be
            // another node's upload in flight is left for a later gc.
            let objects = blobs as? S3BlobStore
            let inFlightSince = clock().addingTimeInterval(-S3BlobStore.inFlightGrace)
            let stored = try hasFolder ? blobs.storedRecordIDs() : (objects?.storedRecordIDs(writtenBefore: inFlightSince) ?? blobs.storedRecordIDs())
            for id in stored where !known.contains(id) {
                if filed[id] != nil, !shreddedIDs.contains(id) {
                    report.keptVanished.append(id)
                    continue
                }
                // Without a folder lock, a row may have committed since `known` was read.
                if !hasFolder, try catalog.record(id: id) != nil { continue }
                try blobs.delete(recordID: id)
                report.removedOrphans.append(id)
            }
            let leftovers = try hasFolder ? blobs.leftoverUploads() : (objects?.leftoverUploads(begunBefore: inFlightSince) ?? blobs.leftoverUploads())
            for name in leftovers {
                try blobs.removeLeftoverUpload(name)
                report.removedLeftovers.append(name)
            }
            // Versions an object lock kept after a shred or a delete, once their lock has ended:
            // only of records shredded, or unknown to the catalog and the log. A delete marker
            // over a live record is reported, never purged.
            if let objects {
                let result = try objects.removeUnreachableVersions { id in
                    shreddedIDs.contains(id) || (!known.contains(id) && filed[id] == nil)
                }
                report.lockedVersionsKept = result.stillLocked
                report.deleteMarkedLive = result.markedLive
            }
        }
        report.removedBundleFiles = purgeEndedBundleFiles()
        try audit(AuditEntry(
            actor: actor, action: .gc, outcome: .ok,
            reason: "removed \(report.removedOrphans.count) orphan blobs, \(report.removedLeftovers.count) leftover uploads, \(report.lockedVersionsKept) object versions still locked, \(report.deleteMarkedLive.count) live records hidden by a delete marker (restore them) and \(report.removedBundleFiles) ended bundle files; kept \(report.keptVanished.count) blobs of records whose rows are gone"))
        return report
    }
}
