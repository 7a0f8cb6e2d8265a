#if canImport(Glibc)
import Glibc
#endif

/// The default master-key provider: a 40-byte file, magic "SRMKEY\0\u{1}" then 32 random bytes,
/// created with mode 0600. It is refused if group or others can read it, because anyone who can
/// read it can read every record.
public enum MasterKeyFile {
    static let magic: [UInt8] = Array("SRMKEY".utf8) + [0, 1]
    static let keyBytes = 32
    static let fileBytes = 40

    /// Creates the key file (failing if anything exists at `path`) and returns its provider.
    public static func create(at path: String) throws -> any MasterKeyProvider {
        let key = try SecretBytes.random(count: keyBytes)
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            if errno == EEXIST { throw KeyManagementError.alreadyExists(path) }
            throw KeyManagementError.masterKeyFile(path: path, problem: String(cString: strerror(errno)))
        }
        defer { _ = Glibc.close(fd) }
        // Write magic and key with two writes from guarded memory: no heap copy of the key.
        let ok = magic.withUnsafeBytes { m in Glibc.write(fd, m.baseAddress!, m.count) == m.count }
            && key.withUnsafeBytes { k in Glibc.write(fd, k.baseAddress!, k.count) == k.count }
            && fchmod(fd, 0o600) == 0 && Glibc.fsync(fd) == 0
        guard ok else {
            let code = errno
            _ = Glibc.unlink(path)
            throw KeyManagementError.masterKeyFile(path: path, problem: "could not be written: \(String(cString: strerror(code)))")
        }
        try SystemFileOps().fsyncDirectory(DurableFile.directory(of: path))
        return InMemoryMasterKey(key: key, descriptor: MasterKeyDescriptor(kind: .keyFile))
    }

    /// Opens an existing key file after checking its permissions.
    public static func open(at path: String) throws -> any MasterKeyProvider {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else {
            let problem = errno == ENOENT ? "does not exist (pass --master-key or set STRONGROOM_MASTER_KEY)" : String(cString: strerror(errno))
            throw KeyManagementError.masterKeyFile(path: path, problem: problem)
        }
        defer { _ = Glibc.close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            throw KeyManagementError.masterKeyFile(path: path, problem: String(cString: strerror(errno)))
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            throw KeyManagementError.masterKeyFile(path: path, problem: "is not a regular file")
        }
        let permissions = info.st_mode & 0o777
        guard permissions & 0o077 == 0 else {
            throw KeyManagementError.masterKeyFile(
                path: path,
                problem: "is readable by group or others (mode \(String(permissions, radix: 8))); run chmod 600 on it")
        }
        // Read into guarded memory, one byte more than expected to notice a longer file.
        let buffer = try SecretBytes(count: fileBytes + 1)
        var total = 0
        while total < buffer.count {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + total, $0.count - total) }
            if n < 0 { if errno == EINTR { continue }; throw KeyManagementError.masterKeyFile(path: path, problem: String(cString: strerror(errno))) }
            if n == 0 { break }
            total += n
        }
        let magicOK = buffer.withUnsafeBytes { Array($0[0..<magic.count]) } == magic
        guard total == fileBytes, magicOK else {
            throw KeyManagementError.masterKeyFile(path: path, problem: "is not a Strongroom master key file (wrong size or magic)")
        }
        let key = try buffer.slice(offset: magic.count, count: keyBytes)
        return InMemoryMasterKey(key: key, descriptor: MasterKeyDescriptor(kind: .keyFile))
    }
}
