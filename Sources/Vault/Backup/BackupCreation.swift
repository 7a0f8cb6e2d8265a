import Foundation
import KeyManagement
import Storage

extension Vault {
    public struct BackupSummary: Sendable, Codable {
        public var snapshot: String
        public var folder: String
        public var records: Int
        /// Blobs copied now, and blobs an earlier backup had already put in the folder.
        public var blobsCopied: Int
        public var blobsAlreadyPresent: Int
        public var bytesCopied: Int64
        public var omitted: [BackupManifest.Omitted]
        public var auditTreeSize: Int
        public var auditRoot: String
        /// Records whose blob in the store is missing or damaged (the backup names them; run verify).
        public var storeProblems: [String]
    }

    func createBackup(to directory: String, signingKey: AuditSigner, by caller: Caller) throws -> BackupSummary {
        try requireOperator(caller, .backupCreate)
        let actor = caller.actor
        guard let snapshotSource = catalog as? any BackupCatalogSource else {
            throw VaultError.invalidArgument("backup create cannot take a snapshot of this store's catalog")
        }
        let blobSource = BackupBlobSource(blobs)
        let repo = BackupRepository(root: directory)
        // A store without a folder (PostgreSQL) has none the backup folder could overlap.
        if hasFolder { try repo.requireOutside(store: layout.root) }
        try repo.createLayout()
        let lock = try repo.lock()
        defer { withExtendedLifetime(lock) {} }
        try requireOwnFolder(repo, signingKey: signingKey.publicKey)
        let folderID = try repo.establishFolderID()
        try removeUnfinished(repo, folderID: folderID, actor: actor)
        let now = clock()
        let id = Self.backupID(now)
        let partial = repo.snapshots + "/" + BackupRepository.partialPrefix + id
        guard mkdir(partial, 0o700) == 0 else { throw VaultError.storage(.io(operation: "mkdir", path: partial, errno: errno)) }
        let created = CreatedFiles()
        var audited = false
        do {
            let sync = try FilesystemSync(repo.root)
            let summary = try writeSnapshot(
                id: id, into: partial, repo: repo, snapshotSource: snapshotSource, blobSource: blobSource, signingKey: signingKey, actor: actor, now: now,
                created: created)
            try sync.sync()
            // Audited before the snapshot appears: no audit record, no backup. The event names the
            // snapshot and the folder, so `backup verify --store` can tell when it has gone.
            try audit(AuditEntry(
                actor: actor, action: BackupLog.createAction, outcome: summary.storeProblems.isEmpty ? .ok : .failed,
                reason: BackupLog.reason(snapshot: id, folder: folderID, "\(summary.records) records, \(summary.blobsCopied) blobs copied, \(summary.blobsAlreadyPresent) already present, \(summary.omitted.count) omitted")))
            audited = true
            Self.afterBackupEvent?()
            guard rename(partial, repo.snapshotFolder(id)) == 0 else {
                throw VaultError.storage(.io(operation: "rename", path: repo.snapshotFolder(id), errno: errno))
            }
            try BackupFiles.fsyncDirectory(repo.snapshots)
            return summary
        } catch {
            // Nothing of a failed backup stays: its snapshot folder and the blobs it added (which
            // no snapshot lists, and `verify` would name as extra). A snapshot whose event was
            // written is recorded as removed, or the log would name it as deleted from the folder.
            try? BackupFiles.removeTree(partial)
            for path in created.all { unlink(path) }
            if audited {
                try? auditBackup([AuditEntry(
                    actor: actor, action: BackupLog.pruneAction, outcome: .failed,
                    reason: BackupLog.reason(snapshot: id, folder: folderID, "not published: the backup failed after its event was written"))])
            }
            throw VaultError.wrap(error)
        }
    }

    /// Removes what interrupted backups and prunes left (`.partial-` folders). A backup killed
    /// between its event and its rename left a snapshot the log records: its removal is
    /// recorded too (before it happens), so the log's account of the folder stays whole.
    func removeUnfinished(_ repo: BackupRepository, folderID: String, actor: AuditActor) throws {
        let leftovers = try BackupFiles.entries(repo.snapshots).filter { $0.hasPrefix(BackupRepository.partialPrefix) }
        let unpublished = leftovers.map { String($0.dropFirst(BackupRepository.partialPrefix.count)) }.filter(BackupLog.isSnapshotID)
        try auditBackup(unpublished.map {
            AuditEntry(actor: actor, action: BackupLog.pruneAction, outcome: .ok,
                       reason: BackupLog.reason(snapshot: $0, folder: folderID, "not published: left by a backup that did not finish, removed"))
        })
        for name in leftovers { try BackupFiles.removeTree(repo.snapshots + "/" + name) }
    }

