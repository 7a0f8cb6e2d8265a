import Foundation
import KeyManagement
import Storage

/// What `backup verify` found. Every problem names its file.
public struct BackupReport: Sendable, Codable {
    public struct Problem: Sendable, Codable, Equatable {
        /// `missing`, `extra`, `damaged`, `manifest` (unsigned, changed or unreadable) or
        /// `unreadable-record` (deep: a blob that does not decrypt and authenticate).
        public var kind: String
        public var path: String
        public var detail: String
    }
    public var snapshots: [String] = []
    public var files = 0
    public var bytes: Int64 = 0
    public var deep = false
    /// Deep only: records decrypted and authenticated, and records shredded since the backup
    /// (the deletion ledger names them or their KEK is destroyed), which no key opens any more.
    public var recordsAuthenticated = 0
    public var shreddedSince: [String] = []
    /// Whether the folder was compared with the live store's audit log (`--store`), and the
    /// snapshots that log records as taken into it that are gone (each also a `missing` problem).
    public var comparedWithStore = false
    public var missingSnapshots: [MissingSnapshot] = []
    public var problems: [Problem] = []
    public var isIntact: Bool { problems.isEmpty && !snapshots.isEmpty }
}

extension Vault {
    /// Checks a backup folder with no key and no store: each snapshot's signature (by
    /// `publicKey`), manifest and file list, every file's size and BLAKE2b-256, and that the
    /// folder holds no file no manifest lists. `snapshot` limits the hashing to one snapshot
    /// (extra files are still looked for in the whole folder).
    ///
    /// With `store` (the live store, opened without a key), the folder is also compared with
    /// its audit log: every snapshot the log records as taken into this folder must be in it or
    /// removed by `backup prune`. Without it, a deleted newest snapshot (and the blobs only it
    /// listed) leaves a folder that verifies.
    public static func verifyBackup(at directory: String, publicKey: VaultPublicKey, snapshot only: String? = nil, store: Vault? = nil) throws -> BackupReport {
        let repo = BackupRepository(root: directory)
        var (report, loaded) = try BackupCheck(repo: repo, publicKey: publicKey).run(only: only)
        if let store { try store.compareWithLog(repo, loaded: loaded.map(\.manifest), report: &report) }
        return report
    }

    /// Adds to `report` the snapshots this store's log records as taken into the folder that are
    /// not in it (`missing`, named with the time they were taken).
    func compareWithLog(_ repo: BackupRepository, loaded: [BackupManifest], report: inout BackupReport) throws {
        report.comparedWithStore = true
        report.missingSnapshots = try missingBackupSnapshots(repo, manifests: loaded)
        report.problems += report.missingSnapshots.map {
            .init(kind: "missing", path: BackupRepository.snapshotsFolder + "/" + $0.snapshot, detail: Self.describeMissing($0))
        }
        report.problems.sort { ($0.path, $0.kind) < ($1.path, $1.kind) }
    }

    func verifyBackupDeeply(at directory: String, publicKey: VaultPublicKey, snapshot only: String? = nil, by caller: Caller) throws -> BackupReport {
        try requireOperator(caller, .backupVerify)
        let actor = caller.actor
        let keys = try requireKeys("backup verify --deep")
        let repo = BackupRepository(root: directory)
        var (report, loaded) = try BackupCheck(repo: repo, publicKey: publicKey).run(only: only)
        report.deep = true
        try compareWithLog(repo, loaded: loaded.filter { $0.manifest.vaultID == vaultID }.map(\.manifest), report: &report)
        let blobs = FileBlobStore(root: repo.blobs)
        var seen = Set<String>()
        for (id, manifest, _) in loaded {
            guard manifest.vaultID == vaultID else {
                report.problems.append(.init(kind: "manifest", path: "snapshots/\(id)", detail: "the snapshot is of vault \(manifest.vaultID), not this store's"))
                continue
            }
            let omitted = Set(manifest.omitted.map(\.record))
            try vaulting {
                try SQLiteCatalog.forEachRecord(path: repo.path(manifest.database)) { record in
                    guard !omitted.contains(record.id), seen.insert(record.id).inserted else { return }
                    do {
                        try openRecord(record, keys: keys, onFailure: nil, from: blobs).readToEnd()
                        report.recordsAuthenticated += 1
                    } catch VaultError.notFound, KeyManagementError.kekDestroyed, KeyManagementError.unknownKEK {
                        report.shreddedSince.append(record.id)
                    } catch {
                        report.problems.append(.init(
                            kind: "unreadable-record", path: BackupFile.blobPath(record.id),
                            detail: "record \(record.id) does not decrypt and authenticate: \(VaultError.wrap(error))"))
                    }
                }
            }
        }
        try audit(AuditEntry(
            actor: actor, action: .backupVerify, outcome: report.isIntact ? .ok : .failed,
            reason: "\(report.snapshots.count) snapshots, \(report.recordsAuthenticated) records authenticated, \(report.shreddedSince.count) shredded since, \(report.problems.count) problems"))
        return report
    }
}

