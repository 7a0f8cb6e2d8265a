import Foundation
import KeyManagement
#if canImport(Glibc)
import Glibc
#endif

/// Blobs as files under `blobs/`: `blobs/<first two hex digits>/<record id>.blob`, written first
/// to `blobs/tmp/` and renamed into place only after fsync, then the directory is fsynced.
/// Record ids are validated hex, so no caller-supplied text ever becomes part of a path.
public final class FileBlobStore: BlobStore {
    public let root: String
    let ops: FileOps

    public init(root: String, ops: FileOps = SystemFileOps()) {
        self.root = root
        self.ops = ops
    }

    var tempDirectory: String { root + "/tmp" }

    /// Creates `blobs/` and `blobs/tmp/` for a new store.
    public func createLayout() throws {
        for dir in [root, tempDirectory] {
            guard mkdir(dir, 0o700) == 0 || errno == EEXIST else { throw StorageError.io(operation: "mkdir", path: dir, errno: errno) }
        }
        try sync { try ops.fsyncDirectory(DurableFile.directory(of: root)) }
        try sync { try ops.fsyncDirectory(root) }
    }

    func shard(_ recordID: String) -> String { root + "/" + String(recordID.prefix(2)) }
    /// The file holding a record's committed blob (backups copy it).
    public func path(_ recordID: String) -> String { shard(recordID) + "/" + recordID + ".blob" }

    public func beginWrite(recordID: String) throws -> BlobUpload {
        try RecordID.validate(recordID)
        let temp = tempDirectory + "/" + recordID + "." + Hex.encode(randomPublicBytes(4)) + ".tmp"
        let fd = try sync { try ops.open(temp, flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o600) }
        return FileBlobUpload(store: self, recordID: recordID, tempPath: temp, fd: fd)
    }

    public func open(recordID: String) throws -> RandomAccessBlob? {
        try RecordID.validate(recordID)
        let p = path(recordID)
        let fd = Glibc.open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw StorageError.io(operation: "open", path: p, errno: errno)
        }
        return try FileBlob(fd: fd, path: p)
    }

    public func delete(recordID: String) throws {
        try RecordID.validate(recordID)
        let p = path(recordID)
        guard unlink(p) == 0 || errno == ENOENT else { throw StorageError.io(operation: "unlink", path: p, errno: errno) }
        try sync { try ops.fsyncDirectory(shard(recordID)) }
    }

    /// Unlinks every blob (on several threads: an unlink waits on the file system's journal,
    /// not on the CPU), then fsyncs each shard directory once, not once per blob.
    public func delete(recordIDs: [String]) throws {
        for id in recordIDs { try RecordID.validate(id) }
        final class FirstFailure: @unchecked Sendable {
            let lock = NSLock()
            var error: StorageError?
        }
        let failure = FirstFailure()
        let workers = min(8, max(1, recordIDs.count / 64))
        DispatchQueue.concurrentPerform(iterations: workers) { w in
            var i = w
            while i < recordIDs.count {
                let p = path(recordIDs[i])
                if unlink(p) != 0 && errno != ENOENT {
                    let code = errno
                    failure.lock.withLock { if failure.error == nil { failure.error = .io(operation: "unlink", path: p, errno: code) } }
                    return
                }
                i += workers
            }
        }
        if let error = failure.error { throw error }
        for dir in Set(recordIDs.map(shard)).sorted() { try sync { try ops.fsyncDirectory(dir) } }
    }

    public func storedRecordIDs() throws -> [String] {
        var ids: [String] = []
        for shardName in try entries(root) where shardName.utf8.count == 2 {
            for name in try entries(root + "/" + shardName) where name.hasSuffix(".blob") {
                ids.append(String(name.dropLast(5)))
            }
        }
        return ids.sorted()
    }

    public func leftoverUploads() throws -> [String] { try entries(tempDirectory).sorted() }

    public func removeLeftoverUpload(_ name: String) throws {
        guard !name.contains("/"), name != ".", name != ".." else { return }
        let p = tempDirectory + "/" + name
        guard unlink(p) == 0 || errno == ENOENT else { throw StorageError.io(operation: "unlink", path: p, errno: errno) }
    }

    /// Names of files in a shard that are not blobs of a valid record id (foreign files).
    func entries(_ dir: String) throws -> [String] {
        guard let handle = opendir(dir) else {
            if errno == ENOENT { return [] }
            throw StorageError.io(operation: "opendir", path: dir, errno: errno)
        }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    func commit(_ upload: FileBlobUpload) throws {
        try sync { try ops.fsync(upload.fd, path: upload.tempPath) }
        ops.close(upload.fd)
        upload.closed = true
        CrashPoint.hit("blob-fsynced")
        let dir = shard(upload.recordID)
        var created = false
        if mkdir(dir, 0o700) == 0 { created = true } else if errno != EEXIST {
            throw StorageError.io(operation: "mkdir", path: dir, errno: errno)
        }
        if created { try sync { try ops.fsyncDirectory(root) } }
        try sync { try ops.rename(upload.tempPath, path(upload.recordID)) }
        CrashPoint.hit("blob-renamed")
        do {
            try sync { try ops.fsyncDirectory(dir) }
        } catch {
            unlink(path(upload.recordID))
            throw error
        }
    }

    func sync<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as FileOpsError { throw StorageError(error) }
    }
}

