import KeyManagement
import Storage

/// One error type for the vault, with cases a caller can act on. The CLI maps it to exit codes
/// in one place (Sources/strongroom/ExitCodes.swift); the HTTP layer maps it to statuses.
/// No case carries a filename, file content or key.
public enum VaultError: Error, Sendable, Equatable {
    case refused(Refusal)
    case unknownKind(String, known: [String])
    case notFound(String)
    case storeExists(String)
    case storeMissing(String)
    /// The store folder is writable by other users: refused until it is private again.
    case storeUnsafe(String)
    /// A setting in the store folder (the audit witness) is malformed or unusable.
    case misconfigured(String)
    case busy(String)
    case needsMasterKey(String)
    case sniffer(String)
    case key(KeyManagementError)
    case storage(StorageError)
    case invalidArgument(String)
    /// The user's role or schools do not allow this.
    case forbidden(String)
    /// The act needs a second factor given within the last few minutes (`SessionFacts`); the
    /// person gives one (step-up) and tries again (HTTP 403, problem type step-up-required).
    case stepUpRequired(String)
    /// Enrolment or sign-in was refused (`SignInRefusal` says how; never which part was wrong).
    case signIn(SignInRefusal)
    /// The request conflicts with the state of a hold, shred request or record (HTTP 409).
    case conflict(String)
    /// A backup is damaged, incomplete, not signed by the expected key or not restorable as asked.
    case backup(String)
    /// A bundle's download link that has expired, been revoked or been used up (HTTP 410).
    case linkUnusable(String)
    /// An item cannot be redacted: its file does not decode, or is over the pixel budget (HTTP 422).
    case cannotRedact(String)
    /// A received transfer package failed a check; nothing of it was stored (HTTP 422). Says
    /// which check: encryption, addressee, sender's card, signature, checkpoint, proof, record.
    case transferRefused(String)
    /// The record has no preview (its kind, or its size): the person downloads it to open it (HTTP 415).
    case noPreview(String)

    static func wrap(_ error: Error) -> Error {
        switch error {
        case let e as KeyManagementError: return VaultError.key(e)
        case let e as StorageError: return VaultError.storage(e)
        case let e as FileOpsError: return VaultError.storage(.io(operation: e.operation, path: e.path, errno: e.errno))
        case let e as S3Error: return VaultError.storage(.objectStore(e.description))
        default: return error
        }
    }
}

extension VaultError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .refused(let r): return "refused: \(r)"
        case .unknownKind(_, let known):
            // Not echoed: a kind field can hold a name typed in the wrong box, and this message
            // goes to the audit log, which can never forget it.
            return "unknown kind; kinds are \(known.joined(separator: ", "))"
        case .notFound(let id): return "no record \(id)"
        case .storeExists(let path): return "a store already exists at \(path); refusing to overwrite it"
        case .storeMissing(let path): return "no Strongroom store at \(path) (create one with strongroom init, or pass --store)"
        case .storeUnsafe(let why): return why
        case .misconfigured(let why): return why
        case .busy(let why): return why
        case .needsMasterKey(let why): return why
        case .sniffer(let why): return "content sniffing failed: \(why)"
        case .key(let e): return e.description
        case .storage(let e): return e.description
        case .invalidArgument(let why): return why
        case .forbidden(let why): return why
        case .stepUpRequired(let why): return why
        case .signIn(let refusal): return refusal.description
        case .conflict(let why): return why
        case .backup(let why): return "backup: \(why)"
        case .linkUnusable(let why): return why
        case .cannotRedact(let why): return why
        case .noPreview(let why): return why
        case .transferRefused(let why): return "transfer package refused: \(why)"
        }
    }
}

extension VaultError {
    /// The disk holding the store is full (ENOSPC, EDQUOT, SQLite's database full): nothing was
    /// stored, the request was not at fault, and it can succeed once an operator frees space.
    public var isOutOfSpace: Bool {
        switch self {
        case .storage(let error): error.isOutOfSpace
        case .key(.io(_, let code)): StorageError.isOutOfSpace(errno: code)
        default: false
        }
    }
}

/// Runs `body`, turning module errors into `VaultError`.
func vaulting<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch { throw VaultError.wrap(error) }
}

extension VaultError {
    /// Whether a write that failed with `error` may have committed after all (the database's
    /// answer to the commit was lost): then the blobs it wrote must stay (gc removes them if
    /// nothing names them).
    static func mayHaveCommitted(_ error: any Error) -> Bool {
        switch error {
        case let storage as StorageError: storage.mayHaveCommitted
        case VaultError.storage(let storage): storage.mayHaveCommitted
        default: false
        }
    }
}
