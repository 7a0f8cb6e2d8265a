#if canImport(Glibc)
import Glibc
#endif

/// Argon2id parameters stored in the key store beside a passphrase-protected vault.
public struct PassphraseKDFParameters: Codable, Sendable, Equatable {
    public var algorithm: String
    public var salt: String
    public var opsLimit: UInt64
    public var memLimit: Int

    public enum Cost: String, Sendable, CaseIterable { case interactive, moderate, sensitive }

    /// Fresh parameters with a random salt. `moderate` (256 MiB, 3 passes) is the default for a
    /// vault; `interactive` (64 MiB, 2 passes) exists for tests and small machines.
    public static func generate(cost: Cost = .moderate) -> PassphraseKDFParameters {
        let (ops, mem): (UInt64, Int) = switch cost {
        case .interactive: (Sodium.opsLimitInteractive, Sodium.memLimitInteractive)
        case .moderate: (Sodium.opsLimitModerate, Sodium.memLimitModerate)
        case .sensitive: (Sodium.opsLimitSensitive, Sodium.memLimitSensitive)
        }
        return PassphraseKDFParameters(
            algorithm: "argon2id13", salt: Hex.encode(randomPublicBytes(Sodium.pwhashSaltBytes)), opsLimit: ops, memLimit: mem)
    }
}

/// The master key derived from a passphrase with Argon2id (crypto_pwhash).
public enum PassphraseMasterKey {
    public static func derive(passphrase: SecretBytes, parameters: PassphraseKDFParameters) throws -> any MasterKeyProvider {
        guard parameters.algorithm == "argon2id13", let salt = Hex.decode(parameters.salt) else {
            throw KeyManagementError.malformedKeyStore("unsupported passphrase KDF \(parameters.algorithm)")
        }
        guard passphrase.count > 0 else { throw KeyManagementError.wrongMasterKey }
        let key = try SecretBytes(count: 32)
        try passphrase.withUnsafeBytes { p in
            try Sodium.argon2id(
                output: key.typedPointer, outputBytes: 32, passphrase: p, salt: salt,
                opsLimit: parameters.opsLimit, memLimit: parameters.memLimit)
        }
        return InMemoryMasterKey(key: key, descriptor: MasterKeyDescriptor(kind: .passphrase, kdf: parameters))
    }

    /// Reads a passphrase from a file descriptor (stdin) straight into guarded memory, up to the
    /// first newline; never through a Swift String.
    public static func readPassphrase(from fd: Int32 = 0, maxBytes: Int = 1024) throws -> SecretBytes {
        let buffer = try SecretBytes(count: maxBytes)
        var total = 0
        var byte: UInt8 = 0
        while total < maxBytes {
            let n = Glibc.read(fd, &byte, 1)
            if n < 0 { if errno == EINTR { continue }; throw KeyManagementError.io(path: "stdin", errno: errno) }
            if n == 0 || byte == UInt8(ascii: "\n") { break }
            buffer.withUnsafeMutableBytes { $0[total] = byte }
            total += 1
        }
        byte = 0
        if total > 0, buffer.withUnsafeBytes({ $0[total - 1] }) == UInt8(ascii: "\r") { total -= 1 }
        guard total > 0 else { throw KeyManagementError.wrongMasterKey }
        return try buffer.slice(offset: 0, count: total)
    }
}
