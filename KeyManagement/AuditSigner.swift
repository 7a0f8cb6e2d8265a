import Foundation

/// The vault's Ed25519 key. It signs audit checkpoints (and, later, certificates of destruction
/// and bundle manifests). The secret half lives in guarded memory; the public half is exported
/// for verifiers who hold no secrets.
public final class AuditSigner: @unchecked Sendable {
    private let secretKey: SecretBytes
    public let publicKey: VaultPublicKey

    init(secretKey: SecretBytes) {
        self.secretKey = secretKey
        self.publicKey = VaultPublicKey(bytes: Sodium.signPublicKey(fromSecret: secretKey.typedPointer))
    }

    static func generate() throws -> AuditSigner {
        let secret = try SecretBytes(count: Sodium.signSecretKeyBytes)
        var pk = [UInt8]()
        try Sodium.signKeypair(publicKey: &pk, secretKey: secret.typedPointer)
        return AuditSigner(secretKey: secret)
    }

    var secret: SecretBytes { secretKey }

    public func sign(_ message: [UInt8]) throws -> [UInt8] {
        try Sodium.signDetached(message, secretKey: secretKey.typedPointer)
    }
}

/// An Ed25519 public key. Its text form is minisign's (base64 of "Ed", an 8-byte key id and the
/// 32-byte key), so the same key later verifies bundle manifests with stock `minisign`.
public struct VaultPublicKey: Sendable, Equatable, Hashable {
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) { self.bytes = bytes }

    /// Key id: the first 8 bytes of BLAKE2b-256 of the key.
    public var keyID: [UInt8] { Array(Blake2b.hash(bytes).prefix(8)) }

    public var minisignBase64: String { Data(Array("Ed".utf8) + keyID + bytes).base64EncodedString() }

    /// The two-line file form minisign reads.
    public var fileText: String { "untrusted comment: strongroom vault public key \(Hex.encode(keyID))\n\(minisignBase64)\n" }

    /// Parses the one-line base64 form or the two-line file form.
    public init?(text: String) {
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
        guard let line = lines.first(where: { !$0.isEmpty && !$0.hasPrefix("untrusted comment:") }),
              let raw = Data(base64Encoded: line), raw.count == 42, Array(raw.prefix(2)) == Array("Ed".utf8) else { return nil }
        self.bytes = Array(raw.suffix(32))
        guard Array(raw[2..<10]) == keyID else { return nil }
    }

    public func verify(signature: [UInt8], message: [UInt8]) -> Bool {
        Sodium.verifyDetached(signature, message: message, publicKey: bytes)
    }
}
