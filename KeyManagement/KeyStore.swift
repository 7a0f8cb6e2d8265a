import Foundation

/// The key store: one JSON file, `keys/keystore.json`, kept apart from the metadata database so
/// that keys and data can be backed up and destroyed separately. It holds only public facts and
/// keys wrapped by the master key (docs/keys.md):
///
///     { "format": "strongroom-keystore", "version": 1, "vaultID": "...",
///       "masterKey": { "kind": "key-file" | "passphrase", "kdf": {...} },
///       "keks": [ { "id", "state", "createdAt", "wrapped" } ],
///       "auditSigningKey": { "publicKey", "wrapped" } }
public final class KeyStore: @unchecked Sendable {
    public static let fileName = "keystore.json"
    public static let formatName = "strongroom-keystore"
    public static let currentVersion = 1

    public let path: String
    public let vaultID: String
    private var file: KeyStoreFile
    private let master: any MasterKeyProvider
    private let lock = NSLock()
    private var unwrapped: [String: SecretBytes] = [:]
    private var signer: AuditSigner?

    /// Creates a new key store with one active KEK and an audit-signing key.
    public static func create(
        directory: String, master: any MasterKeyProvider, clock: @Sendable () -> Date = Date.init
    ) throws -> KeyStore {
        let path = directory + "/" + fileName
        let vaultID = Hex.encode(randomPublicBytes(16))
        let signer = try AuditSigner.generate()
        let signingWrapped = try master.wrap(signer.secret, associatedData: signingKeyBinding(vaultID: vaultID))
        var file = KeyStoreFile(
            format: formatName, version: currentVersion, vaultID: vaultID, masterKey: master.descriptor, keks: [],
            auditSigningKey: .init(publicKey: signer.publicKey.minisignBase64, wrapped: Data(signingWrapped).base64EncodedString()))
        let kek = try SecretBytes.random(count: 32)
        let kekID = "kek-" + Hex.encode(randomPublicBytes(8))
        let wrapped = try master.wrap(kek, associatedData: kekBinding(vaultID: vaultID, kekID: kekID))
        file.keks.append(.init(id: kekID, state: .active, createdAt: clock(), wrapped: Data(wrapped).base64EncodedString()))
        do {
            try DurableFile.write(try encode(file), to: path, exclusive: true)
        } catch let error as FileOpsError where error.errno == EEXIST {
            throw KeyManagementError.alreadyExists(path)
        }
        let store = KeyStore(path: path, file: file, master: master)
        store.unwrapped[kekID] = kek
        store.signer = signer
        return store
    }

    /// Reads the public part of a key store (which master-key provider it needs), without keys.
    public static func descriptor(directory: String) throws -> (vaultID: String, masterKey: MasterKeyDescriptor, publicKey: VaultPublicKey) {
        let file = try load(path: directory + "/" + fileName)
        guard let pk = VaultPublicKey(text: file.auditSigningKey.publicKey) else {
            throw KeyManagementError.malformedKeyStore("audit public key is malformed")
        }
        return (file.vaultID, file.masterKey, pk)
    }

    /// Opens a key store with its master key; fails with `.wrongMasterKey` if the key does not fit.
    public static func open(directory: String, master: any MasterKeyProvider) throws -> KeyStore {
        let path = directory + "/" + fileName
        let file = try load(path: path)
        let store = KeyStore(path: path, file: file, master: master)
        // Prove the master key now, so a wrong passphrase is reported before any work starts.
        _ = try store.auditSigner()
        return store
    }

    private init(path: String, file: KeyStoreFile, master: any MasterKeyProvider) {
        self.path = path
        self.vaultID = file.vaultID
        self.file = file
        self.master = master
    }

    public var masterKeyDescriptor: MasterKeyDescriptor { file.masterKey }

    /// The KEK new data keys are wrapped under.
    public func activeKEK() throws -> (id: String, key: SecretBytes) {
        let id: String? = lock.withLock { file.keks.last(where: { $0.state == .active })?.id }
        guard let id else { throw KeyManagementError.malformedKeyStore("no active key-encryption key") }
        return (id, try kek(id: id))
    }

