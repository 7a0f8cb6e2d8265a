import CSodium
import Foundation

/// A person's sign-in passphrase, hashed with Argon2id (libsodium's `crypto_pwhash_str`): the
/// stored string names the algorithm, its limits and a random salt, so a hash made under other
/// limits still verifies. Nothing here keeps the passphrase beyond the call.
public enum PassphraseHash {
    /// How hard a new hash is to compute.
    public struct Limits: Sendable, Equatable {
        public var opsLimit: UInt64
        public var memLimit: Int

        /// libsodium's moderate limits (3 passes, 256 MiB): about a second on a small server.
        public static let moderate = Limits(opsLimit: Sodium.opsLimitModerate, memLimit: Sodium.memLimitModerate)
        /// libsodium's interactive limits (2 passes, 64 MiB): for tests only.
        public static let interactive = Limits(opsLimit: Sodium.opsLimitInteractive, memLimit: Sodium.memLimitInteractive)

        public init(opsLimit: UInt64, memLimit: Int) {
            self.opsLimit = opsLimit
            self.memLimit = memLimit
        }
    }

    /// The longest passphrase hashed, in UTF-8 bytes (what the sign-in rules allow, with room).
    public static let maxBytes = 1024

    /// The encoded Argon2id hash of `passphrase` under `limits`.
    public static func hash(_ passphrase: String, limits: Limits) throws -> String {
        try Sodium.ensureInitialised()
        let bytes = Array(passphrase.utf8)
        guard bytes.count <= maxBytes else { throw KeyManagementError.cryptoUnavailable("passphrase longer than \(maxBytes) bytes") }
        var out = [CChar](repeating: 0, count: Int(crypto_pwhash_STRBYTES))
        let rc = bytes.withUnsafeBufferPointer { p in
            p.baseAddress!.withMemoryRebound(to: CChar.self, capacity: max(bytes.count, 1)) {
                crypto_pwhash_str_alg(&out, $0, UInt64(bytes.count), limits.opsLimit, limits.memLimit, Sodium.argon2idAlgorithm)
            }
        }
        guard rc == 0 else { throw KeyManagementError.cryptoUnavailable("Argon2id failed (out of memory for memlimit \(limits.memLimit)?)") }
        return String(decoding: out.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Whether `passphrase` is the one `encoded` was made from. A malformed hash verifies nothing.
    public static func verify(_ passphrase: String, against encoded: String) -> Bool {
        guard (try? Sodium.ensureInitialised()) != nil, encoded.hasPrefix("$argon2id$"),
              encoded.utf8.count < Int(crypto_pwhash_STRBYTES) else { return false }
        let bytes = Array(passphrase.utf8)
        guard bytes.count <= maxBytes else { return false }
        return encoded.withCString { hash in
            bytes.withUnsafeBufferPointer { p in
                p.baseAddress!.withMemoryRebound(to: CChar.self, capacity: max(bytes.count, 1)) {
                    crypto_pwhash_str_verify(hash, $0, UInt64(bytes.count)) == 0
                }
            }
        }
    }
}
