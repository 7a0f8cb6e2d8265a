import Foundation
import KeyManagement
import Storage

/// Which KEK a record's data key belongs under: the one of its school and retention period (the
/// month its review falls due), or its school's hold KEK while a legal hold covers it. Keeping
/// each period's keys under their own KEK is what lets a shred reach backups: when the last live
/// record of a period is gone, the period's KEK is destroyed, and every copy of those wrapped
/// keys, in any backup, is undecryptable (docs/keys.md).
extension Vault {
    static func kekPeriod(reviewOn: String, held: Bool) -> String {
        held ? KeyStore.holdPeriod : String(reviewOn.prefix(7))
    }

    /// The review date of a new or existing record of `child`.
    func reviewDate(kind: String, category: String, school: String, child: String, createdAt: Date) throws -> String {
        let rule = RetentionPolicy.rule(kind: kind, category: category) ?? RetentionPolicy.table[0]
        let dob = try vaulting { try catalog.dateOfBirth(school: school, child: child) }
        return RetentionPolicy.reviewDate(rule: rule, dateOfBirth: dob, createdAt: createdAt)
    }

    func activeHolds(school: String?) throws -> [Hold] {
        try vaulting { try catalog.activeHolds(school: school) }
    }

    /// Updates that move each record to the KEK its (new) review date and holds call for;
    /// records already there with that review date are left out. `scratch` carries each key.
    func rekeyUpdates(
        _ records: [EvidenceRecord], keys: KeyStore, holds: [Hold], reviewOn: (EvidenceRecord) -> String = { $0.reviewOn },
        scratch: SecretBytes
    ) throws -> [RecordKeyUpdate] {
        var out: [RecordKeyUpdate] = []
        for record in records {
            let review = reviewOn(record)
            let held = holds.contains { $0.covers(record) }
            let (targetID, target) = try keys.kek(school: record.school, period: Self.kekPeriod(reviewOn: review, held: held))
            if targetID == record.kekID {
                if review != record.reviewOn {
                    out.append(RecordKeyUpdate(record: record.id, fromKEK: record.kekID, toKEK: targetID, wrappedDEK: record.wrappedDEK, reviewOn: review))
                }
                continue
            }
            let version = UInt64(record.formatVersion)
            let wrapped = try KeyWrap.rewrapDataKey(
                Array(record.wrappedDEK),
                from: try keys.kek(id: record.kekID),
                DataKeyBinding(schoolID: record.school, recordID: record.id, formatVersion: version, kekID: record.kekID),
                to: target, DataKeyBinding(schoolID: record.school, recordID: record.id, formatVersion: version, kekID: targetID),
                scratch: scratch)
            out.append(RecordKeyUpdate(record: record.id, fromKEK: record.kekID, toKEK: targetID, wrappedDEK: Data(wrapped), reviewOn: review))
        }
        return out
    }

    /// Applies updates, retrying once if a target KEK was destroyed meanwhile by another process.
    func applyRekey(_ records: [EvidenceRecord], keys: KeyStore, holds: [Hold], reviewOn: (EvidenceRecord) -> String = { $0.reviewOn },
                    commit: ([RecordKeyUpdate]) throws -> Void) throws {
        let scratch = try SecretBytes(count: DataKey.bytes)
        for attempt in 1...2 {
            let updates = try rekeyUpdates(records, keys: keys, holds: holds, reviewOn: reviewOn, scratch: scratch)
            do {
                return try vaulting { try commit(updates) }
            } catch VaultError.storage(.kekDestroyed(let id)) where attempt == 1 {
                try keys.destroy(ids: [id])
            }
        }
    }
}
