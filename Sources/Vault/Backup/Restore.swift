import Foundation
import KeyManagement
import Storage

extension Vault {
    public struct RestoreRequest: Sendable {
        public var backup: String
        /// Which snapshot; the newest when nil.
        public var snapshot: String?
        public var target: String
        /// The backup operator's public key that must have signed the snapshot.
        public var publicKey: VaultPublicKey
        /// A key-store backup folder (`keys backup`) or a `keystore.json`; without it the restored
        /// store has no key store yet and cannot be opened until one is put in `keys/`.
        public var keys: String?
        /// A current deletion ledger (`ledger export`), replayed before the store serves anything.
        public var ledger: String
        /// The operator restoring (only the operator at the CLI restores a store).
        public var caller: Caller
        /// The live store the backups were taken from, opened without a key: when given, the
        /// restore refuses if its audit log records snapshots that are gone from the folder.
        public var liveStore: Vault?
        public var clock: @Sendable () -> Date = Date.init

        public init(backup: String, snapshot: String?, target: String, publicKey: VaultPublicKey, keys: String?, ledger: String, by caller: Caller) {
            self.backup = backup
            self.snapshot = snapshot
            self.target = target
            self.publicKey = publicKey
            self.keys = keys
            self.ledger = ledger
            self.caller = caller
        }
    }

    public struct RestoreSummary: Sendable, Codable {
        public var snapshot: String
        public var store: String
        public var records: Int
        /// Records of the snapshot the deletion ledger names: not restored (their rows and blobs
        /// are left out, and no key opens them).
        public var reshredded: [String]
        public var ledgerEntries: Int
        public var keysRestored: Bool
        public var auditTreeSize: Int
        /// Whether the folder was compared with the live store's audit log (no snapshot missing).
        public var comparedWithStore: Bool
        /// Problems of the backup folder that do not touch the restored snapshot (other
        /// snapshots, files no snapshot lists), and what could not be checked.
        public var warnings: [String]
    }