final class FileBlobUpload: BlobUpload {
    let store: FileBlobStore
    let recordID: String
    let tempPath: String
    let fd: Int32
    var closed = false
    var done = false

    init(store: FileBlobStore, recordID: String, tempPath: String, fd: Int32) {
        self.store = store
        self.recordID = recordID
        self.tempPath = tempPath
        self.fd = fd
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        try store.sync { try store.ops.write(fd, bytes, path: tempPath) }
    }

    func commit() throws {
        do {
            try store.commit(self)
            done = true
        } catch {
            abort()
            throw error
        }
    }

    func abort() {
        if !closed { store.ops.close(fd); closed = true }
        if !done { store.ops.unlink(tempPath); done = true }
    }

    deinit { abort() }
}

/// A blob file opened for reading with pread.
final class FileBlob: RandomAccessBlob {
    let fd: Int32
    let path: String
    let size: Int

    init(fd: Int32, path: String) throws {
        self.fd = fd
        self.path = path
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let code = errno
            Glibc.close(fd)
            throw StorageError.io(operation: "stat", path: path, errno: code)
        }
        size = Int(info.st_size)
    }

    func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        while true {
            let n = pread(fd, buffer.baseAddress, buffer.count, off_t(offset))
            if n >= 0 { return n }
            if errno == EINTR { continue }
            throw StorageError.io(operation: "read", path: path, errno: errno)
        }
    }

    deinit { Glibc.close(fd) }
}

/// Named points where a debug build can be told to die (STRONGROOM_CRASH_AT=name), so tests can
/// prove that a crash at each of them leaves the whole record or nothing. Release builds compile
/// this to nothing.
public enum CrashPoint {
    private static let counts = Mutex()

    /// In debug builds, STRONGROOM_CRASH_AT=NAME kills the process at the first hit of NAME, and
    /// NAME#N at the N-th (the crash tests use it).
    public static func hit(_ name: String) {
        #if DEBUG
        guard let target = ProcessInfo.processInfo.environment["STRONGROOM_CRASH_AT"], target.hasPrefix(name) else { return }
        if target == name { kill(getpid(), SIGKILL) }
        let suffix = target.dropFirst(name.count)
        guard suffix.hasPrefix("#"), let n = Int(suffix.dropFirst()) else { return }
        if counts.increment(name) == n { kill(getpid(), SIGKILL) }
        #endif
    }

    private final class Mutex: @unchecked Sendable {
        private let lock = NSLock()
        private var counts: [String: Int] = [:]
        func increment(_ name: String) -> Int {
            lock.withLock {
                counts[name, default: 0] += 1
                return counts[name]!
            }
        }
    }
}
