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
    /// `copy(from:to:...)` with a blob read through its store rather than a file. No fsync: see
    /// `FilesystemSync`.
    static func copy(
        from blob: RandomAccessBlob, to target: String, expectedSize: Int64, expectedBlake2b: String,
        mode: mode_t = 0o600, buffer: UnsafeMutableRawBufferPointer
    ) throws -> Copied {
        try copy(to: target, expectedSize: expectedSize, expectedBlake2b: expectedBlake2b, mode: mode, buffer: buffer) { buffer, offset in
            try vaulting { try blob.read(at: Int(offset), into: buffer) }
        }
    }
}