    /// Restores a backup snapshot into a new store folder (docs/backup.md, "Restore"). Nothing
    /// is written before the whole backup verifies, the ledger verifies under the vault's key and
    /// the key store (if given) holds a key for every record that stays. Then the database and
    /// blobs are copied (each checked again against the manifest), the ledger's records are
    /// deleted, a `restore` event is appended, and the restored audit log must verify against
    /// the tree size and root the signed manifest recorded. Any failure removes the new folder.
    public static func restore(_ request: RestoreRequest) throws -> RestoreSummary {
        try requireOperator(request.caller, "restore a store")
        let layout = StoreLayout(root: request.target)
        let fm = FileManager.default
        if fm.fileExists(atPath: layout.root) {
            guard ((try? fm.contentsOfDirectory(atPath: layout.root)) ?? ["?"]).isEmpty else { throw VaultError.storeExists(layout.root) }
        }
        let repo = BackupRepository(root: request.backup)
        let ids = try repo.snapshotIDs()
        guard let id = request.snapshot ?? ids.last else { throw VaultError.backup("\(repo.root) holds no snapshot to restore") }

        // 1. The snapshot, keyless: its signature, manifest and every file it lists. Problems of
        //    other snapshots or files it does not list cannot change what is restored: they are
        //    reported as warnings, so one damaged or foreign snapshot never blocks a restore.
        let (report, loaded) = try BackupCheck(repo: repo, publicKey: request.publicKey).run(only: id)
        let snapshot = loaded.first(where: { $0.id == id })
        let ownFiles = Set(snapshot?.files.map(\.path) ?? [])
        let ownFolder = BackupRepository.snapshotsFolder + "/" + id + "/"
        let blocking = report.problems.filter { $0.path.hasPrefix(ownFolder) || ($0.kind != "extra" && ownFiles.contains($0.path)) }
        guard blocking.isEmpty, let snapshot else {
            let named = (blocking.isEmpty ? report.problems : blocking).prefix(5).map { "\($0.kind) \($0.path): \($0.detail)" }.joined(separator: "; ")
            throw VaultError.backup("refusing to restore: snapshot \(id) does not verify (\(named)); run strongroom backup verify")
        }
        let warnings = report.problems.filter { problem in !blocking.contains(problem) }.map { "\($0.kind) \($0.path): \($0.detail)" }
        let manifest = snapshot.manifest
        // The newest snapshot of a folder holding several vaults' backups may be another vault's.
        if request.snapshot == nil, let other = ids.first(where: { (try? repo.load($0, publicKey: request.publicKey))?.manifest.vaultID ?? manifest.vaultID != manifest.vaultID }) {
            throw VaultError.backup("\(repo.root) holds snapshots of more than one vault (\(id) and \(other)); name the snapshot to restore with --snapshot")
        }
        // 1b. With the live store: a snapshot its log records that is gone from the folder means
        //     the folder was changed behind Strongroom's back (the newest deleted, say), and
        //     "the newest" here may be an older state than the store had backed up.
        if let live = request.liveStore {
            let missing = try live.missingBackupSnapshots(repo, manifests: [manifest])
            guard missing.isEmpty else {
                throw VaultError.backup("refusing to restore: the store's audit log records \(missing.count) snapshots taken into \(repo.root) that are not in it and were not pruned: \(missing.map { "\($0.snapshot) (taken at \($0.takenAt))" }.joined(separator: ", ")); the folder was changed since. Restore from another copy of the backups, or, knowing that those states are lost, run restore without --store")
            }
        }
        guard let vaultKey = VaultPublicKey(text: manifest.vaultPublicKey), let auditRoot = manifest.auditRoot else {
            throw VaultError.backup("snapshot \(id): the manifest's vault key or audit root is malformed")
        }

        // 2. The ledger under the vault's key; the key store's bytes, read once (what is checked
        //    is what is installed).
        let ledgerBytes = try BackupFiles.read(request.ledger, limit: 1 << 30, followLinks: true)
        guard let ledgerBytes else { throw VaultError.invalidArgument("the ledger \(request.ledger) does not exist; export one with strongroom ledger export") }
        let entries = try vaulting { try DeletionLedger.parse(ledgerBytes, vaultID: manifest.vaultID, publicKey: vaultKey) }
        let shredded = Set(entries.map(\.record))
        let keyStoreBytes = try request.keys.map { keys -> [UInt8] in
            guard let bytes = try BackupFiles.read(try Self.keyStoreFile(in: keys), limit: 64 << 20, followLinks: true) else {
                throw VaultError.invalidArgument("the key store backup \(keys) cannot be read")
            }
            return bytes
        }
        let unexplained = manifest.omitted.map(\.record).filter { !shredded.contains($0) }
        guard unexplained.isEmpty else {
            throw VaultError.backup("snapshot \(id) has no blob for \(unexplained.count) records the ledger does not name (\(unexplained.prefix(3).joined(separator: ", "))); restore an older snapshot or give a current ledger")
        }

        // 3. Everything is written into a hidden folder beside the target and renamed into place
        //    only when complete: a restore killed half-way leaves no store that opens.
        let parent = DurableFile.directory(of: layout.root)
        let staging = StoreLayout(root: parent + "/.restoring-" + Hex.encode(randomPublicBytes(6)) + "-" + (layout.root.split(separator: "/").last.map(String.init) ?? "store"))
        do {
            guard mkdir(staging.root, 0o700) == 0 else { throw VaultError.storage(.io(operation: "mkdir", path: staging.root, errno: errno)) }
            guard mkdir(staging.keys, 0o700) == 0 else { throw VaultError.storage(.io(operation: "mkdir", path: staging.keys, errno: errno)) }
            let sync = try FilesystemSync(staging.root)
            let byPath = Dictionary(uniqueKeysWithValues: snapshot.files.map { ($0.path, $0) })
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: BackupFiles.bufferSize, alignment: 64)
            defer { buffer.deallocate() }
            // The database first, checked against the manifest as it is copied; every decision
            // below is taken from this copy, not from the backup folder, which may change.
            let database = byPath[manifest.database]!
            guard case .copied = try BackupFiles.copy(
                from: repo.path(manifest.database), to: staging.metadata, expectedSize: database.size, expectedBlake2b: database.blake2b, buffer: buffer)
            else { throw VaultError.backup("\(manifest.database) changed during the restore (it no longer matches the manifest)") }
            let facts = try vaulting { try SQLiteCatalog.snapshotFacts(path: staging.metadata) }
            guard facts.vaultID == manifest.vaultID, facts.auditTreeSize == manifest.audit.treeSize, facts.auditRoot == auditRoot else {
                throw VaultError.backup("snapshot \(id): the database does not match its manifest's vault or audit tree head")
            }
            let kept = facts.records.filter { !shredded.contains($0.id) }
            if let keyStoreBytes {
                try BackupFiles.create(staging.keyStore, bytes: keyStoreBytes)
                try Self.checkKeyStore(in: staging.keys, vaultID: manifest.vaultID, vaultKey: vaultKey, entries: entries, kept: kept, snapshot: id)
            }
            let blobStore = FileBlobStore(root: staging.blobs)
            try vaulting { try blobStore.createLayout() }
            for shard in Set(kept.map { String($0.id.prefix(2)) }) {
                guard mkdir(staging.blobs + "/" + shard, 0o700) == 0 else {
                    throw VaultError.storage(.io(operation: "mkdir", path: staging.blobs + "/" + shard, errno: errno))
                }
            }
            var copies: [(from: String, to: String, expected: BackupFile)] = []
            for record in kept {
                let path = BackupFile.blobPath(record.id)
                guard let file = byPath[path] else { throw VaultError.backup("snapshot \(id) does not list the blob of record \(record.id)") }
                copies.append((repo.path(path), blobStore.path(record.id), file))
            }
            let work = copies
            try BackupFiles.parallel(work.count) { i, buffer in
                let copy = work[i]
                switch try BackupFiles.copy(
                    from: copy.from, to: copy.to, expectedSize: copy.expected.size, expectedBlake2b: copy.expected.blake2b, buffer: buffer) {
                case .copied: break
                case .sourceMissing: throw VaultError.backup("\(copy.expected.path) disappeared from the backup during the restore")
                case .mismatch: throw VaultError.backup("\(copy.expected.path) changed during the restore (it no longer matches the manifest)")
                }
            }
            try BackupFiles.create(staging.keys + "/" + DeletionLedger.fileName, bytes: ledgerBytes)
            CrashPoint.hit("restore-copied")

            let catalog = try vaulting { try SQLiteCatalog.open(path: staging.metadata, vaultID: manifest.vaultID, clock: request.clock) }
            let schools = Dictionary(uniqueKeysWithValues: facts.records.map { ($0.id, $0.school) })
            let requests = Set(entries.filter { schools[$0.record] != nil }.map(\.request))
            let actor = request.caller.actor
            let keysRestored = keyStoreBytes != nil
            let reshredded: [String]
            let audit: AuditReport
            do {
                defer { catalog.close() }
                // A snapshot of a store whose blobs were in an object store says so; restored,
                // they are in this folder.
                if let recorded = try vaulting({ try catalog.vaultSetting(BlobBackend.settingKey) }), recorded != BlobBackend.files.identity {
                    try vaulting { try catalog.setVaultSetting(BlobBackend.settingKey, BlobBackend.files.identity) }
                }
                reshredded = try vaulting {
                    try catalog.replayShreds(records: shredded, requests: requests) { deleted in
                        deleted.map { AuditEntry(actor: actor, action: .shredReplay, outcome: .ok, school: schools[$0], record: $0, reason: "named by the deletion ledger; shredded after snapshot \(id) was taken") }
                            + [AuditEntry(actor: actor, action: .restore, outcome: .ok,
                                          reason: "snapshot \(id): \(kept.count) records restored, \(deleted.count) shredded again from \(entries.count) ledger entries, key store \(keysRestored ? "restored" : "not given")")]
                    }
                }
                audit = try vaulting {
                    try AuditVerifier(vaultID: manifest.vaultID, publicKey: vaultKey).verify(
                        catalog, anchor: .init(size: manifest.audit.treeSize, root: auditRoot, source: "backup manifest of snapshot \(id)"))
                }
                // The deletions are in the write-ahead log; until it is checkpointed the main file
                // still holds the shredded rows and their wrapped keys. Empty it now (secure_delete
                // overwrites them), as a live shred does, before the store can be copied anywhere.
                try vaulting { try catalog.purgeWriteAheadLog() }
            }
            guard audit.isIntact else {
                throw VaultError.backup("the restored audit log does not verify against the backup's tree head: \(audit.problems.first.map { $0.detail } ?? "")")
            }
            try sync.sync()
            CrashPoint.hit("restore-synced")
            // rename(2) replaces an empty folder, and only an empty one.
            guard rename(staging.root, layout.root) == 0 else {
                if errno == ENOTEMPTY || errno == EEXIST { throw VaultError.storeExists(layout.root) }
                throw VaultError.storage(.io(operation: "rename", path: layout.root, errno: errno))
            }
            try BackupFiles.fsyncDirectory(parent)
            let unchecked = keysRestored ? [] : [
                "without --keys the ledger's freshness could not be checked: a ledger older than the key store would miss later shreds; the key store refuses to open the store with such a ledger",
            ]
            return RestoreSummary(
                snapshot: id, store: layout.root, records: kept.count, reshredded: reshredded, ledgerEntries: entries.count,
                keysRestored: keysRestored, auditTreeSize: audit.eventCount, comparedWithStore: request.liveStore != nil,
                warnings: warnings + unchecked)
        } catch {
            try? BackupFiles.removeTree(staging.root)
            throw VaultError.wrap(error)
        }
    }

    /// The restored key store belongs to the snapshot's vault, the ledger reaches the head it
    /// recorded, and it holds a live KEK for every record that stays.
    private static func checkKeyStore(
        in keys: String, vaultID: String, vaultKey: VaultPublicKey, entries: [LedgerEntry], kept: [SnapshotFacts.Record], snapshot id: String
    ) throws {
        let (keyStoreVault, _, keyStorePublicKey) = try vaulting { try KeyStore.descriptor(directory: keys) }
        guard keyStoreVault == vaultID, keyStorePublicKey == vaultKey else {
            throw VaultError.backup("the key store backup belongs to another vault than the snapshot")
        }
        if let head = try vaulting({ try KeyStore.ledgerHead(directory: keys) }) {
            guard head.seq >= 1, head.seq <= Int64(entries.count), entries[Int(head.seq) - 1].hash == head.hash else {
                throw VaultError.backup("the ledger is older than the key store backup (it ends before entry \(head.seq)); export a current ledger")
            }
        }
        let infos = try vaulting { try KeyStore.kekInfos(directory: keys) }
        let states = Dictionary(infos.map { ($0.id, $0.state) }, uniquingKeysWith: { $1 })
        let destroyed = kept.filter { states[$0.kekID] == .destroyed }
        guard destroyed.isEmpty else {
            throw VaultError.backup("\(destroyed.count) records of snapshot \(id) are under KEKs destroyed since (\(Set(destroyed.map(\.kekID)).sorted().prefix(3).joined(separator: ", "))), by a rotation or a shred: no key store opens them; restore a snapshot taken after the rotation")
        }
        let unknown = kept.filter { states[$0.kekID] == nil }
        guard unknown.isEmpty else {
            throw VaultError.backup("the key store backup has no key for \(unknown.count) records of the snapshot (KEKs \(Set(unknown.map(\.kekID)).sorted().prefix(3).joined(separator: ", "))); use a key store backup taken after this snapshot")
        }
    }

    /// `keys` names a key-store backup (`keys-<id>` made by `keys backup`), the folder given to
    /// `keys backup --to` (its newest key-store backup is used), or a `keystore.json`.
    static func keyStoreFile(in keys: String) throws -> String {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: keys, isDirectory: &isFolder) else {
            throw VaultError.invalidArgument("the key store backup \(keys) does not exist")
        }
        guard isFolder.boolValue else { return keys }
        if FileManager.default.fileExists(atPath: keys + "/" + KeyStore.fileName) { return keys + "/" + KeyStore.fileName }
        let newest = try BackupFiles.entries(keys).filter { $0.hasPrefix("keys-") }.sorted().last
        guard let newest, FileManager.default.fileExists(atPath: keys + "/" + newest + "/" + KeyStore.fileName) else {
            throw VaultError.invalidArgument("\(keys) holds no \(KeyStore.fileName); pass a folder made by strongroom keys backup")
        }
        return keys + "/" + newest + "/" + KeyStore.fileName
    }
}
