import Foundation
import KeyManagement
import Storage

/// A backup folder (docs/backup.md):
///
///     DIR/snapshots/<id>/manifest.json          signed by the backup operator's key
///     DIR/snapshots/<id>/manifest.json.minisig
///     DIR/snapshots/<id>/files.txt              every file of the snapshot: BLAKE2b-256, size, path
///     DIR/snapshots/<id>/metadata.sqlite        the database, from VACUUM INTO
///     DIR/blobs/xx/<record>.blob                encrypted blobs, shared by every snapshot
///     DIR/folder-id                             the folder's random id, named in the store's log
///
/// Snapshots are written under `snapshots/.partial-<id>` and renamed into place only when every
/// file is durable, so a snapshot that is listed is complete. Writers (create, prune) hold an
/// exclusive flock on the folder itself.
struct BackupRepository {
    static let snapshotsFolder = "snapshots"
    static let blobsFolder = "blobs"
    static let manifestName = "manifest.json"
    static let signatureName = "manifest.json.minisig"
    static let fileListName = "files.txt"
    static let partialPrefix = ".partial-"
    static let folderIDName = "folder-id"
    /// files.txt is about 120 bytes a record: this allows some 15 million records.
    static let maxFileListBytes = 2 << 30

    let root: String

    init(root: String) {
        var path = root
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        self.root = path
    }

    var snapshots: String { root + "/" + Self.snapshotsFolder }
    var blobs: String { root + "/" + Self.blobsFolder }
    func snapshotFolder(_ id: String) -> String { snapshots + "/" + id }
    var folderIDFile: String { root + "/" + Self.folderIDName }
    func path(_ relative: String) -> String { root + "/" + relative }

    /// Refuses a folder that is a Strongroom store: a backup folder and a store both keep blobs at
    /// `blobs/xx/ID.blob`, and a prune of a store would delete live evidence it does not list.
    func requireNotAStore() throws {
        let store = StoreLayout(root: root)
        for marker in [store.metadata, store.keys, store.lockFile] where FileManager.default.fileExists(atPath: marker) {
            throw VaultError.backup("\(root) is a Strongroom store (it has \(marker.split(separator: "/").last ?? "")), not a backup folder; give a folder of its own for backups")
        }
        // A store's blobs/ always has tmp/ (uploads in progress); a backup's never does. This
        // also catches a store's blobs/ mounted or linked into a backup folder.
        if FileManager.default.fileExists(atPath: blobs + "/tmp") {
            throw VaultError.backup("\(blobs) is a store's blob folder (it has tmp/), not a backup's; give a folder of its own for backups")
        }
    }

    /// Whether `name` in shard `shard` is a name backups write: a blob, or a copy's temporary file.
    static func isBackupBlobName(_ name: String, shard: String) -> Bool {
        isBlobFile(Array(name.utf8), shard: shard, allowTemporary: true)
    }

    /// `<32 lowercase hex>.blob` in the shard its first two digits name; with `allowTemporary`,
    /// also that name followed by `.tmp-<12 hex>` (a copy not yet renamed into place).
    static func isBlobFile(_ bytes: [UInt8], shard: String, allowTemporary: Bool) -> Bool {
        let hex = { (b: UInt8) in (b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x66) }
        guard bytes.count >= 37, bytes[0..<32].allSatisfy(hex), bytes[0..<2].elementsEqual(shard.utf8),
              bytes[32..<37].elementsEqual(".blob".utf8) else { return false }
        if bytes.count == 37 { return true }
        let tail = bytes[37...]
        return allowTemporary && tail.count == 17 && tail.prefix(5).elementsEqual(".tmp-".utf8) && tail.dropFirst(5).allSatisfy(hex)
    }

    /// Refuses a backup folder that is, holds or lies inside the store `storeRoot`.
    func requireOutside(store storeRoot: String) throws {
        let folder = Self.canonical(root), store = Self.canonical(storeRoot)
        let overlap = folder == store || folder.hasPrefix(store + "/") || store.hasPrefix(folder + "/")
            || Self.sameFile(root, storeRoot) || Self.sameFile(blobs, StoreLayout(root: storeRoot).blobs)
        if overlap {
            throw VaultError.backup("the backup folder \(root) and the store \(storeRoot) overlap; back up into a folder outside the store (ideally on another disk)")
        }
    }

