#if canImport(Glibc)
import Glibc
#endif

/// The backup operator's Ed25519 key, which signs backup manifests (docs/keys.md, "Backup
/// signing key"). It is not the vault's key and opens nothing: holding it lets someone vouch
/// for a backup, not read one. File: magic `SRBKEY\0\u{1}` then the 64-byte libsodium secret
/// key, mode 0600, created with O_EXCL.
public enum BackupSigningKey {
    static let magic: [UInt8] = Array("SRBKEY".utf8) + [0, 1]

    /// Creates a key file at `path` (refusing to overwrite anything) and returns its public key.
    public static func create(at path: String) throws -> VaultPublicKey {
        let signer = try AuditSigner.generate()
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            if errno == EEXIST { throw KeyManagementError.alreadyExists(path) }
            throw KeyManagementError.io(path: path, errno: errno)
        }
        defer { _ = Glibc.close(fd) }
        let ok = magic.withUnsafeBytes { m in Glibc.write(fd, m.baseAddress!, m.count) == m.count }
            && signer.secret.withUnsafeBytes { k in Glibc.write(fd, k.baseAddress!, k.count) == k.count }
            && fchmod(fd, 0o600) == 0 && Glibc.fsync(fd) == 0
        guard ok else {
            let code = errno
            _ = Glibc.unlink(path)
            throw KeyManagementError.io(path: path, errno: code)
        }
        try SystemFileOps().fsyncDirectory(DurableFile.directory(of: path))
        return signer.publicKey
    }

    /// Opens a key file (refused if group or others may read it) as a signer.
    public static func open(at path: String) throws -> AuditSigner {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { throw KeyManagementError.io(path: path, errno: errno) }
        defer { _ = Glibc.close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw KeyManagementError.io(path: path, errno: errno) }
        guard (info.st_mode & S_IFMT) == S_IFREG, info.st_mode & 0o077 == 0 else {
            throw KeyManagementError.signingKeyFile(path: path, problem: "must be a regular file readable by its owner only (chmod 600)")
        }
        let size = magic.count + Sodium.signSecretKeyBytes
        let buffer = try SecretBytes(count: size + 1)
        var total = 0
        while total < buffer.count {
            let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress! + total, $0.count - total) }
            if n < 0 { if errno == EINTR { continue }; throw KeyManagementError.io(path: path, errno: errno) }
            if n == 0 { break }
            total += n
        }
        guard total == size, buffer.withUnsafeBytes({ Array($0[0..<magic.count]) }) == magic else {
            throw KeyManagementError.signingKeyFile(path: path, problem: "is not a Strongroom backup signing key (wrong size or magic)")
        }
        return AuditSigner(secretKey: try buffer.slice(offset: magic.count, count: Sodium.signSecretKeyBytes))
    }
}
