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
        public var actor: String
        public var clock: @Sendable () -> Date = Date.init

        public init(backup: String, snapshot: String?, target: String, publicKey: VaultPublicKey, keys: String?, ledger: String, actor: String) {
            self.backup = backup
            self.snapshot = snapshot
            self.target = target
            self.publicKey = publicKey
            self.keys = keys
            self.ledger = ledger
            self.actor = actor
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
    }

    /// Restores a backup snapshot into a new store folder (docs/backup.md, "Restore"). Nothing
    /// is written before the whole backup verifies, the ledger verifies under the vault's key and
    /// the key store (if given) holds a key for every record that stays. Then the database and
    /// blobs are copied (each checked again against the manifest), the ledger's records are
    /// deleted, a `restore` event is appended, and the restored audit log must verify against
    /// the tree size and root the signed manifest recorded. Any failure removes the new folder.
    public static func restore(_ request: RestoreRequest) throws -> RestoreSummary {
        let layout = StoreLayout(root: request.target)
        let fm = FileManager.default
        if fm.fileExists(atPath: layout.root) {
            guard ((try? fm.contentsOfDirectory(atPath: layout.root)) ?? ["?"]).isEmpty else { throw VaultError.storeExists(layout.root) }
        }
        let repo = BackupRepository(root: request.backup)
        let ids = try repo.snapshotIDs()
        guard let id = request.snapshot ?? ids.last else { throw VaultError.backup("\(repo.root) holds no snapshot to restore") }

        // 1. The whole folder, keyless: signatures, every file of the snapshot, no extra file.
        let (report, loaded) = try BackupCheck(repo: repo, publicKey: request.publicKey).run(only: id)
        guard report.isIntact, let manifest = loaded.first(where: { $0.0 == id })?.1 else {
            let named = report.problems.prefix(5).map { "\($0.kind) \($0.path): \($0.detail)" }.joined(separator: "; ")
            throw VaultError.backup("refusing to restore: the backup does not verify (\(report.problems.count) problems: \(named)); run strongroom backup verify")
        }
        let files = try repo.load(id, publicKey: request.publicKey)
        guard let vaultKey = VaultPublicKey(text: manifest.vaultPublicKey), let auditRoot = manifest.auditRoot else {
            throw VaultError.backup("snapshot \(id): the manifest's vault key or audit root is malformed")
        }

        // 2. The ledger, under the vault's key, and the key store backup.
        let ledgerBytes = try BackupFiles.read(request.ledger, limit: 1 << 30)
        guard let ledgerBytes else { throw VaultError.invalidArgument("the ledger \(request.ledger) does not exist; export one with strongroom ledger export") }
        let entries = try vaulting { try DeletionLedger.parse(ledgerBytes, vaultID: manifest.vaultID, publicKey: vaultKey) }
        let shredded = Set(entries.map(\.record))
        let keyStore = try request.keys.map { try Self.keyStoreFile(in: $0) }
        if let keyStore {
            let keysFolder = DurableFile.directory(of: keyStore)
            let (vaultID, _, keyStorePublicKey) = try vaulting { try KeyStore.descriptor(directory: keysFolder) }
            guard vaultID == manifest.vaultID, keyStorePublicKey == vaultKey else {
                throw VaultError.backup("the key store backup \(keyStore) belongs to another vault than the snapshot")
            }
            if let head = try vaulting({ try KeyStore.ledgerHead(directory: keysFolder) }) {
                guard head.seq <= Int64(entries.count), entries[Int(head.seq) - 1].hash == head.hash else {
                    throw VaultError.backup("the ledger \(request.ledger) is older than the key store backup (it ends before entry \(head.seq)); export a current ledger")
                }
            }
        }
        let facts = try vaulting { try SQLiteCatalog.snapshotFacts(path: repo.path(manifest.database)) }
        guard facts.vaultID == manifest.vaultID, facts.auditTreeSize == manifest.audit.treeSize, facts.auditRoot == auditRoot else {
            throw VaultError.backup("snapshot \(id): the database does not match its manifest's vault or audit tree head")
        }
        let unexplained = manifest.omitted.map(\.record).filter { !shredded.contains($0) }
        guard unexplained.isEmpty else {
            throw VaultError.backup("snapshot \(id) has no blob for \(unexplained.count) records the ledger does not name (\(unexplained.prefix(3).joined(separator: ", "))); restore an older snapshot or give a current ledger")
        }
        let kept = facts.records.filter { !shredded.contains($0.id) }
        if let keyStore {
            let infos = try vaulting { try KeyStore.kekInfos(directory: DurableFile.directory(of: keyStore)) }
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

        // 3. Copy, checking every byte against the manifest again; then replay and audit.
        let createdRoot = !fm.fileExists(atPath: layout.root)
        do {
            if createdRoot { guard mkdir(layout.root, 0o700) == 0 else { throw VaultError.storage(.io(operation: "mkdir", path: layout.root, errno: errno)) } }
            guard mkdir(layout.keys, 0o700) == 0 else { throw VaultError.storage(.io(operation: "mkdir", path: layout.keys, errno: errno)) }
            let blobStore = FileBlobStore(root: layout.blobs)
            try vaulting { try blobStore.createLayout() }
            let byPath = Dictionary(uniqueKeysWithValues: files.files.map { ($0.path, $0) })
            var copies: [(from: String, to: String, expected: BackupFile)] = [(repo.path(manifest.database), layout.metadata, byPath[manifest.database]!)]
            for shard in Set(kept.map { String($0.id.prefix(2)) }) {
                guard mkdir(layout.blobs + "/" + shard, 0o700) == 0 || errno == EEXIST else {
                    throw VaultError.storage(.io(operation: "mkdir", path: layout.blobs + "/" + shard, errno: errno))
                }
            }
            for record in kept {
                let path = BackupFile.blobPath(record.id)
                guard let file = byPath[path] else { throw VaultError.backup("snapshot \(id) does not list the blob of record \(record.id)") }
                copies.append((repo.path(path), blobStore.path(record.id), file))
            }
            let work = copies
            try BackupFiles.parallel(work.count) { i, buffer in
                let copy = work[i]
                guard let done = try BackupFiles.copy(from: copy.from, to: copy.to, buffer: buffer) else {
                    throw VaultError.backup("\(copy.expected.path) disappeared from the backup during the restore")
                }
                guard done.size == copy.expected.size, done.blake2b == copy.expected.blake2b else {
                    throw VaultError.backup("\(copy.expected.path) changed during the restore (its BLAKE2b no longer matches the manifest)")
                }
            }
            if let keyStore {
                guard let bytes = try BackupFiles.read(keyStore, limit: 64 << 20) else { throw VaultError.backup("\(keyStore) disappeared during the restore") }
                try BackupFiles.create(layout.keyStore, bytes: bytes)
            }
            try BackupFiles.create(layout.keys + "/" + DeletionLedger.fileName, bytes: ledgerBytes)
            try BackupFiles.syncFilesystem(layout.root)

            let catalog = try vaulting { try SQLiteCatalog.open(path: layout.metadata, vaultID: manifest.vaultID, clock: request.clock) }
            defer { catalog.close() }
            let schools = Dictionary(uniqueKeysWithValues: facts.records.map { ($0.id, $0.school) })
            let requests = Set(entries.filter { schools[$0.record] != nil }.map(\.request))
            let actor = request.actor
            let keysRestored = keyStore != nil
            let reshredded = try vaulting {
                try catalog.replayShreds(records: shredded, requests: requests) { deleted in
                    deleted.map { AuditEntry(actor: actor, action: "shred-replay", outcome: .ok, school: schools[$0], record: $0, reason: "named by the deletion ledger; shredded after snapshot \(id) was taken") }
                        + [AuditEntry(actor: actor, action: "restore", outcome: .ok,
                                      reason: "snapshot \(id): \(kept.count) records restored, \(deleted.count) shredded again from \(entries.count) ledger entries, key store \(keysRestored ? "restored" : "not given")")]
                }
            }
            let audit = try vaulting {
                try AuditVerifier(vaultID: manifest.vaultID, publicKey: vaultKey).verify(
                    catalog, anchor: .init(size: manifest.audit.treeSize, root: auditRoot, source: "backup manifest of snapshot \(id)"))
            }
            guard audit.isIntact else {
                throw VaultError.backup("the restored audit log does not verify against the backup's tree head: \(audit.problems.first.map { $0.detail } ?? "")")
            }
            try BackupFiles.syncFilesystem(layout.root)
            return RestoreSummary(
                snapshot: id, store: layout.root, records: kept.count, reshredded: reshredded, ledgerEntries: entries.count,
                keysRestored: keysRestored, auditTreeSize: audit.eventCount)
        } catch {
            if createdRoot { try? BackupFiles.removeTree(layout.root) } else {
                for name in (try? BackupFiles.entries(layout.root)) ?? [] { try? BackupFiles.removeTree(layout.root + "/" + name) }
            }
            throw VaultError.wrap(error)
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
