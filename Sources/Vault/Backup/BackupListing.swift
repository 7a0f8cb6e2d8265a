import Foundation
import KeyManagement
import Storage

extension Vault {
    public struct BackupListing: Sendable, Codable {
        public var snapshot: String
        public var createdAt: String?
        public var records: Int?
        public var files: Int?
        public var bytes: Int64?
        public var auditTreeSize: Int?
        public var signingKey: String?
        /// Why the snapshot's manifest does not load (then the other fields are nil).
        public var problem: String?
    }

    /// The snapshots of a backup folder, oldest first, from their manifests (each checked
    /// against the key it names; `backup verify --public-key` checks who signed it).
    public static func listBackups(at directory: String) throws -> [BackupListing] {
        let repo = BackupRepository(root: directory)
        return try repo.snapshotIDs().map { id in
            do {
                let (manifest, files) = try repo.load(id, publicKey: nil)
                return BackupListing(
                    snapshot: id, createdAt: manifest.createdAt, records: manifest.records, files: files.count,
                    bytes: files.reduce(0) { $0 + $1.size }, auditTreeSize: manifest.audit.treeSize, signingKey: manifest.signingKey)
            } catch {
                return BackupListing(snapshot: id, problem: "\(error)")
            }
        }
    }

    public struct PruneSummary: Sendable, Codable {
        public var kept: [String]
        public var removed: [String]
        public var blobsRemoved: Int
        public var bytesFreed: Int64
    }

    func pruneBackups(at directory: String, keep: Int, publicKey: VaultPublicKey? = nil, discard: [String] = [], by caller: Caller) throws -> PruneSummary {
        try requireOperator(caller, .backupPrune)
        let actor = caller.actor
        guard keep >= 1 else { throw VaultError.invalidArgument("--keep must be at least 1") }
        let repo = BackupRepository(root: directory)
        try repo.requireNotAStore()
        try repo.requireOutside(store: layout.root)
        for folder in [repo.root, repo.snapshots, repo.blobs] where try !BackupFiles.requireFolder(folder) {
            throw VaultError.backup("\(repo.root) is not a Strongroom backup folder (no \(folder))")
        }
        let lock = try repo.lock()
        defer { withExtendedLifetime(lock) {} }
        let ids = try repo.snapshotIDs()
        let discard = Array(Set(discard)).sorted()
        for id in discard where !ids.contains(id) { throw VaultError.backup("there is no snapshot \(id) in \(repo.root) to discard") }
        guard ids.contains(where: { !discard.contains($0) }) else {
            throw VaultError.backup("refusing to discard every snapshot of \(repo.root): at least one must stay (to drop the whole backup, delete the folder)")
        }
        var loaded: [(id: String, created: Int64, manifest: BackupManifest, files: [BackupFile])] = []
        for id in ids where !discard.contains(id) {
            do {
                let (manifest, files) = try repo.load(id, publicKey: publicKey)
                loaded.append((id, manifest.createdAtMillis, manifest, files))
            } catch {
                throw VaultError.backup("refusing to prune: snapshot \(id) does not load (\(error)); run strongroom backup verify, and remove a snapshot that cannot be repaired with --discard \(id)")
            }
        }
        if let first = loaded.first, let odd = loaded.first(where: { $0.manifest.signingKey != first.manifest.signingKey || $0.manifest.vaultID != first.manifest.vaultID }) {
            throw VaultError.backup("refusing to prune: snapshots \(first.id) and \(odd.id) are signed by different backup keys or belong to different vaults; give --public-key to say whose snapshots count, and --discard the others")
        }
        // The removals are recorded in this store's log: it must be the store they were taken from.
        if let foreign = loaded.first(where: { $0.manifest.vaultID != vaultID }) {
            throw VaultError.backup("refusing to prune: snapshot \(foreign.id) is of vault \(foreign.manifest.vaultID), not of this store (\(vaultID)); prune with --store naming the store the backups were taken from")
        }
        loaded.sort { ($0.created, $0.id) < ($1.created, $1.id) }
        let kept = Array(loaded.suffix(keep))
        let removed = Array(loaded.dropLast(keep)).map(\.id) + discard
        var referenced = Set<String>()
        for snapshot in kept { referenced.formUnion(snapshot.files.map(\.path)) }
        let folderID = try repo.establishFolderID()
        // Recorded before anything is removed: no audit record, no removal.
        try auditBackup(removed.map { id in
            AuditEntry(actor: actor, action: BackupLog.pruneAction, outcome: .ok, reason: BackupLog.reason(
                snapshot: id, folder: folderID, discard.contains(id) ? "discarded (backup prune --discard)" : "pruned, \(kept.count) newer snapshots kept"))
        })
        try removeUnfinished(repo, folderID: folderID, actor: actor)
        let sync = try FilesystemSync(repo.root)
        for id in removed {
            // Renamed first, so a crash mid-removal leaves a partial folder, never half a snapshot.
            let doomed = repo.snapshots + "/" + BackupRepository.partialPrefix + "pruned-" + id
            guard rename(repo.snapshotFolder(id), doomed) == 0 else {
                throw VaultError.storage(.io(operation: "rename", path: repo.snapshotFolder(id), errno: errno))
            }
            try BackupFiles.fsyncDirectory(repo.snapshots)
            try BackupFiles.removeTree(doomed)
        }
        for name in try BackupFiles.entries(repo.snapshots) where name.hasPrefix(BackupRepository.partialPrefix) {
            try BackupFiles.removeTree(repo.snapshots + "/" + name)
        }
        var summary = PruneSummary(kept: kept.map(\.id), removed: removed, blobsRemoved: 0, bytesFreed: 0)
        for shard in try BackupFiles.entries(repo.blobs) {
            let folder = repo.blobs + "/" + shard
            // A symlink here could lead the unlinks below into another folder (the live store's).
            guard try BackupFiles.requireFolder(folder) else { continue }
            for name in try BackupFiles.entries(folder) {
                let relative = BackupRepository.blobsFolder + "/" + shard + "/" + name
                // Only names backups write are deleted; anything else is left for verify to name.
                guard !referenced.contains(relative), BackupRepository.isBackupBlobName(name, shard: shard) else { continue }
                var info = stat()
                if lstat(folder + "/" + name, &info) == 0 { summary.bytesFreed += Int64(info.st_size) }
                guard unlink(folder + "/" + name) == 0 || errno == ENOENT else {
                    throw VaultError.storage(.io(operation: "unlink", path: folder + "/" + name, errno: errno))
                }
                summary.blobsRemoved += 1
            }
        }
        try sync.sync()
        return summary
    }
}
