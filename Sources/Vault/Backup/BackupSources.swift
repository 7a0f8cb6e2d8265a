import Foundation
import KeyManagement
import Storage

/// What `backup create` needs of a store, whatever it is kept on: a consistent snapshot of the
/// catalog as an embedded database file, and each blob's bytes. The repository it writes is the
/// same for every store (docs/backup.md).
protocol BackupCatalogSource {
    /// Writes one consistent moment of the catalog to `path` (which must not exist) as an
    /// embedded database in rollback-journal mode, fsynced.
    func snapshot(into path: String) throws
}

/// The embedded catalog: `VACUUM INTO` from one read of its WAL.
extension SQLiteCatalog: BackupCatalogSource {}
/// PostgreSQL: every table copied out in one REPEATABLE READ transaction.
extension PostgresCatalog: BackupCatalogSource {}

/// Where a backup reads the blobs it copies.
enum BackupBlobSource: Sendable {
    /// Files in the store folder, copied as files.
    case files(FileBlobStore)
    /// Any other blob store (the object store), streamed through its reads.
    case store(any BlobStore)

    init(_ blobs: any BlobStore) {
        if let files = blobs as? FileBlobStore { self = .files(files) } else { self = .store(blobs) }
    }

    /// Copies a record's blob to `target` if its size and BLAKE2b are the expected ones
    /// (`BackupFiles.copy`'s rules for a new or an existing name).
    func copy(record: String, to target: String, expectedSize: Int64, expectedBlake2b: String, buffer: UnsafeMutableRawBufferPointer) throws -> BackupFiles.Copied {
        switch self {
        case .files(let files):
            return try BackupFiles.copy(
                from: files.path(record), to: target, expectedSize: expectedSize, expectedBlake2b: expectedBlake2b, buffer: buffer)
        case .store(let store):
            guard let blob = try vaulting({ try store.open(recordID: record) }) else { return .sourceMissing }
            return try BackupFiles.copy(
                from: blob, to: target, expectedSize: expectedSize, expectedBlake2b: expectedBlake2b,
                buffer: buffer)
        }
    }
}

extension BackupFiles {
    /// `copy(from:to:...)` with a blob read through its store rather than a file: written to a
    /// new name directly, or over an existing file only through a temporary file renamed once
    /// the size and hash matched. No fsync: see `FilesystemSync`.
    static func copy(
        from blob: RandomAccessBlob, to target: String, expectedSize: Int64, expectedBlake2b: String,
        mode: mode_t = 0o600, buffer: UnsafeMutableRawBufferPointer
    ) throws -> Copied {
        var written = target
        var output = open(target, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode)
        if output < 0 && errno == EEXIST {
            written = target + ".tmp-" + Hex.encode(randomPublicBytes(6))
            output = open(written, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode)
        }
        guard output >= 0 else { throw VaultError.storage(.io(operation: "create", path: written, errno: errno)) }
        var keep = false
        defer {
            close(output)
            if !keep { unlink(written) }
        }
        let hasher = Blake2b()
        var size: Int64 = 0
        while true {
            let n = try vaulting { try blob.read(at: Int(size), into: buffer) }
            if n == 0 { break }
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
            hasher.update(chunk)
            try vaulting { try SystemFileOps().write(output, chunk, path: written) }
            size += Int64(n)
            // Never more than the record says: a longer object is a mismatch, not a long read.
            if size > expectedSize { return .mismatch }
        }
        guard size == expectedSize, Hex.encode(hasher.finalize()) == expectedBlake2b else { return .mismatch }
        DurableFile.startWriteback(output)
        if written != target {
            guard rename(written, target) == 0 else { throw VaultError.storage(.io(operation: "rename", path: target, errno: errno)) }
        }
        keep = true
        return .copied(size: size, created: written == target)
    }
}