    /// A backup folder holds one vault's snapshots, signed by one backup key: mixed, a restore of
    /// "the newest" could bring back another school's store, and a prune could let one key's
    /// snapshots decide what happens to the other's blobs. Snapshots that do not load at all are
    /// left to `backup verify` to report.
    private func requireOwnFolder(_ repo: BackupRepository, signingKey: VaultPublicKey) throws {
        for id in try repo.snapshotIDs() {
            guard let (manifest, _) = try? repo.load(id, publicKey: nil) else { continue }
            guard manifest.vaultID == vaultID else {
                throw VaultError.backup("\(repo.root) holds snapshot \(id) of another vault (\(manifest.vaultID)); give each store a backup folder of its own")
            }
            guard manifest.signingKey == signingKey.minisignBase64 else {
                throw VaultError.backup("\(repo.root) holds snapshot \(id) signed by another backup key; after changing the backup key, start a new backup folder (or remove the old snapshots with backup prune --discard)")
            }
        }
    }

    /// Tests run a shred here, between the database snapshot and the blob copies.
    nonisolated(unsafe) static var afterBackupSnapshot: (() -> Void)?
    /// Tests make the publishing rename fail here, after the backup's event was written.
    nonisolated(unsafe) static var afterBackupEvent: (() -> Void)?

    private func writeSnapshot(
        id: String, into partial: String, repo: BackupRepository, snapshotSource: any BackupCatalogSource, blobSource: BackupBlobSource,
        signingKey: AuditSigner, actor: AuditActor, now: Date, created: CreatedFiles
    ) throws -> BackupSummary {
        let databasePath = BackupRepository.snapshotsFolder + "/" + id + "/" + SQLiteCatalog.fileName
        let snapshotFile = partial + "/" + SQLiteCatalog.fileName
        try vaulting { try snapshotSource.snapshot(into: snapshotFile) }
        let facts = try vaulting { try SQLiteCatalog.snapshotFacts(path: snapshotFile) }
        guard facts.vaultID == vaultID else { throw VaultError.backup("the database snapshot belongs to another vault") }
        Self.afterBackupSnapshot?()

        for shard in Set(facts.records.map { String($0.id.prefix(2)) }) {
            let folder = repo.blobs + "/" + shard
            if try !BackupFiles.requireFolder(folder) {
                guard mkdir(folder, 0o700) == 0 else { throw VaultError.storage(.io(operation: "mkdir", path: folder, errno: errno)) }
            }
        }
        // What the folder already holds: blobs a completed snapshot signed with this key lists
        // (durable before that snapshot was published) and that are still there by name. Any other
        // file under a blob's name, left by a backup that did not finish, is copied afresh.
        let listed = try repo.newestBlobSizes(signedBy: signingKey.publicKey)
        let present = try repo.blobKeys()
        enum Outcome: Sendable { case present, copied(Int64), gone, damaged }
        // In id order, which is the order of their paths in files.txt (sorted as integers).
        var keyed: [(key: BlobKey, index: Int)] = []
        keyed.reserveCapacity(facts.records.count)
        for (i, record) in facts.records.enumerated() {
            guard let key = BlobKey(record: record.id) else { throw VaultError.backup("the snapshot holds a malformed record id") }
            keyed.append((key, i))
        }
        keyed.sort { $0.key < $1.key }
        let records = keyed.map { facts.records[$0.index] }
        let keys = keyed.map(\.key)
        let paths = records.map { BackupFile.blobPath($0.id) }
        // Blobs already in the folder are settled here; only the rest go to the copying threads.
        var settled = [Outcome?](repeating: nil, count: records.count)
        var toCopy: [Int] = []
        for (i, record) in records.enumerated() {
            if listed[keys[i]] == record.ciphertextSize, present.contains(keys[i]) { settled[i] = .present } else { toCopy.append(i) }
        }
        let copies = OutcomeTable<Outcome>(count: toCopy.count)
        let work = toCopy
        try BackupFiles.parallel(work.count) { n, buffer in
            let record = records[work[n]]
            let target = repo.path(paths[work[n]])
            switch try blobSource.copy(
                record: record.id, to: target, expectedSize: record.ciphertextSize,
                expectedBlake2b: record.ciphertextBlake2b, buffer: buffer) {
            case .sourceMissing: copies[n] = .gone
            case .mismatch: copies[n] = .damaged
            case .copied(let size, let new):
                if new { created.add(target) }
                copies[n] = .copied(size)
            }
        }
        for (n, i) in toCopy.enumerated() { settled[i] = copies[n] }

        var files: [BackupFile] = []
        files.reserveCapacity(records.count + 1)
        var summary = BackupSummary(
            snapshot: id, folder: repo.snapshotFolder(id), records: records.count, blobsCopied: 0, blobsAlreadyPresent: 0,
            bytesCopied: 0, omitted: [], auditTreeSize: facts.auditTreeSize, auditRoot: Hex.encode(facts.auditRoot), storeProblems: [])
        for (i, record) in records.enumerated() {
            switch settled[i]! {
            case .present:
                summary.blobsAlreadyPresent += 1
            case .copied(let size):
                summary.blobsCopied += 1
                summary.bytesCopied += size
            case .gone:
                // Shredded since the snapshot was taken (its row is gone from the store now):
                // the deletion ledger names it, and a restore shreds it again.
                if try vaulting({ try catalog.record(id: record.id) }) == nil {
                    summary.omitted.append(.init(record: record.id, reason: "shredded after the snapshot was taken"))
                } else {
                    summary.omitted.append(.init(record: record.id, reason: "blob missing from the store"))
                    summary.storeProblems.append(record.id)
                }
                continue
            case .damaged:
                summary.omitted.append(.init(record: record.id, reason: "blob damaged in the store"))
                summary.storeProblems.append(record.id)
                continue
            }
            files.append(BackupFile(path: paths[i], size: record.ciphertextSize, blake2b: record.ciphertextBlake2b))
        }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: BackupFiles.bufferSize, alignment: 64)
        defer { buffer.deallocate() }
        guard case .file(let size, let hash) = try BackupFiles.hash(snapshotFile, buffer: buffer) else {
            throw VaultError.storage(.io(operation: "open", path: snapshotFile, errno: ENOENT))
        }
        let database = (size: size, blake2b: hash)
        files.append(BackupFile(path: databasePath, size: database.size, blake2b: database.blake2b))