    /// Whether two paths are the same file or folder (device and inode: bind mounts too).
    static func sameFile(_ a: String, _ b: String) -> Bool {
        var x = stat(), y = stat()
        return stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino
    }

    /// The absolute path with symlinks resolved, as far as it exists.
    static func canonical(_ path: String) -> String {
        if let resolved = realpath(path, nil) {
            defer { free(resolved) }
            return String(cString: resolved)
        }
        let parent = DurableFile.directory(of: path)
        let name = path.split(separator: "/").last.map(String.init) ?? path
        return parent == path ? path : canonical(parent) + "/" + name
    }

    /// Creates the folder layout if missing (mode 0700). `snapshots/` and `blobs/` must be real
    /// folders: a symlink there could send writes (or a prune's unlinks) somewhere else.
    func createLayout() throws {
        try requireNotAStore()
        var isFolder: ObjCBool = false
        if FileManager.default.fileExists(atPath: root, isDirectory: &isFolder), !isFolder.boolValue {
            throw VaultError.backup("\(root) is a file, not a folder; give a folder for the backup")
        }
        if !FileManager.default.fileExists(atPath: root) {
            guard mkdir(root, 0o700) == 0 || errno == EEXIST else { throw VaultError.storage(.io(operation: "mkdir", path: root, errno: errno)) }
        }
        for folder in [snapshots, blobs] where try !BackupFiles.requireFolder(folder) {
            guard mkdir(folder, 0o700) == 0 else { throw VaultError.storage(.io(operation: "mkdir", path: folder, errno: errno)) }
        }
    }

    /// The folder's id (32 lower-case hex digits), or nil for a folder that has none yet (made
    /// before folders had ids). The store's `backup-create` events name it, so that the log can
    /// be compared with this folder and not with another one the same store backs up into.
    func folderID() throws -> String? {
        guard let bytes = try BackupFiles.read(folderIDFile, limit: 64) else { return nil }
        guard bytes.count == 33, bytes.last == 0x0a, BlobKey(hex: bytes[0..<32]) != nil else {
            throw VaultError.backup("\(folderIDFile) is damaged (not 32 hex digits and a newline); remove it, and the next backup create gives the folder a new id")
        }
        return String(decoding: bytes[0..<32], as: UTF8.self)
    }

    /// The folder's id, made now (random, written durably) if it has none. Only a writer holding
    /// the folder's lock calls this.
    func establishFolderID() throws -> String {
        if let id = try folderID() { return id }
        let id = Hex.encode(randomPublicBytes(16))
        // An unnamed file linked into place: a crash leaves no temporary name for verify to call extra.
        try vaulting { try OutputFile.write(Array((id + "\n").utf8), to: folderIDFile, mode: 0o600, replacing: false) }
        return id
    }

    /// An exclusive lock on the backup folder while a snapshot is written or pruned.
    func lock() throws -> StoreLock {
        try StoreLock(path: root, exclusive: true, wait: false, folder: true,
                      busy: "another backup or prune is writing to \(root); try again when it has finished")
    }

    /// The ids of complete snapshots, oldest first (ids start with their UTC creation time).
    func snapshotIDs() throws -> [String] {
        try requireNotAStore()
        guard FileManager.default.fileExists(atPath: snapshots) else {
            throw VaultError.backup("\(root) is not a Strongroom backup folder (no snapshots/ in it)")
        }
        return try BackupFiles.entries(snapshots).filter { !$0.hasPrefix(".") }.sorted()
    }

    /// A snapshot's manifest and file list, after checking the signature with `publicKey` (or,
    /// when nil, with the key the manifest names: that proves the files agree with each other,
    /// not who made them), the manifest's form and the file list's size and hash.
    func load(_ id: String, publicKey: VaultPublicKey?) throws -> (manifest: BackupManifest, files: [BackupFile]) {
        let (manifest, list) = try signedManifest(id, publicKey: publicKey)
        let files = try BackupFile.decode(list, snapshot: id)
        guard files.count == manifest.fileList.count, files.contains(where: { $0.path == manifest.database }) else {
            throw VaultError.backup("snapshot \(id): files.txt does not list what the manifest says")
        }
        return (manifest, files)
    }

    /// files.txt of a snapshot, once the manifest's signature and the list's size and hash hold.
    func signedFileList(_ id: String, publicKey: VaultPublicKey) throws -> [UInt8] {
        try signedManifest(id, publicKey: publicKey).list
    }

