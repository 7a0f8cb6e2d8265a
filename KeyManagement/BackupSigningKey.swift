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
        try PrivateKeyFile.create(at: path, magic: magic, secret: signer.secret) { KeyManagementError.signingKeyFile(path: path, problem: $0) }
        return signer.publicKey
    }

    /// Opens a key file (refused if group or others may read it) as a signer.
    public static func open(at path: String) throws -> AuditSigner {
        AuditSigner(secretKey: try PrivateKeyFile.read(
            at: path, magic: magic, keyBytes: Sodium.signSecretKeyBytes, missing: "does not exist",
            what: "a Strongroom backup signing key"
        ) { KeyManagementError.signingKeyFile(path: path, problem: $0) })
    }
}
