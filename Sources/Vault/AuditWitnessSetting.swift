import Foundation
import KeyManagement
import Storage

/// Where the store's audit witness lives: `STORE/audit-witness.json`, `{"format":
/// "strongroom-audit-witness", "path": "/absolute/path"}`, set by the operator with
/// `strongroom audit witness FILE` (docs/audit.md, "Witness"). Every process that opens the
/// store reads it: keyed ones copy their checkpoints there and prove the log against its newest,
/// and `audit verify` checks the log against every checkpoint in it.
struct AuditWitnessSetting: Codable {
    static let formatName = "strongroom-audit-witness"
    var format = AuditWitnessSetting.formatName
    var path: String

    static func load(_ layout: StoreLayout) throws -> AuditWitnessSetting? {
        let bytes: [UInt8]?
        do { bytes = try DurableFile.read(layout.witnessSetting, limit: 64 << 10, followLinks: false, regularOnly: true) } catch {
            throw VaultError.misconfigured("\(layout.witnessSetting) cannot be read: \(error)")
        }
        guard let bytes else { return nil }
        guard let setting = try? JSONDecoder().decode(AuditWitnessSetting.self, from: Data(bytes)),
              setting.format == formatName, setting.path.hasPrefix("/") else {
            throw VaultError.misconfigured("\(layout.witnessSetting) is not an audit witness setting; set it again with strongroom audit witness FILE")
        }
        return setting
    }
}

extension StoreLayout {
    public var witnessSetting: String { root + "/audit-witness.json" }
}

extension Vault {
    /// The witness this store writes to, if one is set.
    public var witnessPath: String? { (catalog as? SQLiteCatalog)?.witness?.path }

    /// Names `path` as the store's witness and writes a freshly signed checkpoint to it at once.
    /// The file must be outside the store (someone who can write the store must not be able to
    /// write it); one on the same file system is allowed but reported in the result, since a
    /// lost disk then takes both. An existing witness file must hold this vault's checkpoints
    /// only, and the log must extend every one of them.
    public func setWitness(path: String, actor: String) throws -> (checkpoint: Checkpoint, sameFileSystem: Bool) {
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
        let setting = AuditWitnessSetting(path: path)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try vaulting { try DurableFile.write(Array(try encoder.encode(setting)) + [0x0a], to: layout.witnessSetting, mode: 0o600) }
        try audit(AuditEntry(actor: actor, action: "audit-witness", outcome: .ok, reason: "checkpoints are copied to a witness outside the store"))
        guard let checkpoint = try vaulting({ try catalog.latestCheckpoint() }) else {
            throw VaultError.storage(.auditUnavailable("no checkpoint was written"))
        }
        try vaulting { try AuditWitness.append(checkpoint, to: path) }
        return (checkpoint, folderInfo.st_dev == storeInfo.st_dev)
    }

    /// Stops copying checkpoints to a witness (audited; the witness file itself is left).
    public func clearWitness(actor: String) throws {
        _ = try requireKeys("turning the audit witness off")
        try audit(AuditEntry(actor: actor, action: "audit-witness", outcome: .ok, reason: "the witness was turned off"))
        if unlink(layout.witnessSetting) != 0 && errno != ENOENT {
            throw VaultError.storage(.io(operation: "unlink", path: layout.witnessSetting, errno: errno))
        }
    }
}
