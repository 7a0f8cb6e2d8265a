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

    static func read(_ path: String, limit: Int) throws -> [UInt8]? {
        do { return try DurableFile.read(path, limit: limit) } catch { throw VaultError.wrap(error) }
    }

    /// A file's size and BLAKE2b-256, or nil if it does not exist.
    static func hash(_ path: String, buffer: UnsafeMutableRawBufferPointer) throws -> (size: Int64, blake2b: String)? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw VaultError.storage(.io(operation: "open", path: path, errno: errno))
        }
        defer { close(fd) }
        let hasher = Blake2b()
        var size: Int64 = 0
        while true {
            let n = Glibc.read(fd, buffer.baseAddress!, buffer.count)
            if n < 0 { if errno == EINTR { continue }; throw VaultError.storage(.io(operation: "read", path: path, errno: errno)) }
            if n == 0 { break }
            hasher.update(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
            size += Int64(n)
        }
        return (size, Hex.encode(hasher.finalize()))
    }

    /// Copies `source` to `target`, hashing what it read; returns nil (and leaves nothing) if
    /// `source` does not exist. A new name is written directly (a file cut short by a crash is
    /// one no snapshot lists, so the next backup copies it again); an existing one is replaced
    /// through a temporary file and a rename. No fsync: see `syncFilesystem`.
    static func copy(from source: String, to target: String, mode: mode_t = 0o600, buffer: UnsafeMutableRawBufferPointer) throws -> (size: Int64, blake2b: String)? {
        let input = open(source, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        if input < 0 {
            if errno == ENOENT { return nil }
            throw VaultError.storage(.io(operation: "open", path: source, errno: errno))
        }
        defer { close(input) }
        var written = target
        var output = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        if output < 0 && errno == EEXIST {
            written = target + ".tmp-" + Hex.encode(randomPublicBytes(6))
            output = open(written, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        }
        guard output >= 0 else { throw VaultError.storage(.io(operation: "create", path: written, errno: errno)) }
        var finished = false
        defer {
            close(output)
            if !finished { unlink(written) }
        }
        let hasher = Blake2b()
        var size: Int64 = 0
        while true {
            let n = Glibc.read(input, buffer.baseAddress!, buffer.count)
            if n < 0 { if errno == EINTR { continue }; throw VaultError.storage(.io(operation: "read", path: source, errno: errno)) }
            if n == 0 { break }
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
            hasher.update(chunk)
            try vaulting { try SystemFileOps().write(output, chunk, path: written) }
            size += Int64(n)
        }
        DurableFile.startWriteback(output)
        if written != target {
            guard rename(written, target) == 0 else { throw VaultError.storage(.io(operation: "rename", path: target, errno: errno)) }
        }
        finished = true
        return (size, Hex.encode(hasher.finalize()))
    }

    /// Writes a small file (no fsync; see `syncFilesystem`), refusing to replace one.
    static func create(_ path: String, bytes: [UInt8], mode: mode_t = 0o600) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw VaultError.storage(.io(operation: "create", path: path, errno: errno)) }
        defer { close(fd) }
        try bytes.withUnsafeBytes { b in try vaulting { try SystemFileOps().write(fd, b, path: path) } }
    }

    /// Flushes every written file and directory entry of the file system holding `path`
    /// (syncfs(2)): one call instead of an fsync per blob.
    static func syncFilesystem(_ path: String) throws {
        try vaulting { try DurableFile.syncFilesystem(path) }
    }

    static func fsyncDirectory(_ path: String) throws {
        try vaulting { try SystemFileOps().fsyncDirectory(path) }
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