        let list = BackupFile.encode(files)
        try BackupFiles.create(partial + "/" + BackupRepository.fileListName, bytes: list)
        let manifest = BackupManifest(
            format: BackupManifest.formatName, version: BackupManifest.currentVersion, vaultID: vaultID,
            vaultPublicKey: publicKey.minisignBase64, snapshot: id, createdAt: ISO8601DateFormatter().string(from: now),
            createdAtMillis: Int64((now.timeIntervalSince1970 * 1000).rounded(.down)), createdBy: LogText.escape(actor.description),
            audit: .init(treeSize: facts.auditTreeSize, rootHash: Hex.encode(facts.auditRoot)), records: records.count,
            database: databasePath,
            fileList: .init(path: BackupRepository.snapshotsFolder + "/" + id + "/" + BackupRepository.fileListName,
                            size: Int64(list.count), blake2b: Hex.encode(Blake2b.hash(list)), count: files.count),
            omitted: summary.omitted, signingKey: signingKey.publicKey.minisignBase64)
        let manifestBytes = try manifest.fileBytes()
        try BackupFiles.create(partial + "/" + BackupRepository.manifestName, bytes: manifestBytes)
        let signature = try Minisign.sign(
            manifestBytes, with: signingKey,
            trustedComment: "strongroom backup \(id) of vault \(vaultID) timestamp:\(Int(now.timeIntervalSince1970))",
            untrustedComment: "signature from strongroom backup key \(Hex.encode(signingKey.publicKey.keyID))")
        try BackupFiles.create(partial + "/" + BackupRepository.signatureName, bytes: Array(signature.utf8))
        return summary
    }
}

/// The blob files one backup run created, removed again if the run fails.
final class CreatedFiles: @unchecked Sendable {
    private let lock = NSLock()
    private var paths: [String] = []
    func add(_ path: String) { lock.withLock { paths.append(path) } }
    var all: [String] { lock.withLock { paths } }
}

/// Results written by parallel workers, one slot each.
final class OutcomeTable<T: Sendable>: @unchecked Sendable {
    private var slots: [T?]
    private let lock = NSLock()
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    subscript(i: Int) -> T? {
        get { lock.withLock { slots[i] } }
        set { lock.withLock { slots[i] = newValue } }
    }
}
