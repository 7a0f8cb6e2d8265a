import CSodium
import Foundation

/// Small secrets the vault keeps for people (a TOTP authenticator's secret), sealed so that the
/// database alone does not give them up. The sealing key is derived from the vault's signing key
/// (keyed BLAKE2b of its seed under a fixed label), which the master key wraps: it needs the
/// master key to use, and it survives a master key rotation unchanged, because the signing key
/// does. Each sealed value is bound to what it is for (`associatedData`), so one person's secret
/// cannot be moved onto another's row.
extension KeyStore {
    /// Seals `secret` for `associatedData` (XChaCha20-Poly1305, as `KeyWrap`).
    public func seal(_ secret: SecretBytes, for associatedData: [UInt8]) throws -> [UInt8] {
        let key = try sealingKey()
        defer { key.zero() }
        return try KeyWrap.wrap(secret, under: key, associatedData: associatedData)
    }

    /// Opens what `seal` sealed for the same `associatedData`; `.unwrapFailed` otherwise.
    public func unseal(_ sealed: [UInt8], for associatedData: [UInt8]) throws -> SecretBytes {
        let key = try sealingKey()
        defer { key.zero() }
        return try KeyWrap.unwrap(sealed, under: key, associatedData: associatedData, context: "sealed sign-in secret")
    }

    private func sealingKey() throws -> SecretBytes {
        let signer = try auditSigner()
        let key = try SecretBytes(count: Sodium.aeadKeyBytes)
        let label = Array("strongroom/v1/sign-in-seal".utf8)
        // The Ed25519 secret key is seed ‖ public key; the seed is the secret.
        let rc = key.withUnsafeMutableBytes { out in
            signer.secret.withUnsafeBytes { seed in
                crypto_generichash(
                    out.baseAddress!.assumingMemoryBound(to: UInt8.self), out.count, label, UInt64(label.count),
                    seed.baseAddress!.assumingMemoryBound(to: UInt8.self), 32)
            }
        }
        guard rc == 0 else { throw KeyManagementError.cryptoUnavailable("BLAKE2b failed") }
        return key
    }
}
