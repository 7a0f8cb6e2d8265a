import Foundation
import KeyManagement
import Storage

extension Vault {
    /// Restores a backup snapshot into a new database and bucket prefix (docs/backup.md,
    /// "Restoring onto PostgreSQL and an object store"): into a private temporary store folder
    /// first, exactly as `restore` does (every check, the deletion ledger replayed, the audit
    /// log verified against the manifest), then moved there as `migrate` moves a store, and the
    /// temporary folder removed, whatever happens. The key store backup is required: the new
    /// store is opened with the master key to be checked. A target holding a store is refused
    /// before anything is read.
    public static func restore(_ request: RestoreRequest, into target: MigrationRequest) throws -> (restored: RestoreSummary, moved: MigrationSummary) {
        try requireOperator(request.caller, "restore a store")
        guard request.keys != nil else {
            throw VaultError.invalidArgument("restoring into a database needs the key store backup (--keys): the new store is opened with the master key to be checked")
        }
        try requireEmptyTarget(target)
        let folder = try temporaryFolder()
        defer { try? BackupFiles.removeTree(folder) }
        var local = request
        local.target = folder + "/store"
        let restored = try restore(local)
        var move = target
        move.source = StoreLayout(root: local.target)
        move.caller = request.caller
        let moved = try migrate(move)
        return (restored, moved)
    }

    /// A new folder only this user can enter, under `$TMPDIR` (else /tmp).
    private static func temporaryFolder() throws -> String {
        let base = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array((base + "/strongroom-restore-XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw VaultError.storage(.io(operation: "mkdtemp", path: base, errno: errno))
        }
        return String(cString: made)
    }
}
