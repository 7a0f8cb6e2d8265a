// Storage: what a Strongroom vault keeps on disk, and how each part is checked.
//
// Guarantees: blobs are secretstream ciphertext in a versioned format (docs/formats.md) whose
// every chunk is bound to its school and record and whose end is marked, so a truncated,
// extended, reordered, duplicated, altered or swapped blob is refused with the kind of damage
// named; a blob is durable (fsync, rename, directory fsync) before its metadata row exists, and
// the row, its wrapped data key and its audit event commit in one SQLite transaction; the audit
// log is hash-chained and the leaves of an RFC 9162 Merkle tree whose signed checkpoints prove
// that it only grew (docs/audit.md).
//
// Does not guarantee: confidentiality by itself (keys come from KeyManagement); that an
// attacker with write access to the database cannot delete rows: it guarantees that such a
// deletion is detected by `audit verify` and `verify`.
import Foundation
import KeyManagement

/// One error type for Storage, with cases a caller can act on.
public enum StorageError: Error, Sendable, Equatable {
    /// A blob exists but fails its checks; `damage` says how.
    case blobDamaged(record: String, damage: BlobDamage)
    /// The metadata names a record whose blob is not there.
    case blobMissing(record: String)
    /// No such record (or not visible to the caller).
    case recordNotFound(String)
    /// An identifier is malformed; the value itself is not repeated (it could be a name).
    case invalidIdentifier(field: String, rule: String)
    /// A file operation failed (ENOSPC, EIO, EACCES...).
    case io(operation: String, path: String, errno: Int32)
    /// The metadata database failed or refused the operation.
    case database(String)
    /// The file system holding the store is full (or its quota used up): `what` could not grow
    /// (never a path). Nothing of the operation was kept; it succeeds once space is freed.
    /// A file operation failing this way stays `.io` with its errno; `isOutOfSpace` covers both.
    case outOfSpace(String)
    /// The audit event could not be written durably, so the operation was not done.
    case auditUnavailable(String)
    /// The stored audit log is not an append-only extension of the newest signed checkpoint (or
    /// of what this process proved before): a keyed process refuses to sign over it, and so to
    /// do anything that needs an audit event.
    case auditRewritten(String)
    /// The store's on-disk format is newer or older than this build understands.
    case unsupportedFormat(String)
    /// A user of that name already exists (and is not revoked).
    case userExists(String)
    /// No active user of that name.
    case userNotFound(String)
    /// These records are under legal hold, so they cannot be shredded.
    case recordsHeld([String])
    /// A data key was about to be wrapped under a KEK that has been destroyed; wrap it again.
    case kekDestroyed(String)
    /// A hold or shred request of that id does not exist.
    case lifecycleNotFound(what: String, id: String)
    /// Records changed their KEK between being read and being moved (a concurrent rotation):
    /// read them again and retry.
    case recordsMoved
    /// The hold or shred request is not in a state that allows this (already released, already executed...).
    case lifecycleConflict(String)
    /// The object store holding the blobs refused or did not answer (`S3Error`'s words, which
    /// never hold a credential).
    case objectStore(String)
    /// The metadata database (PostgreSQL) did not answer: down, restarting or unreachable.
    /// Nothing was done; the same request succeeds once it is back.
    case databaseUnavailable(String)

    /// Whether a write that failed this way may still have committed: the database stopped
    /// answering while the commit was under way (only a shared database, whose answer can be
    /// lost after it committed). The blob of such a record must be kept: gc removes it later if
    /// no row and no put event name it.
    public var mayHaveCommitted: Bool {
        if case .databaseUnavailable = self { return true }
        return false
    }

    init(_ error: FileOpsError) {
        self = .io(operation: error.operation, path: error.path, errno: error.errno)
    }
}

