import Foundation
import Synchronization
import KeyManagement
import Storage

/// The file work of backups: copying while hashing, hashing in place, flushing a whole folder
/// once. Backup files are written without a per-file fsync; `syncFilesystem` flushes them all
/// before the manifest that names them is made visible.
enum BackupFiles {
    static let bufferSize = 1 << 20

    /// Names in a folder (not `.` and `..`).
    static func entries(_ directory: String) throws -> [String] {
        guard let dir = opendir(directory) else { throw VaultError.storage(.io(operation: "opendir", path: directory, errno: errno)) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: entry.pointee.d_name) { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// A whole small file, or nil if it does not exist. Never blocks on a FIFO or reads a device:
    /// anything but a regular file is refused (a FIFO in a backup folder would hang every daily
    /// verify). Inside a backup folder symlinks are refused too; a path the operator typed
    /// (`followLinks`) may be one.
    static func read(_ path: String, limit: Int, followLinks: Bool = false) throws -> [UInt8]? {
        do {
            return try DurableFile.read(path, limit: limit, followLinks: followLinks, regularOnly: true)
        } catch let error as FileOpsError {
            switch error.errno {
            case ELOOP, ENXIO, EINVAL: throw VaultError.backup("\(path) is not a regular file (a symlink, folder, FIFO or device)")
            case EFBIG: throw VaultError.backup("\(path) is larger than \(limit) bytes; it is not what a backup holds there")
            default: throw VaultError.storage(.io(operation: error.operation, path: path, errno: error.errno))
            }
        }
    }

    enum Hashed {
        case missing
        /// A symlink, folder, FIFO or device where a file should be.
        case notARegularFile
        case file(size: Int64, blake2b: String)
    }

    /// A file's size and BLAKE2b-256. Never follows a symlink or blocks on a FIFO.
    static func hash(_ path: String, buffer: UnsafeMutableRawBufferPointer) throws -> Hashed {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        if fd < 0 {
            if errno == ENOENT { return .missing }
            if errno == ELOOP || errno == ENXIO { return .notARegularFile }
            throw VaultError.storage(.io(operation: "open", path: path, errno: errno))
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw VaultError.storage(.io(operation: "stat", path: path, errno: errno)) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { return .notARegularFile }
        let hasher = Blake2b()
        var size: Int64 = 0
        while true {
            let n = Glibc.read(fd, buffer.baseAddress!, buffer.count)
            if n < 0 { if errno == EINTR || errno == EAGAIN { continue }; throw VaultError.storage(.io(operation: "read", path: path, errno: errno)) }
            if n == 0 { break }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            size += Int64(n)
        }
        return .file(size: size, blake2b: Hex.encode(hasher.finalize()))
    }

    enum Copied: Equatable {
        /// The source does not exist; nothing was written.
        case sourceMissing
        /// The source's size or hash is not the expected one; nothing was written or replaced.
        case mismatch
        case copied(size: Int64, created: Bool)
    }

    /// Copies `source` to `target` if its size and BLAKE2b are the expected ones, hashing while
    /// copying. A new name is written directly (a file cut short by a crash is one no snapshot
    /// lists, so the next backup copies it again); an existing file is replaced only through a
    /// temporary file renamed over it after the hash matched, so a good copy is never lost to a
    /// bad one. No fsync: see `FilesystemSync`.
    static func copy(
        from source: String, to target: String, expectedSize: Int64, expectedBlake2b: String,
        mode: mode_t = 0o600, buffer: UnsafeMutableRawBufferPointer
    ) throws -> Copied {
        let input = open(source, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        if input < 0 {
            if errno == ENOENT { return .sourceMissing }
            throw VaultError.storage(.io(operation: "open", path: source, errno: errno))
        }
        defer { close(input) }
        return try copy(to: target, expectedSize: expectedSize, expectedBlake2b: expectedBlake2b, mode: mode, buffer: buffer) { buffer, _ in
            while true {
                let n = Glibc.read(input, buffer.baseAddress!, buffer.count)
                if n >= 0 { return n }
                if errno != EINTR && errno != EAGAIN { throw VaultError.storage(.io(operation: "read", path: source, errno: errno)) }
            }
        }
    }

    /// The copy itself, from whatever `read` fills the buffer from (its offset given): a new name
    /// written directly, an existing file replaced only through a temporary file renamed once the
    /// size and hash matched. Reading stops as soon as the source is longer than expected.
    static func copy(
        to target: String, expectedSize: Int64, expectedBlake2b: String, mode: mode_t, buffer: UnsafeMutableRawBufferPointer,
        read: (UnsafeMutableRawBufferPointer, Int64) throws -> Int
    ) throws -> Copied {
        var written = target
        var output = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode)
        if output < 0 && errno == EEXIST {
            written = target + ".tmp-" + Hex.encode(randomPublicBytes(6))
            output = open(written, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode)
        }
        guard output >= 0 else { throw VaultError.storage(.io(operation: "create", path: written, errno: errno)) }
        var keep = false
        defer {
            close(output)
            if !keep { unlink(written) }
        }
        let hasher = Blake2b()
        var size: Int64 = 0
        while true {
            let n = try read(buffer, size)
            if n == 0 { break }
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
            hasher.update(chunk)
            try vaulting { try SystemFileOps().write(output, chunk, path: written) }
            size += Int64(n)
            if size > expectedSize { return .mismatch }
        }
        guard size == expectedSize, Hex.encode(hasher.finalize()) == expectedBlake2b else { return .mismatch }
        DurableFile.startWriteback(output)
        if written != target {
            guard rename(written, target) == 0 else { throw VaultError.storage(.io(operation: "rename", path: target, errno: errno)) }
        }
        keep = true
        return .copied(size: size, created: written == target)
    }

    /// Writes a small file (no fsync; see `syncFilesystem`), refusing to replace one.
    static func create(_ path: String, bytes: [UInt8], mode: mode_t = 0o600) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw VaultError.storage(.io(operation: "create", path: path, errno: errno)) }
        defer { close(fd) }
        try bytes.withUnsafeBytes { b in try vaulting { try SystemFileOps().write(fd, b, path: path) } }
    }

    static func fsyncDirectory(_ path: String) throws {
        try vaulting { try SystemFileOps().fsyncDirectory(path) }
    }

    /// A real folder (not a symlink to one), or nil if nothing is there; throws for anything else.
    static func requireFolder(_ path: String) throws -> Bool {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            if errno == ENOENT { return false }
            throw VaultError.storage(.io(operation: "stat", path: path, errno: errno))
        }
        guard (info.st_mode & S_IFMT) == S_IFDIR else {
            throw VaultError.backup("\(path) is not a folder (a symlink or a file where a folder belongs); remove it")
        }
        return true
    }

