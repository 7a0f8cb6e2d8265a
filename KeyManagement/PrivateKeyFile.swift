#if canImport(Glibc)
import Glibc
#endif

/// A small file holding one secret: a magic tag, then the key bytes; mode 0600, created with
/// O_EXCL, refused if group or others may read it. The master key file and the backup signing
/// key are both of this shape; `problem` turns a failure into each one's own error.
enum PrivateKeyFile {
    static func create(
        at path: String, magic: [UInt8], secret: SecretBytes, problem: (String) -> KeyManagementError
    ) throws {
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            if errno == EEXIST { throw KeyManagementError.alreadyExists(path) }
            throw problem(String(cString: strerror(errno)))
        }
        defer { _ = Glibc.close(fd) }
        // Magic and key in two writes from guarded memory: no heap copy of the key.
        let ok = magic.withUnsafeBytes { m in Glibc.write(fd, m.baseAddress!, m.count) == m.count }
            && secret.withUnsafeBytes { k in Glibc.write(fd, k.baseAddress!, k.count) == k.count }
            && fchmod(fd, 0o600) == 0 && Glibc.fsync(fd) == 0
        guard ok else {
            let code = errno
            _ = Glibc.unlink(path)
            throw problem("could not be written: \(String(cString: strerror(code)))")
        }
        try SystemFileOps().fsyncDirectory(DurableFile.directory(of: path))
    }

    /// The key bytes after the magic, in guarded memory, once the file's type, permissions,
    /// size and magic are checked.
    static func read(
        at path: String, magic: [UInt8], keyBytes: Int, missing: String, what: String, problem: (String) -> KeyManagementError
    ) throws -> SecretBytes {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { throw problem(errno == ENOENT ? missing : String(cString: strerror(errno))) }
        defer { _ = Glibc.close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw problem(String(cString: strerror(errno))) }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw problem("is not a regular file") }
        let permissions = info.st_mode & 0o777
        guard permissions & 0o077 == 0 else {
            throw problem("is readable by group or others (mode \(String(permissions, radix: 8))); run chmod 600 on it")
        }
        // Read into guarded memory, one byte more than expected to notice a longer file.
        let size = magic.count + keyBytes
        let buffer = try SecretBytes(count: size + 1)
        var total = 0
        while total < buffer.count {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + total, $0.count - total) }
            if n < 0 { if errno == EINTR { continue }; throw problem(String(cString: strerror(errno))) }
            if n == 0 { break }
            total += n
        }
        guard total == size, buffer.withUnsafeBytes({ Array($0[0..<magic.count]) }) == magic else {
            throw problem("is not \(what) (wrong size or magic)")
        }
        return try buffer.slice(offset: magic.count, count: keyBytes)
    }
}
