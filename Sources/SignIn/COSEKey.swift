import Crypto

/// A credential public key in COSE_Key form (RFC 9052 §7, RFC 9053), as WebAuthn carries it:
/// ES256 (ECDSA on P-256 with SHA-256) or Ed25519 (EdDSA), and nothing else.
///
///     let key = try COSEKey(cbor: storedCredential.publicKey)
///     guard key.isValidSignature(signature, for: authenticatorData + clientDataHash) else { ... }
///
/// Accepted exactly:
/// - ES256: {1 (kty): 2 (EC2), 3 (alg): -7, -1 (crv): 1 (P-256), -2 (x): 32 bytes, -3 (y): 32 bytes};
///   the point must be on the curve (swift-crypto checks it when the key is made).
/// - Ed25519: {1 (kty): 1 (OKP), 3 (alg): -8 (EdDSA), -1 (crv): 6 (Ed25519), -2 (x): 32 bytes}.
/// Any other algorithm (RS256 is -257) is `.unsupportedAlgorithm`; a key without `alg`, with a
/// kty or curve that does not match its alg, with other labels (a private part `d`, a key id)
/// or with values of the wrong type is `.malformed`.
public struct COSEKey {
    public enum Algorithm: Int64, Sendable {
        case es256 = -7
        case ed25519 = -8
    }

    enum PublicKey {
        case p256(P256.Signing.PublicKey)
        case ed25519(Curve25519.Signing.PublicKey)
    }

    public let algorithm: Algorithm
    let key: PublicKey

    /// Parses a COSE_Key from its CBOR bytes (exactly one item).
    public init(cbor: [UInt8]) throws {
        try self.init(try CBOR.decode(cbor))
    }

    public init(_ value: CBORValue) throws {
        guard case .map(let map) = value else { throw SignInError.malformed("COSE key is not a map") }
        guard let alg = map[.unsigned(3)] else { throw SignInError.unsupportedAlgorithm(nil) }
        guard let algValue = alg.int else { throw SignInError.malformed("COSE key alg is not an integer") }
        guard let algorithm = Algorithm(rawValue: algValue) else { throw SignInError.unsupportedAlgorithm(algValue) }
        self.algorithm = algorithm
        func int(_ label: Int64) -> Int64? { map[Self.label(label)]?.int }
        func bytes(_ label: Int64, count: Int) throws -> [UInt8] {
            guard case .bytes(let b)? = map[Self.label(label)], b.count == count else {
                throw SignInError.malformed("COSE key parameter \(label) is not \(count) bytes")
            }
            return b
        }
        switch algorithm {
        case .es256:
            guard map.count == 5 else { throw SignInError.malformed("COSE EC2 key has other parameters than kty, alg, crv, x, y") }
            guard int(1) == 2 else { throw SignInError.malformed("COSE key type is not EC2 for ES256") }
            guard int(-1) == 1 else { throw SignInError.malformed("COSE curve is not P-256 for ES256") }
            let x = try bytes(-2, count: 32), y = try bytes(-3, count: 32)
            do {
                key = .p256(try P256.Signing.PublicKey(x963Representation: [0x04] + x + y))
            } catch {
                throw SignInError.malformed("COSE EC2 key is not a point on P-256")
            }
        case .ed25519:
            guard map.count == 4 else { throw SignInError.malformed("COSE OKP key has other parameters than kty, alg, crv, x") }
            guard int(1) == 1 else { throw SignInError.malformed("COSE key type is not OKP for EdDSA") }
            guard int(-1) == 6 else { throw SignInError.malformed("COSE curve is not Ed25519 for EdDSA") }
            let x = try bytes(-2, count: 32)
            do {
                key = .ed25519(try Curve25519.Signing.PublicKey(rawRepresentation: x))
            } catch {
                throw SignInError.malformed("COSE OKP key is not an Ed25519 public key")
            }
        }
    }

    static func label(_ n: Int64) -> CBORValue { n >= 0 ? .unsigned(UInt64(n)) : .negative(UInt64(-1 - n)) }

    /// Whether `signature` signs `message` with this key. ES256 signatures in WebAuthn are
    /// ASN.1 DER ECDSA-Sig-Value (RFC 3279), verified over SHA-256 of the message; Ed25519
    /// signatures are the raw 64 bytes of RFC 8032. A signature that does not parse is invalid.
    public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        switch key {
        case .p256(let publicKey):
            guard let parsed = try? P256.Signing.ECDSASignature(derRepresentation: signature) else { return false }
            return publicKey.isValidSignature(parsed, for: message)
        case .ed25519(let publicKey):
            guard signature.count == 64 else { return false }
            return publicKey.isValidSignature(signature, for: message)
        }
    }
}
