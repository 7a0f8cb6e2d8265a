/// Where blobs live. The embedded store keeps them as files (`FileBlobStore`); an S3-compatible
/// object store is a second conforming type (a multipart upload completed on `commit`, ranged
/// GETs for reads), with no change to the vault.
public protocol BlobStore: Sendable {
    /// Starts a new blob; it becomes visible under `recordID` only after `commit()`.
    func beginWrite(recordID: String) throws -> BlobUpload
    /// The committed blob of a record, or nil if there is none.
    func open(recordID: String) throws -> RandomAccessBlob?
    func delete(recordID: String) throws
    /// Deletes many blobs (a shred), durably; a blob already gone is not an error.
    func delete(recordIDs: [String]) throws
    /// Record ids of every committed blob (for verify and gc).
    func storedRecordIDs() throws -> [String]
    /// Names of uploads that never committed (left by a crash), for verify and gc.
    func leftoverUploads() throws -> [String]
    func removeLeftoverUpload(_ name: String) throws
}

extension BlobStore {
    public func delete(recordIDs: [String]) throws {
        for id in recordIDs { try delete(recordID: id) }
    }
}

/// A blob being written. `commit()` makes it durable and visible atomically; `abort()` removes
/// every trace of it.
public protocol BlobUpload: BlobSink {
    func commit() throws
    func abort()
}