    /// A KEK by id, unwrapped once and kept in guarded memory while the store is open.
    public func kek(id: String) throws -> SecretBytes {
        try lock.withLock {
            if let key = unwrapped[id] { return key }
            guard let entry = file.keks.first(where: { $0.id == id }) else { throw KeyManagementError.unknownKEK(id) }
            guard entry.state != .destroyed, let wrappedText = entry.wrapped, let wrapped = Data(base64Encoded: wrappedText) else {
                throw KeyManagementError.kekDestroyed(id)
            }
            let key = try master.unwrap(Array(wrapped), associatedData: Self.kekBinding(vaultID: vaultID, kekID: id))
            unwrapped[id] = key
            return key
        }
    }

    public var keks: [KEKInfo] {
        lock.withLock { file.keks.map { KEKInfo(id: $0.id, state: $0.state, createdAt: $0.createdAt) } }
    }

    public func auditSigner() throws -> AuditSigner {
        try lock.withLock {
            if let signer { return signer }
            guard let wrapped = Data(base64Encoded: file.auditSigningKey.wrapped) else {
                throw KeyManagementError.malformedKeyStore("audit signing key is not base64")
            }
            let secret = try master.unwrap(Array(wrapped), associatedData: Self.signingKeyBinding(vaultID: vaultID))
            let made = AuditSigner(secretKey: secret)
            guard made.publicKey.minisignBase64 == file.auditSigningKey.publicKey else {
                throw KeyManagementError.malformedKeyStore("audit signing key does not match its public key")
            }
            signer = made
            return made
        }
    }

    public var auditPublicKey: VaultPublicKey {
        VaultPublicKey(text: file.auditSigningKey.publicKey)!
    }

    // MARK: file

    static func kekBinding(vaultID: String, kekID: String) -> [UInt8] {
        var b = Binding(label: "strongroom/v1/kek-wrap")
        b.append(vaultID)
        b.append(kekID)
        return b.bytes
    }

    static func signingKeyBinding(vaultID: String) -> [UInt8] {
        var b = Binding(label: "strongroom/v1/audit-signing-key-wrap")
        b.append(vaultID)
        return b.bytes
    }

    static func encode(_ file: KeyStoreFile) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return Array(try encoder.encode(file)) + [0x0a]
    }

    static func load(path: String) throws -> KeyStoreFile {
        let bytes: [UInt8]?
        do { bytes = try DurableFile.read(path) } catch let error as FileOpsError {
            throw KeyManagementError.io(path: path, errno: error.errno)
        }
        guard let bytes else { throw KeyManagementError.malformedKeyStore("\(path) does not exist") }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let file: KeyStoreFile
        do { file = try decoder.decode(KeyStoreFile.self, from: Data(bytes)) } catch {
            throw KeyManagementError.malformedKeyStore("\(path) is not a key store: \(error)")
        }
        guard file.format == formatName else { throw KeyManagementError.malformedKeyStore("\(path) has format \(file.format)") }
        guard file.version == currentVersion else {
            throw KeyManagementError.malformedKeyStore("\(path) has version \(file.version); this build reads version \(currentVersion)")
        }
        return file
    }
}

public struct KEKInfo: Sendable, Equatable {
    public var id: String
    public var state: KEKState
    public var createdAt: Date
}

public enum KEKState: String, Codable, Sendable { case active, retired, destroyed }

struct KeyStoreFile: Codable {
    var format: String
    var version: Int
    var vaultID: String
    var masterKey: MasterKeyDescriptor
    var keks: [KEKEntry]
    var auditSigningKey: SigningKeyEntry

    struct KEKEntry: Codable {
        var id: String
        var state: KEKState
        var createdAt: Date
        var wrapped: String?
    }

    struct SigningKeyEntry: Codable {
        var publicKey: String
        var wrapped: String
    }
}
