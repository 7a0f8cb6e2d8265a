import Foundation
import KeyManagement
import Storage

/// One KEK as `keys status` shows it.
public struct KEKStatus: Sendable, Equatable {
    public var info: KEKInfo
    /// Live records whose data key it wraps.
    public var records: Int
}

public struct RotationReport: Sendable, Equatable {
    /// Whether this call resumed a rotation a crash had interrupted.
    public var resumed: Bool
    public var retired: [String]
    public var rewrapped: Int
    /// Records whose wrapped key could not be opened (damaged, or its KEK destroyed): left where
    /// they are, and named by verify.
    public var skipped: [String]
}

/// The key lifecycle the operator drives from the CLI: status, rotation (re-wrapping every live
/// data key without touching a blob), destruction of retired KEKs after the key-store backup
/// window, and a change of master key. Every state change is an audit event.
extension Vault {
    /// Days a retired KEK is kept before `destroyRetiredKEKs` may destroy it: the key-store
    /// backup window, within which a restored data backup still finds its keys.
    public static let keyStoreBackupWindowDays = 35

    func keyStatus(by caller: Caller) throws -> [KEKStatus] {
        try requireOperator(caller, .kekRotate)
        let keys = try requireKeys("keys status")
        let counts = try vaulting { try catalog.recordCountsByKEK() }
        return keys.keks.map { KEKStatus(info: $0, records: counts[$0.id] ?? 0) }
    }

    public var rotationInProgress: Date? { keyStore?.rotationInProgress }

    func rotateKEKs(by caller: Caller, batchSize: Int = 5000, progress: ((Int) -> Void)? = nil) throws -> RotationReport {
        try requireOperator(caller, .kekRotate)
        let actor = caller.actor
        let keys = try requireKeys("keys rotate")
        let resumed = keys.rotationInProgress != nil
        let retired = try vaulting { try keys.beginRotation() }
        CrashPoint.hit("rotate-keys-changed")
        try auditCreatedKEKs(keys, actor: actor)
        if !resumed {
            try audit(AuditEntry(actor: actor, action: .kekRotateStart, outcome: .ok, reason: "\(retired.count) KEKs retired"))
        } else {
            // A rotation killed between the key store's change and its audit events left KEKs
            // the log never heard of: audit them now, and the resumption itself.
            let audited = Set(try vaulting { try catalog.auditReasons(action: AuditAction.kekCreate.rawValue) }.map { $0.split(separator: " ").first.map(String.init) ?? $0 })
            let unheard = keys.keks.filter { $0.state == .active && !audited.contains($0.id) }
            if !unheard.isEmpty {
                _ = try vaulting {
                    try catalog.append(unheard.map {
                        AuditEntry(actor: actor, action: .kekCreate, outcome: .ok, school: $0.school,
                                   reason: "\($0.id) for period \($0.period ?? "-") (created by an interrupted rotation)")
                    }, signer: try keys.auditSigner())
                }
            }
            try audit(AuditEntry(actor: actor, action: .kekRotateStart, outcome: .ok,
                                 reason: "resumed an interrupted rotation; \(unheard.count) KEKs it created audited now"))
        }
        CrashPoint.hit("rotate-started")
        var after: Int64 = 0
        var rewrapped = 0
        let scratch = try SecretBytes(count: DataKey.bytes)
        let skipped = SkippedRecords()
        while true {
            var step: (last: Int64?, changed: Int) = (nil, 0)
            for attempt in 1...2 {
                do {
                    step = try vaulting {
                        try catalog.rekeyPage(afterRowID: after, limit: batchSize) { [self] page, holds in
                            // A record the deletion ledger names (an older database put back) is
                            // not moved to a fresh KEK: its own is to be destroyed.
                            let gone = try shredded.snapshot()
                            let live = gone.isEmpty ? page : page.filter { !gone.contains($0.id) }
                            return try rekeyUpdates(live, keys: keys, holds: holds, scratch: scratch, skipped: skipped)
                        }
                    }
                    break
                } catch VaultError.storage(.kekDestroyed(let id)) where attempt == 1 {
                    try keys.destroy(ids: [id])
                }
            }
            try auditCreatedKEKs(keys, actor: actor)
            guard let last = step.last else { break }
            after = last
            rewrapped += step.changed
            progress?(rewrapped)
            CrashPoint.hit("rotate-batch")
        }
        try vaulting { try keys.finishRotation() }
        try audit(AuditEntry(actor: actor, action: .kekRotate, outcome: .ok,
                             reason: "\(resumed ? "resumed; " : "")\(rewrapped) data keys re-wrapped, \(skipped.ids.count) unopenable left in place"))
        return RotationReport(resumed: resumed, retired: retired, rewrapped: rewrapped, skipped: skipped.ids)
    }

    func destroyRetiredKEKs(olderThanDays days: Int = Vault.keyStoreBackupWindowDays, by caller: Caller) throws -> [String] {
        try requireOperator(caller, .kekDestroy)
        let actor = caller.actor
        let keys = try requireKeys("keys destroy-retired")
        guard days >= 0 else { throw VaultError.invalidArgument("--older-than must be 0 or more days") }
        let cutoff = clock().addingTimeInterval(-Double(days) * 86_400)
        let candidates = keys.keks.filter { $0.state == .retired && ($0.retiredAt ?? $0.createdAt) <= cutoff }.map(\.id)
        let destroyed = try destroyEmptyKEKs(Set(candidates), keys: keys, actor: actor,
                                             reason: "retired more than \(days) days ago, no live record")
        return destroyed.sorted()
    }

    func rotateMasterKey(to newMaster: MasterKeySource, by caller: Caller) throws {
        try requireOperator(caller, .masterRotate)
        let actor = caller.actor
        let keys = try requireKeys("keys rotate-master")
        let provider: any MasterKeyProvider
        switch newMaster {
        case .keyFile(let path):
            guard let path else { throw VaultError.invalidArgument("name the new master key file") }
            provider = try vaulting { try MasterKeyFile.create(at: path) }
        case .passphrase(let passphrase, let cost):
            provider = try vaulting { try PassphraseMasterKey.derive(passphrase: passphrase, parameters: .generate(cost: cost)) }
        case .provider(let p):
            provider = p
        }
        try vaulting { try keys.rotateMaster(to: provider) }
        try audit(AuditEntry(actor: actor, action: .masterRotate, outcome: .ok,
                             reason: "KEKs and signing key re-wrapped under a new \(provider.descriptor.kind.rawValue)"))
    }
}
