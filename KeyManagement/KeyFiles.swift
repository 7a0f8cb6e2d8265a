import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where the key store file and the deletion ledger live: the store folder's `keys/` (`KeyFolder`),
/// or, for a deployment of several nodes, a table of the PostgreSQL catalog every node shares
/// (Storage's `PostgresKeyFiles`). The files' bytes and rules are the same in both; only how they
/// are kept and locked differs.
public protocol KeyFiles: Sendable {
    /// Where they are, for messages (a folder, or a database's address without secrets).
    var location: String { get }
    /// A file's bytes, or nil when there is none.
    func read(_ name: String) throws -> [UInt8]?
    /// A token that changes whenever the file does (nil when there is none): cheap, for caching.
    func stamp(_ name: String) -> String?
    /// Creates a file; `KeyManagementError.alreadyExists` if it is there.
    func create(_ name: String, _ bytes: [UInt8]) throws
    /// Changes a file under an exclusive lock every process and node honours: `body` gets the
    /// freshest bytes (nil when none) and says how they change, durably before the lock goes.
    func update<T>(_ name: String, _ body: ([UInt8]?) throws -> (change: KeyFileChange, result: T)) throws -> T
}

/// How `KeyFiles.update` changes a file.
public enum KeyFileChange: Sendable {
    case none
    /// The whole file, replaced atomically.
    case replace([UInt8])
    /// Keeps the first `keeping` bytes (cutting off a torn tail) and adds `bytes` after them.
    case append([UInt8], keeping: Int)
}

/// The store folder's `keys/`: files written atomically (a temporary file, fsync, rename,
/// directory fsync) or appended and fsynced, every change under an exclusive `flock` on
/// `keystore.lock`, and reads under a shared one, so a reader never sees half an append.
public struct KeyFolder: KeyFiles {
    public let directory: String
    public static let lockFileName = "keystore.lock"

    public init(directory: String) {
        self.directory = directory
    }

    public var location: String { directory }

    public func path(_ name: String) -> String { directory + "/" + name }

    public func read(_ name: String) throws -> [UInt8]? {
        try locked(LOCK_SH) { try readUnlocked(name) }
    }

    public func stamp(_ name: String) -> String? {
        var info = stat()
        guard stat(path(name), &info) == 0 else { return nil }
        return "\(info.st_ino):\(info.st_size):\(info.st_mtim.tv_sec):\(info.st_mtim.tv_nsec):\(info.st_ctim.tv_sec):\(info.st_ctim.tv_nsec)"
    }

    public func create(_ name: String, _ bytes: [UInt8]) throws {
        do {
            try DurableFile.write(bytes, to: path(name), exclusive: true)
        } catch let error as FileOpsError where error.errno == EEXIST {
            throw KeyManagementError.alreadyExists(path(name))
        } catch let error as FileOpsError {
            throw KeyManagementError.io(path: path(name), errno: error.errno)
        }
    }

    public func update<T>(_ name: String, _ body: ([UInt8]?) throws -> (change: KeyFileChange, result: T)) throws -> T {
        try locked(LOCK_EX) {
            let (change, result) = try body(try readUnlocked(name))
            let file = path(name)
            switch change {
            case .none: break
            case .replace(let bytes):
                do { try DurableFile.write(bytes, to: file) } catch let error as FileOpsError {
                    throw KeyManagementError.io(path: file, errno: error.errno)
                }
            case .append(let bytes, let keeping):
                let fd = Glibc.open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
                guard fd >= 0 else { throw KeyManagementError.io(path: file, errno: errno) }
                defer { _ = Glibc.close(fd) }
                guard ftruncate(fd, off_t(keeping)) == 0, lseek(fd, off_t(keeping), SEEK_SET) >= 0 else {
                    throw KeyManagementError.io(path: file, errno: errno)
                }
                do {
                    try bytes.withUnsafeBytes { try SystemFileOps().write(fd, $0, path: file) }
                    try SystemFileOps().fsync(fd, path: file)
                    try SystemFileOps().fsyncDirectory(directory)
                } catch let error as FileOpsError {
                    throw KeyManagementError.io(path: file, errno: error.errno)
                }
            }
            return result
        }
    }

    private func readUnlocked(_ name: String) throws -> [UInt8]? {
        do { return try DurableFile.read(path(name), limit: 1 << 30) } catch let error as FileOpsError {
            throw KeyManagementError.io(path: path(name), errno: error.errno)
        }
    }

    private func locked<T>(_ operation: Int32, _ body: () throws -> T) throws -> T {
        let lockPath = path(Self.lockFileName)
        let fd = Glibc.open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            // A read-only keys folder (a backup being checked) can still be read, unlocked.
            if operation == LOCK_SH, errno == EACCES || errno == EROFS { return try body() }
            throw KeyManagementError.io(path: lockPath, errno: errno)
        }
        defer { _ = Glibc.close(fd) }
        while flock(fd, operation) != 0 {
            guard errno == EINTR else { throw KeyManagementError.io(path: lockPath, errno: errno) }
        }
        return try body()
    }
}