    private func signedManifest(_ id: String, publicKey: VaultPublicKey?) throws -> (manifest: BackupManifest, list: [UInt8]) {
        let folder = snapshotFolder(id)
        guard let bytes = try BackupFiles.read(folder + "/" + Self.manifestName, limit: 1 << 20) else {
            throw VaultError.backup("snapshot \(id): manifest.json is missing")
        }
        guard let signature = try BackupFiles.read(folder + "/" + Self.signatureName, limit: 4096) else {
            throw VaultError.backup("snapshot \(id): manifest.json.minisig is missing")
        }
        let manifest = try BackupManifest.parse(bytes)
        guard manifest.snapshot == id else { throw VaultError.backup("snapshot \(id): its manifest names snapshot \(manifest.snapshot)") }
        guard let named = VaultPublicKey(text: manifest.signingKey) else { throw VaultError.backup("snapshot \(id): the manifest's signing key is malformed") }
        let key = publicKey ?? named
        guard Minisign.verify(bytes, signature: String(decoding: signature, as: UTF8.self), publicKey: key) != nil else {
            throw VaultError.backup(publicKey == nil
                ? "snapshot \(id): manifest.json does not match its signature"
                : "snapshot \(id): manifest.json is not signed by the given backup public key (changed, or signed by another key)")
        }
        let listPath = Self.snapshotsFolder + "/" + id + "/" + Self.fileListName
        guard manifest.fileList.path == listPath, manifest.database == Self.snapshotsFolder + "/" + id + "/" + SQLiteCatalog.fileName else {
            throw VaultError.backup("snapshot \(id): the manifest names files outside its snapshot")
        }
        guard let list = try BackupFiles.read(path(listPath), limit: Self.maxFileListBytes) else { throw VaultError.backup("snapshot \(id): files.txt is missing") }
        guard Int64(list.count) == manifest.fileList.size, Hex.encode(Blake2b.hash(list)) == manifest.fileList.blake2b else {
            throw VaultError.backup("snapshot \(id): files.txt does not match its size and BLAKE2b in the manifest (damaged or changed)")
        }
        return (manifest, list)
    }

    /// The blobs (with their sizes) the newest snapshot that loads under `publicKey` lists;
    /// empty when there is none. Only its signature and the list's hash are checked here, not
    /// each line's form (the list is the one this key signed).
    func newestBlobSizes(signedBy publicKey: VaultPublicKey) throws -> [BlobKey: Int64] {
        for id in try snapshotIDs().reversed() {
            guard let bytes = try? signedFileList(id, publicKey: publicKey) else { continue }
            return try BackupFile.blobSizes(bytes)
        }
        return [:]
    }

    /// The blobs under `blobs/` by name (no stat per file), read on several threads: a cold
    /// directory is a disk read. Other names (temporary files) are left out.
    func blobKeys() throws -> Set<BlobKey> {
        let shards = try BackupFiles.entries(blobs)
        let found = OutcomeTable<[BlobKey]>(count: shards.count)
        let root = blobs
        try BackupFiles.parallel(shards.count) { i, _ in
            found[i] = ((try? BackupFiles.entries(root + "/" + shards[i])) ?? []).compactMap { name in
                let bytes = Array(name.utf8)
                guard Self.isBlobFile(bytes, shard: shards[i], allowTemporary: false) else { return nil }
                return BlobKey(hex: bytes[0..<32])
            }
        }
        var keys = Set<BlobKey>()
        keys.reserveCapacity(shards.count * 512)
        for i in 0..<shards.count { keys.formUnion(found[i] ?? []) }
        return keys
    }

    /// Every file under the folder, as relative paths (for naming extra files).
    func allFiles() throws -> [String] {
        var out: [String] = []
        func walk(_ relative: String) throws {
            let full = relative.isEmpty ? root : path(relative)
            for name in try BackupFiles.entries(full) {
                let child = relative.isEmpty ? name : relative + "/" + name
                var info = stat()
                guard lstat(path(child), &info) == 0 else { throw VaultError.storage(.io(operation: "stat", path: path(child), errno: errno)) }
                if (info.st_mode & S_IFMT) == S_IFDIR { try walk(child) } else { out.append(child) }
            }
        }
        try walk("")
        return out
    }
}
