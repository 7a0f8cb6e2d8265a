import CSodium
import Foundation

/// Small secrets the vault keeps for people (a TOTP authenticator's secret), sealed so that the
/// database alone does not give them up. The sealing key is derived from the vault's signing key
/// (keyed BLAKE2b of its seed under a fixed label), which the master key wraps: it needs the
/// master key to use, and it survives a master key rotation unchanged, because the signing key
/// does. Each sealed value is bound to what it is for (`associatedData`), so one person's secret
/// cannot be moved onto another's row.
extension KeyStore {
    /// What a sealed value is for; each purpose has its own key.
    public enum SealPurpose: Sendable, Equatable {
        /// A person's sign-in secret (a TOTP authenticator's secret).
        case signIn
        /// A school's labels and titles: display names of children and concerns. Each school
        /// has its own key, so one school's sealed values cannot be opened as another's.
        case labels(school: String)

        var keyLabel: [UInt8] {
            switch self {
            case .signIn: Array("strongroom/v1/sign-in-seal".utf8)
            case .labels(let school): Array("strongroom/v1/label-seal".utf8) + [0] + Array(school.utf8)
            }
        }
    }

    /// Seals `secret` for `associatedData` (XChaCha20-Poly1305, as `KeyWrap`).
    public func seal(_ secret: SecretBytes, for associatedData: [UInt8], purpose: SealPurpose = .signIn) throws -> [UInt8] {
        let key = try sealingKey(purpose)
        defer { key.zero() }
        return try KeyWrap.wrap(secret, under: key, associatedData: associatedData)
    }

    /// Opens what `seal` sealed for the same `associatedData` and purpose; `.unwrapFailed` otherwise.
    public func unseal(_ sealed: [UInt8], for associatedData: [UInt8], purpose: SealPurpose = .signIn) throws -> SecretBytes {
        let key = try sealingKey(purpose)
        defer { key.zero() }
        return try KeyWrap.unwrap(sealed, under: key, associatedData: associatedData, context: "sealed value")
    }

    /// What a keyed digest stands for; each purpose has its own key.
    public enum DigestPurpose: Sendable, Equatable {
        /// A name or client address counted by the sign-in throttle.
        case signInThrottle

        var keyLabel: [UInt8] {
            switch self {
            case .signInThrottle: Array("strongroom/v1/sign-in-throttle".utf8)
            }
        }
    }

    /// A keyed BLAKE2b-256 of `message`, under a key derived from the signing key as the
    /// sealing keys are: what stands in the database for a value it must find again but that
    /// whoever reads the database must not recover by trying guesses.
    public func keyedDigest(_ message: [UInt8], purpose: DigestPurpose) throws -> [UInt8] {
        let key = try derivedKey(purpose.keyLabel, count: 32)
        defer { key.zero() }
        var digest = [UInt8](repeating: 0, count: 32)
        let rc = key.withUnsafeBytes { k in
            crypto_generichash(&digest, digest.count, message, UInt64(message.count),
                               k.baseAddress!.assumingMemoryBound(to: UInt8.self), k.count)
        }
        guard rc == 0 else { throw KeyManagementError.cryptoUnavailable("BLAKE2b failed") }
        return digest
    }

    private func sealingKey(_ purpose: SealPurpose) throws -> SecretBytes {
        try derivedKey(purpose.keyLabel, count: Sodium.aeadKeyBytes)
    }

    /// BLAKE2b of `label` keyed with the signing key's seed.
    private func derivedKey(_ label: [UInt8], count: Int) throws -> SecretBytes {
        let signer = try auditSigner()
        let key = try SecretBytes(count: count)
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
