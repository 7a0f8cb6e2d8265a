import Foundation
import KeyManagement

/// A certificate of destruction: what one executed shred request destroyed, who asked, who
/// approved, why and how, signed with the vault's Ed25519 key (docs/formats.md, "Certificate of
/// destruction"). It verifies with the public key alone.
///
/// The signature covers the Binding "strongroom/v1/certificate-of-destruction" followed by the
/// certificate's fields (everything but `signature`) as compact JSON with sorted keys. The file
/// is the whole certificate as pretty-printed JSON with sorted keys; `verify` also requires the
/// file to be exactly that form, so no byte of it can change without failing.
public struct CertificateOfDestruction: Codable, Sendable, Equatable {
    public static let formatName = "strongroom-certificate-of-destruction"
    public static let currentVersion = 1

    public struct Item: Codable, Sendable, Equatable {
        public var id: String
        public var child: String
        public var kind: String
        public var category: String
        public var createdAt: String
        public var shreddedAt: String
        /// SHA-256 of the plaintext that was destroyed.
        public var sha256: String
        public var kek: String
        /// Whether the KEK that wrapped this record's data key has been destroyed.
        public var kekDestroyed: Bool
    }

    public struct Signature: Codable, Sendable, Equatable {
        public var algorithm: String
        /// The vault's public key (minisign base64); for information: verify against a key you trust.
        public var publicKey: String
        public var value: String
    }

    public var format: String
    public var version: Int
    public var vaultID: String
    public var request: String
    public var school: String
    public var reason: String
    public var requestedBy: String
    public var requestedRole: String
    public var requestedAt: String
    public var approvedBy: String
    public var approvedRole: String
    public var approvedAt: String
    public var executedAt: String
    public var method: String
    public var records: [Item]
    public var keksDestroyed: [String]
    public var signature: Signature?
    /// The file form, once made (a certificate of 100,000 records takes a second to encode).
    var encoded: [UInt8]?

    enum CodingKeys: String, CodingKey {
        case format, version, vaultID, request, school, reason, requestedBy, requestedRole, requestedAt
        case approvedBy, approvedRole, approvedAt, executedAt, method, records, keksDestroyed, signature
    }

    public static func == (a: CertificateOfDestruction, b: CertificateOfDestruction) -> Bool {
        var x = a, y = b
        x.encoded = nil
        y.encoded = nil
        return (try? x.plainFileBytes()) == (try? y.plainFileBytes())
    }

    static let label = "strongroom/v1/certificate-of-destruction"

    func signedMessage() throws -> [UInt8] {
        var body = self
        body.signature = nil
        body.encoded = nil
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return Binding(label: Self.label).bytes + Array(try encoder.encode(body))
    }

    mutating func sign(with signer: AuditSigner) throws {
        signature = nil
        let value = try signer.sign(try signedMessage())
        signature = Signature(algorithm: "Ed25519", publicKey: signer.publicKey.minisignBase64, value: Data(value).base64EncodedString())
        encoded = try plainFileBytes()
    }

    /// The file form: pretty-printed JSON with sorted keys and a final newline.
    public func fileBytes() throws -> [UInt8] {
        if let encoded { return encoded }
        return try plainFileBytes()
    }

    func plainFileBytes() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(self)) + [0x0a]
    }

    /// Parses and verifies a certificate file against `publicKey`. Throws `.invalidArgument` saying
    /// what is wrong: not a certificate, not in its signed form, or a signature that does not verify.
    public static func verify(_ bytes: [UInt8], publicKey: VaultPublicKey) throws -> CertificateOfDestruction {
        guard let certificate = try? JSONDecoder().decode(CertificateOfDestruction.self, from: Data(bytes)),
              certificate.format == formatName else {
            throw VaultError.invalidArgument("not a Strongroom certificate of destruction")
        }
        guard certificate.version == currentVersion else {
            throw VaultError.invalidArgument("certificate version \(certificate.version); this build reads version \(currentVersion)")
        }
        guard let signature = certificate.signature, signature.algorithm == "Ed25519",
              let value = Data(base64Encoded: signature.value), value.base64EncodedString() == signature.value else {
            throw VaultError.invalidArgument("the certificate carries no well-formed Ed25519 signature")
        }
        guard signature.publicKey == publicKey.minisignBase64 else {
            throw VaultError.invalidArgument("the certificate names another signing key than the one it is checked against")
        }
        guard try certificate.plainFileBytes() == bytes else {
            throw VaultError.invalidArgument("the certificate file was changed after it was signed (it is not in its signed form)")
        }
        guard publicKey.verify(signature: Array(value), message: try certificate.signedMessage()) else {
            throw VaultError.invalidArgument("the signature does not verify with this public key: the certificate was altered or signed by another vault")
        }
        var verified = certificate
        verified.encoded = bytes
        return verified
    }
}
