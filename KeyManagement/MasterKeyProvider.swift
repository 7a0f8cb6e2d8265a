/// The seam between the vault and whatever holds its master key. A provider can wrap a key and
/// unwrap it again, and nothing else: the master key itself never leaves it. The key-file and
/// passphrase providers keep the master key in guarded memory; an HSM provider (PKCS#11
/// C_WrapKey/C_UnwrapKey or C_Encrypt/C_Decrypt with an AEAD mechanism) is a new conforming type,
/// with no change elsewhere.
public protocol MasterKeyProvider: Sendable {
    /// How the key store records this provider, so the next start knows which one to open.
    var descriptor: MasterKeyDescriptor { get }
    func wrap(_ key: SecretBytes, associatedData: [UInt8]) throws -> [UInt8]
    /// Throws `KeyManagementError.wrongMasterKey` when the wrapped key does not open.
    func unwrap(_ wrapped: [UInt8], associatedData: [UInt8]) throws -> SecretBytes
}

/// Public facts about a master-key provider, stored in the key store (never a secret).
public struct MasterKeyDescriptor: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable { case keyFile = "key-file", passphrase }
    public var kind: Kind
    public var kdf: PassphraseKDFParameters?

    public init(kind: Kind, kdf: PassphraseKDFParameters? = nil) {
        self.kind = kind
        self.kdf = kdf
    }
}

/// A provider whose master key is a 32-byte secret in guarded memory.
struct InMemoryMasterKey: MasterKeyProvider {
    let key: SecretBytes
    let descriptor: MasterKeyDescriptor

    func wrap(_ key: SecretBytes, associatedData: [UInt8]) throws -> [UInt8] {
        try KeyWrap.wrap(key, under: self.key, associatedData: associatedData)
    }

    func unwrap(_ wrapped: [UInt8], associatedData: [UInt8]) throws -> SecretBytes {
        do {
            return try KeyWrap.unwrap(wrapped, under: key, associatedData: associatedData, context: "master key")
        } catch KeyManagementError.unwrapFailed {
            throw KeyManagementError.wrongMasterKey
        }
    }
}
