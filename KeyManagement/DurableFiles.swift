import CProcess
#if canImport(Glibc)
import Glibc
#endif

/// The few POSIX file operations durable writes need, behind a protocol so tests can inject
/// write and fsync failures (ENOSPC, EIO) and prove that a failed write leaves no trace.
public protocol FileOps: Sendable {
    func open(_ path: String, flags: Int32, mode: mode_t) throws -> Int32
    func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws
    func fsync(_ fd: Int32, path: String) throws
    func close(_ fd: Int32)
    func rename(_ from: String, _ to: String) throws
    func fsyncDirectory(_ path: String) throws
    func unlink(_ path: String)
}

public struct FileOpsError: Error, Sendable, Equatable {
    public var path: String
    public var errno: Int32
    public var operation: String
    public init(path: String, errno: Int32, operation: String) {
        self.path = path
        self.errno = errno
        self.operation = operation
    }
    public var message: String { "\(operation) \(path): \(String(cString: strerror(errno)))" }
}

public struct SystemFileOps: FileOps {
    public init() {}

    public func open(_ path: String, flags: Int32, mode: mode_t) throws -> Int32 {
        let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
        guard fd >= 0 else { throw FileOpsError(path: path, errno: errno, operation: "open") }
        return fd
    }

    public func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw FileOpsError(path: path, errno: errno, operation: "write")
            }
            offset += n
        }
    }

    public func fsync(_ fd: Int32, path: String) throws {
        guard Glibc.fsync(fd) == 0 else { throw FileOpsError(path: path, errno: errno, operation: "fsync") }
    }

    public func close(_ fd: Int32) { _ = Glibc.close(fd) }

    public func rename(_ from: String, _ to: String) throws {
        guard Glibc.rename(from, to) == 0 else { throw FileOpsError(path: to, errno: errno, operation: "rename") }
    }

    public func fsyncDirectory(_ path: String) throws {
        let fd = Glibc.open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw FileOpsError(path: path, errno: errno, operation: "open directory") }
        defer { _ = Glibc.close(fd) }
        guard Glibc.fsync(fd) == 0 else { throw FileOpsError(path: path, errno: errno, operation: "fsync directory") }
    }

    public func unlink(_ path: String) { _ = Glibc.unlink(path) }
}

public enum DurableFile {
    /// Writes `bytes` to `path` atomically: a temp file beside it, fsync, rename, fsync of the
    /// directory. Readers see the old file or the new one, never a mix.
    public static func write(
        _ bytes: [UInt8], to path: String, mode: mode_t = 0o600, exclusive: Bool = false, ops: FileOps = SystemFileOps()
    ) throws {
        try write(to: path, mode: mode, exclusive: exclusive, ops: ops) { write in try bytes.withUnsafeBytes { try write($0) } }
    }

    /// The same for content that is produced piece by piece (a file too large to hold whole):
    /// `produce` is handed a function that appends to the temp file. With `exclusive`, an existing
    /// `path` is never replaced (link(2), so no window in which another writer could win).
    public static func write(
        to path: String, mode: mode_t = 0o600, exclusive: Bool = false, ops: FileOps = SystemFileOps(),
        _ produce: ((UnsafeRawBufferPointer) throws -> Void) throws -> Void
    ) throws {
        if exclusive, access(path, F_OK) == 0 { throw FileOpsError(path: path, errno: EEXIST, operation: "create") }
        let dir = directory(of: path)
        let temp = path + ".tmp-" + Hex.encode(randomPublicBytes(6))
        let fd = try ops.open(temp, flags: O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode: mode)
        do {
            try produce { try ops.write(fd, $0, path: temp) }
            try ops.fsync(fd, path: temp)
            ops.close(fd)
        } catch {
            ops.close(fd)
            ops.unlink(temp)
            throw error
        }
        do {
            if exclusive {
                guard link(temp, path) == 0 else { throw FileOpsError(path: path, errno: errno, operation: "create") }
                ops.unlink(temp)
            } else {
                try ops.rename(temp, path)
            }
            try ops.fsyncDirectory(dir)
        } catch {
            ops.unlink(temp)
            throw error
        }
    }

    /// Flushes every written file and directory entry of the file system holding the folder
    /// `path` (syncfs(2)): one call instead of an fsync per file, for a backup's many blobs.
    /// `fd` is a folder on that file system, opened before the writes to be flushed (write-back
    /// errors are reported to descriptors opened before them).
    public static func syncFilesystem(fd: Int32, path: String) throws {
        guard strongroom_syncfs(fd) == 0 else { throw FileOpsError(path: path, errno: errno, operation: "syncfs") }
    }

    /// Starts writing a file's dirty pages back without waiting (sync_file_range), so that a
    /// later `syncFilesystem` finds little left to do. Advisory: failures are ignored.
    public static func startWriteback(_ fd: Int32) { _ = strongroom_start_writeback(fd) }

    public static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let dir = String(path[..<slash])
        return dir.isEmpty ? "/" : dir
    }

    /// Reads a whole small file (key store, checkpoints); nil if it does not exist. With
    /// `regularOnly`, anything but a regular file (a FIFO, which would block, a device, a folder)
    /// is refused with `EINVAL`; without `followLinks`, a symlink with `ELOOP`.
    public static func read(_ path: String, limit: Int = 64 << 20, followLinks: Bool = true, regularOnly: Bool = false) throws -> [UInt8]? {
        let flags = O_RDONLY | O_CLOEXEC | (regularOnly ? O_NONBLOCK : 0) | (followLinks ? 0 : O_NOFOLLOW)
        let fd = Glibc.open(path, flags)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw FileOpsError(path: path, errno: errno, operation: "open")
        }
        defer { _ = Glibc.close(fd) }
        var info = stat()
        if regularOnly {
            guard fstat(fd, &info) == 0 else { throw FileOpsError(path: path, errno: errno, operation: "stat") }
            guard (info.st_mode & S_IFMT) == S_IFREG else { throw FileOpsError(path: path, errno: EINVAL, operation: "read (not a regular file)") }
            guard info.st_size <= limit else { throw FileOpsError(path: path, errno: EFBIG, operation: "read") }
        }
        var out = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw FileOpsError(path: path, errno: errno, operation: "read")
            }
            if n == 0 { break }
            out += buffer[0..<n]
            if out.count > limit { throw FileOpsError(path: path, errno: EFBIG, operation: "read") }
        }
        return out
    }
}
