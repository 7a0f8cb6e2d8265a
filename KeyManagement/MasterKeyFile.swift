#if canImport(Glibc)
import Glibc
#endif

/// The default master-key provider: a 40-byte file, magic "SRMKEY\0\u{1}" then 32 random bytes,
/// created with mode 0600. It is refused if group or others can read it, because anyone who can
/// read it can read every record.
public enum MasterKeyFile {
    static let magic: [UInt8] = Array("SRMKEY".utf8) + [0, 1]
    static let keyBytes = 32

    /// Creates the key file (failing if anything exists at `path`) and returns its provider.
    public static func create(at path: String) throws -> any MasterKeyProvider {
        let key = try SecretBytes.random(count: keyBytes)
        try PrivateKeyFile.create(at: path, magic: magic, secret: key) { KeyManagementError.masterKeyFile(path: path, problem: $0) }
        return InMemoryMasterKey(key: key, descriptor: MasterKeyDescriptor(kind: .keyFile))
    }

    /// Opens an existing key file after checking its permissions.
    public static func open(at path: String) throws -> any MasterKeyProvider {
        let key = try PrivateKeyFile.read(
            at: path, magic: magic, keyBytes: keyBytes,
            missing: "does not exist (pass --master-key or set STRONGROOM_MASTER_KEY)", what: "a Strongroom master key file"
        ) { KeyManagementError.masterKeyFile(path: path, problem: $0) }
        return InMemoryMasterKey(key: key, descriptor: MasterKeyDescriptor(kind: .keyFile))
    }
}