extension StorageError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .blobDamaged(let record, let damage): return "record \(record): blob is damaged: \(damage)"
        case .blobMissing(let record): return "record \(record): blob is missing"
        case .recordNotFound(let id): return "no record \(id)"
        case .invalidIdentifier(let field, let rule): return "\(field) is not a valid identifier: \(rule)"
        case .io(let op, let path, let code): return "\(op) \(path) failed: \(String(cString: strerror(code)))"
        case .database(let why): return "metadata database: \(why)"
        case .outOfSpace(let what): return "the disk holding the store is full: \(what) could not grow, so nothing was stored; free space and try again"
        case .auditUnavailable(let why): return "the audit log cannot be written, so nothing was done: \(why)"
        case .auditRewritten(let why): return "the audit log was changed behind the vault's back, so nothing was done: \(why)"
        case .unsupportedFormat(let why): return "unsupported store format: \(why)"
        case .userExists(let name): return "a user named \(LogText.escape(name)) already exists; revoke it first to issue a new token"
        case .userNotFound(let name): return "no active user named \(LogText.escape(name))"
        case .recordsHeld(let ids): return "under legal hold, so not shredded: \(ids.joined(separator: ", "))"
        case .kekDestroyed(let id): return "key-encryption key \(id) has been destroyed"
        case .lifecycleNotFound(let what, let id): return "no \(what) \(LogText.escape(id))"
        case .lifecycleConflict(let why): return why
        case .objectStore(let why): return "the object store holding the blobs: \(why)"
        case .databaseUnavailable(let why): return "the metadata database is unavailable, so nothing was done: \(why)"
        case .recordsMoved: return "records moved to another key meanwhile; try again"
        }
    }
}

/// How a blob is damaged. Each case is something `verify` and `get` report by name.
public enum BlobDamage: Sendable, Equatable, CustomStringConvertible {
    case notABlob
    case unsupportedVersion(Int)
    /// The header binds the blob to another school or record: blobs were swapped.
    case belongsToAnotherRecord(school: String, record: String)
    /// The blob ends before its final chunk (or inside its header).
    case truncated(afterChunk: Int)
    /// Bytes follow the final chunk.
    case extended(trailingBytes: Int)
    /// Chunk `position` is a copy of chunk `copyOf`.
    case duplicatedChunk(position: Int, copyOf: Int)
    /// The chunk at `position` belongs at `belongsAt`.
    case reorderedChunk(position: Int, belongsAt: Int)
    /// Chunk `position` fails authentication: altered bytes, or encrypted under another key.
    case alteredChunk(position: Int)
    /// The ciphertext does not match the BLAKE2b recorded for it (checked without keys).
    case ciphertextHashMismatch
    /// The decrypted bytes do not match the recorded plaintext SHA-256 or size.
    case plaintextMismatch

    public var description: String {
        switch self {
        case .notABlob: return "not a Strongroom blob (bad magic)"
        case .unsupportedVersion(let v): return "blob format version \(v) is not supported"
        case .belongsToAnotherRecord(let school, let record): return "swapped: the blob belongs to record \(record) of school \(school)"
        case .truncated(let n):
            return n < 0 ? "truncated: it ends inside its header or before its first chunk" : "truncated: it ends after chunk \(n) without its final chunk"
        case .extended(let n): return "extended: \(n) bytes follow the final chunk"
        case .duplicatedChunk(let p, let c): return "duplicated: chunk \(p) is a copy of chunk \(c)"
        case .reorderedChunk(let p, let b): return "reordered: the chunk at position \(p) belongs at position \(b)"
        case .alteredChunk(let p): return "altered: chunk \(p) fails authentication"
        case .ciphertextHashMismatch: return "altered: ciphertext does not match its recorded BLAKE2b"
        case .plaintextMismatch: return "plaintext does not match its recorded SHA-256 and size"
        }
    }

    /// A short stable name for JSON output and metrics.
    public var kind: String {
        switch self {
        case .notABlob: "not-a-blob"
        case .unsupportedVersion: "unsupported-version"
        case .belongsToAnotherRecord: "swapped"
        case .truncated: "truncated"
        case .extended: "extended"
        case .duplicatedChunk: "duplicated"
        case .reorderedChunk: "reordered"
        case .alteredChunk: "altered"
        case .ciphertextHashMismatch: "ciphertext-hash-mismatch"
        case .plaintextMismatch: "plaintext-mismatch"
        }
    }
}