    /// Removes a folder and everything in it (a partial or pruned snapshot).
    static func removeTree(_ path: String) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        if (info.st_mode & S_IFMT) == S_IFDIR {
            for name in try entries(path) { try removeTree(path + "/" + name) }
            guard rmdir(path) == 0 else { throw VaultError.storage(.io(operation: "rmdir", path: path, errno: errno)) }
        } else {
            guard unlink(path) == 0 || errno == ENOENT else { throw VaultError.storage(.io(operation: "unlink", path: path, errno: errno)) }
        }
    }

    /// Runs `body` on `count` items over 16 workers, each with its own copy buffer; the first
    /// error wins. More workers than cores: the work waits on the disk as much as on the CPU
    /// (a cold stat or read), and a virtual disk serves many requests at once.
    static func parallel(_ count: Int, _ body: @escaping @Sendable (Int, UnsafeMutableRawBufferPointer) throws -> Void) throws {
        let workers = max(1, min(16, count))
        let failure = Mutex<Error?>(nil)
        let failed = Atomic<Bool>(false)
        let done = DispatchGroup()
        // Threads of their own: Dispatch's concurrentPerform runs no more at once than there are cores.
        for worker in 0..<workers {
            done.enter()
            Thread.detachNewThread {
                defer { done.leave() }
                let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: bufferSize, alignment: 64)
                defer { buffer.deallocate() }
                var i = worker
                while i < count {
                    if failed.load(ordering: .relaxed) { return }
                    do { try body(i, buffer) } catch {
                        failure.withLock { if $0 == nil { $0 = error } }
                        failed.store(true, ordering: .relaxed)
                        return
                    }
                    i += workers
                }
            }
        }
        done.wait()
        if let error = failure.withLock({ $0 }) { throw error }
    }
}

/// Flushes a whole file system once (syncfs) instead of an fsync per file. Opened before the
/// writes it covers, so that a write-back error during them is reported (Linux reports errors
/// since the descriptor was opened).
final class FilesystemSync {
    private let fd: Int32
    private let path: String

    init(_ path: String) throws {
        self.path = path
        fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw VaultError.storage(.io(operation: "open", path: path, errno: errno)) }
    }

    func sync() throws {
        try vaulting { try DurableFile.syncFilesystem(fd: fd, path: path) }
    }

    deinit { close(fd) }
}
