// KeyManagement: the key hierarchy of a Strongroom vault and the cryptography it drives.
//
// Guarantees: secret keys (master key, KEKs, data keys, the audit-signing key, secretstream
// states) live only in guarded, mlock'ed memory from sodium_malloc and are zeroed when released;
// every data key is wrapped with XChaCha20-Poly1305 under a KEK with associated data that binds it
// to its vault, school, record, format version and KEK, so a wrapped key moved anywhere else fails
// to unwrap; KEKs and the audit-signing key are stored only wrapped by the master key, in a key
// store kept apart from the metadata database (docs/keys.md).
//
// Does not guarantee: that Swift or the OS never copies a key (zeroing is best effort, as in every
// garbage-collected or reference-counted runtime); protection against an attacker who can read
// process memory while the vault runs; anything about keys once handed to a MasterKeyProvider
// other than the ones in this folder.

/// One error type for the module, with cases a caller can act on.
public enum KeyManagementError: Error, Equatable, Sendable {
    /// libsodium could not be initialised or an operation that cannot fail on valid input failed.
    case cryptoUnavailable(String)
    /// Guarded memory could not be allocated or locked.
    case secureMemoryUnavailable(String)
    /// The master key file is missing, malformed or has unsafe permissions.
    case masterKeyFile(path: String, problem: String)
    /// The passphrase (or master key) does not open this key store.
    case wrongMasterKey
    /// The key store file is missing, unreadable or malformed.
    case malformedKeyStore(String)
    /// A wrapped key failed to unwrap: moved to another record, school or version, or altered.
    case unwrapFailed(context: String)
    /// No KEK with this id, or it has been destroyed.
    case unknownKEK(String)
    case kekDestroyed(String)
    /// A key store already exists where one was to be created.
    case alreadyExists(String)
    /// A backup signing key file is missing, malformed or has unsafe permissions.
    case signingKeyFile(path: String, problem: String)
    /// Another process changed the master key since this one opened the key store.
    case masterKeyChanged
    /// The deletion ledger is truncated, edited, reordered or not signed by this vault.
    case malformedLedger(line: Int, problem: String)
    /// An output file's path is a symlink or not a regular file (`OutputFile`): nothing written.
    case unsafeOutput(path: String, problem: String)
    case io(path: String, errno: Int32)
    /// The shared database holding the key store (a deployment of several nodes) did not answer.
    case unavailable(String)
}

extension KeyManagementError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .cryptoUnavailable(let why): return "cryptography unavailable: \(why)"
        case .secureMemoryUnavailable(let why): return "secure memory unavailable: \(why)"
        case .masterKeyFile(let path, let problem): return "master key file \(path): \(problem)"
        case .wrongMasterKey: return "the master key or passphrase does not open this key store"
        case .malformedKeyStore(let why): return "key store is malformed: \(why)"
        case .unwrapFailed(let context): return "wrapped key failed to unwrap (\(context)): it was altered or belongs to another record, school, version or KEK"
        case .unknownKEK(let id): return "no key-encryption key with id \(id)"
        case .kekDestroyed(let id): return "key-encryption key \(id) has been destroyed"
        case .alreadyExists(let path): return "\(path) already exists; refusing to overwrite it"
        case .signingKeyFile(let path, let problem): return "backup signing key \(path): \(problem)"
        case .masterKeyChanged: return "the master key was changed by another process; restart with the new master key"
        case .malformedLedger(let line, let problem): return "deletion ledger line \(line): \(problem)"
        case .unsafeOutput(let path, let problem):
            return "\(path) \(problem)"
        case .io(let path, let code): return "\(path): \(String(cString: strerror(code)))"
        case .unavailable(let why): return why
        }
    }
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