/// The keyless checks, shared by verify and restore.
struct BackupCheck {
    let repo: BackupRepository
    let publicKey: VaultPublicKey

    func run(only: String?) throws -> (report: BackupReport, manifests: [(id: String, manifest: BackupManifest, files: [BackupFile])]) {
        var report = BackupReport()
        var expected: [String: BackupFile] = [:]
        var toHash: [BackupFile] = []
        var known: Set<String> = []
        var manifests: [(id: String, manifest: BackupManifest, files: [BackupFile])] = []
        let ids = try repo.snapshotIDs()
        known.insert(BackupRepository.folderIDName)
        do { _ = try repo.folderID() } catch {
            report.problems.append(.init(kind: "damaged", path: BackupRepository.folderIDName, detail: "\(error)"))
        }
        if let only, !ids.contains(only) { throw VaultError.backup("there is no snapshot \(only) in \(repo.root)") }
        if ids.isEmpty { report.problems.append(.init(kind: "missing", path: "snapshots/", detail: "the folder holds no snapshot")) }
        for id in ids {
            let folder = BackupRepository.snapshotsFolder + "/" + id
            for name in [BackupRepository.manifestName, BackupRepository.signatureName, BackupRepository.fileListName] {
                known.insert(folder + "/" + name)
            }
            let loaded: (manifest: BackupManifest, files: [BackupFile])
            do { loaded = try repo.load(id, publicKey: publicKey) } catch {
                report.problems.append(.init(kind: "manifest", path: folder + "/" + BackupRepository.manifestName, detail: "\(error)"))
                // Its own files are not "extra": the manifest problem names them. If the manifest
                // at least agrees with itself (signed by another key), its list says which they are.
                known.insert(folder + "/" + SQLiteCatalog.fileName)
                if let selfConsistent = try? repo.load(id, publicKey: nil) { known.formUnion(selfConsistent.files.map(\.path)) }
                continue
            }
            let inScope = only == nil || only == id
            if inScope {
                report.snapshots.append(id)
                manifests.append((id, loaded.manifest, loaded.files))
            }
            for file in loaded.files {
                known.insert(file.path)
                if let earlier = expected[file.path] {
                    if earlier != file {
                        report.problems.append(.init(kind: "damaged", path: file.path, detail: "two snapshots list this file with different sizes or hashes"))
                    }
                    continue
                }
                if inScope {
                    expected[file.path] = file
                    toHash.append(file)
                }
            }
        }
        let problems = OutcomeTable<BackupReport.Problem>(count: toHash.count)
        let work = toHash
        try BackupFiles.parallel(work.count) { i, buffer in
            let file = work[i]
            let found: (size: Int64, blake2b: String)
            switch try BackupFiles.hash(repo.path(file.path), buffer: buffer) {
            case .missing:
                problems[i] = .init(kind: "missing", path: file.path, detail: "listed by the manifest but not in the backup")
                return
            case .notARegularFile:
                problems[i] = .init(kind: "damaged", path: file.path, detail: "not a regular file (a symlink, folder or device)")
                return
            case .file(let size, let hash):
                found = (size, hash)
            }
            if found.size != file.size {
                problems[i] = .init(kind: "damaged", path: file.path, detail: "size \(found.size), the manifest says \(file.size)")
            } else if found.blake2b != file.blake2b {
                problems[i] = .init(kind: "damaged", path: file.path, detail: "its BLAKE2b does not match the manifest")
            }
        }
        for (i, file) in toHash.enumerated() {
            if let problem = problems[i] { report.problems.append(problem) } else { report.files += 1; report.bytes += file.size }
        }
        for path in try repo.allFiles() where !known.contains(path) {
            let detail = path.hasPrefix(BackupRepository.snapshotsFolder + "/" + BackupRepository.partialPrefix)
                ? "left by a backup that did not finish; the next backup create removes it"
                : "not listed by any snapshot's manifest"
            report.problems.append(.init(kind: "extra", path: path, detail: detail))
        }
        report.problems.sort { ($0.path, $0.kind) < ($1.path, $1.kind) }
        return (report, manifests)
    }
}
