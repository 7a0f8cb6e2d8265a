import Foundation
import KeyManagement
import Storage

/// Which KEK a record's data key belongs under: the one of its school and retention period (the
/// month its review falls due), or its school's hold KEK while a legal hold covers it. Keeping
/// each period's keys under their own KEK is what lets a shred reach backups: when the last live
/// record of a period is gone, the period's KEK is destroyed, and every copy of those wrapped
/// keys, in any backup, is undecryptable (docs/keys.md).
/// Records a rotation could not move (their wrapped key does not open), collected across pages.
final class SkippedRecords: @unchecked Sendable {
    var ids: [String] = []
}

extension Vault {
    static func kekPeriod(reviewOn: String, held: Bool) -> String {
        held ? KeyStore.holdPeriod : String(reviewOn.prefix(7))
    }

    /// A new record's review date, and whether a hold already covers it (its child or concern).
    func placement(of request: PutRequest, createdAt: Date) throws -> (reviewOn: String, held: Bool) {
        let rule = RetentionPolicy.rule(kind: request.kind, category: request.category) ?? RetentionPolicy.table[0]
        let facts = try vaulting { try catalog.newRecordFacts(school: request.school, child: request.child, concern: request.concern) }
        return (RetentionPolicy.reviewDate(rule: rule, dateOfBirth: request.dateOfBirth ?? facts.dateOfBirth, createdAt: createdAt), facts.held)
    }

    func activeHolds(school: String?) throws -> [Hold] {
        try vaulting { try catalog.activeHolds(school: school) }
    }

    /// Updates that move each record to the KEK its (new) review date and holds call for;
    /// records already there with that review date are left out. `scratch` carries each key.
    func rekeyUpdates(
        _ records: [KeyedRecord], keys: KeyStore, holds: [Hold], reviewOn: (KeyedRecord) -> String = { $0.reviewOn },
        scratch: SecretBytes, skipped: SkippedRecords? = nil
    ) throws -> [RecordKeyUpdate] {
        var out: [RecordKeyUpdate] = []
        out.reserveCapacity(records.count)
        var targets: [String: (String, SecretBytes)] = [:]
        var sources: [String: SecretBytes] = [:]
        for record in records {
            let review = reviewOn(record)
            let held = holds.contains { $0.covers(school: record.school, id: record.id, child: record.child, concern: record.concern) }
            let period = Self.kekPeriod(reviewOn: review, held: held)
            let slot = record.school + "\u{0}" + period
            let (targetID, target): (String, SecretBytes)
            if let known = targets[slot] { (targetID, target) = known } else {
                (targetID, target) = try keys.kek(school: record.school, period: period)
                targets[slot] = (targetID, target)
            }
            if targetID == record.kekID {
                if review != record.reviewOn {
                    out.append(RecordKeyUpdate(
                        rowID: record.rowID, record: record.id, fromKEK: record.kekID, toKEK: targetID, wrappedDEK: record.wrappedDEK, reviewOn: review))
                }
                continue
            }
            let version = UInt64(record.formatVersion)
            let source: SecretBytes
            if let known = sources[record.kekID] { source = known } else {
                do {
                    source = try keys.kek(id: record.kekID)
                } catch let error as KeyManagementError where skipped != nil {
                    guard case .kekDestroyed = error else { throw error }
                    skipped!.ids.append(record.id)
                    continue
                }
                sources[record.kekID] = source
            }
            let wrapped: [UInt8]
            do {
                wrapped = try KeyWrap.rewrapDataKey(
                    Array(record.wrappedDEK),
                    from: source,
                    DataKeyBinding(schoolID: record.school, recordID: record.id, formatVersion: version, kekID: record.kekID),
                    to: target, DataKeyBinding(schoolID: record.school, recordID: record.id, formatVersion: version, kekID: targetID),
                    scratch: scratch)
            } catch KeyManagementError.unwrapFailed where skipped != nil {
                // A damaged wrapped key (verify names it) must not stop every other record's rotation.
                skipped!.ids.append(record.id)
                continue
            }
            out.append(RecordKeyUpdate(
                rowID: record.rowID, record: record.id, fromKEK: record.kekID, toKEK: targetID, wrappedDEK: Data(wrapped), reviewOn: review))
        }
        return out
    }

    /// Audits the KEKs created since the last call (a new school and month, a rotation's
    /// successors). Never called inside a catalog transaction.
    func auditCreatedKEKs(_ keys: KeyStore, actor: AuditActor) throws {
        let created = keys.drainCreated()
        guard !created.isEmpty else { return }
        _ = try vaulting {
            try catalog.append(created.map {
                AuditEntry(actor: actor, action: .kekCreate, outcome: .ok, school: $0.school,
                           reason: "\($0.id) for period \($0.period ?? "-")")
            }, signer: try keys.auditSigner())
        }
    }

    /// Applies updates, retrying once if a target KEK was destroyed meanwhile by another process.
    /// Reads the records and holds, works out where each key belongs and commits that. The
    /// commit refuses (`lifecycleConflict`) if any record moved meanwhile (a rotation in another
    /// process), and then it is all read and worked out again; likewise for a target KEK that
    /// another process destroyed. Returns how many records it read the last time.
    @discardableResult
    func applyRekey(
        records fetch: () throws -> [EvidenceRecord], keys: KeyStore, holds: () throws -> [Hold],
        reviewOn: (KeyedRecord) -> String = { $0.reviewOn }, commit: ([RecordKeyUpdate], Int) throws -> Void
    ) throws -> Int {
        let scratch = try SecretBytes(count: DataKey.bytes)
        var attempt = 0
        while true {
            attempt += 1
            let keyed = try withoutShredded(try fetch(), id: \.id).map(KeyedRecord.init)
            let updates = try rekeyUpdates(keyed, keys: keys, holds: try holds(), reviewOn: reviewOn, scratch: scratch)
            try auditCreatedKEKs(keys, actor: .system)
            do {
                try vaulting { try commit(updates, keyed.count) }
                return keyed.count
            } catch VaultError.storage(.kekDestroyed(let id)) where attempt < 4 {
                try keys.destroy(ids: [id])
            } catch VaultError.storage(.recordsMoved) where attempt < 4 {
                continue
            }
        }
    }
}
