import Foundation
import KeyManagement
import Storage

// The store's audit witness (docs/audit.md, "Witness") is named in the key store, signed with
// the vault key, so someone who can write the store can neither turn it off nor point it
// elsewhere; `STRONGROOM_AUDIT_WITNESS` (Vault.Options.witnessPath) names it from outside the
// store too, which also holds against someone who puts back older copies of keys/ and the
// database together.

extension Vault {
    /// The witness this store writes to, if one is set.
    public var witnessPath: String? { catalog.witness?.path }

    func setWitness(path: String, by caller: Caller) throws -> (checkpoint: Checkpoint, sameFileSystem: Bool) {
        try requireOperator(caller, .auditWitness)
        let actor = caller.actor
        _ = try requireKeys("setting the audit witness")
        guard path.hasPrefix("/") else { throw VaultError.invalidArgument("the witness must be given as an absolute path") }
        let folder = DurableFile.directory(of: path)
        var folderInfo = stat(), storeInfo = stat()
        guard stat(folder, &folderInfo) == 0, folderInfo.st_mode & S_IFMT == S_IFDIR else {
            throw VaultError.invalidArgument("the witness's folder \(folder) does not exist")
        }
        guard stat(layout.root, &storeInfo) == 0 else { throw VaultError.storage(.io(operation: "stat", path: layout.root, errno: errno)) }
        let realFolder = URL(fileURLWithPath: folder).resolvingSymlinksInPath().path
        let realStore = URL(fileURLWithPath: layout.root).resolvingSymlinksInPath().path
        if realFolder == realStore || realFolder.hasPrefix(realStore + "/") {
            throw VaultError.invalidArgument("the witness must be outside the store: whoever can write the store could rewrite it too")
        }
        if FileManager.default.fileExists(atPath: path) {
            let existing = AuditWitness(path: path)
            let ours = try vaulting { try existing.all(vaultID: vaultID) }
            let lines = (try? DurableFile.read(path))?.split(separator: 0x0a).count ?? 0
            guard ours.count == lines else {
                throw VaultError.invalidArgument("\(path) is not a witness of this vault: it holds other lines than this vault's checkpoints")
            }
            let report = try vaulting { try AuditVerifier(vaultID: vaultID, publicKey: publicKey).verify(catalog, witness: ours) }
            guard report.isIntact else {
                throw VaultError.storage(.auditRewritten("the audit log does not extend every checkpoint in \(path)"))
            }
        }
        let keys = try requireKeys("setting the audit witness")
        try vaulting { try keys.setAuditWitness(path: path) }
        try audit(AuditEntry(actor: actor, action: .auditWitness, outcome: .ok, reason: "checkpoints are copied to a witness outside the store"))
        guard let checkpoint = try vaulting({ try catalog.latestCheckpoint() }) else {
            throw VaultError.storage(.auditUnavailable("no checkpoint was written"))
        }
        try vaulting { try AuditWitness.append(checkpoint, to: path) }
        return (checkpoint, folderInfo.st_dev == storeInfo.st_dev)
    }

    func clearWitness(by caller: Caller) throws {
        try requireOperator(caller, .auditWitness)
        let actor = caller.actor
        let keys = try requireKeys("turning the audit witness off")
        try audit(AuditEntry(actor: actor, action: .auditWitness, outcome: .ok, reason: "the witness was turned off"))
        try vaulting { try keys.setAuditWitness(path: nil) }
    }
}
