import Foundation
import KeyManagement

/// Blobs as objects in an S3-compatible store, one object per record: `<prefix><record id>`
/// (`blobs/` by default). Record ids are random hex, so an object name says nothing about the
/// school, child or concern, and no caller-supplied text becomes part of a key.
///
/// Writes buffer one part (8 MiB) in memory. A blob that fits in one part is sent by a single
/// PUT on `commit()`; a larger one becomes a multipart upload whose parts go out as they fill,
/// so memory stays flat, and which `commit()` completes. Until then the object does not exist;
/// an upload left by a crash is listed by `leftoverUploads()`. Reads are ranged GETs with a
/// read-ahead window. With a retention configured, every committed object carries an Object
/// Lock (mode and retain-until date); see docs/storage-s3.md for what delete does then.
public final class S3BlobStore: BlobStore {
    public let client: S3Client
    /// Bytes per part; S3 wants at least 5 MiB for every part but the last.
    public let partSize: Int
    /// Bytes fetched per ranged GET when reading (at least what the caller asked for).
    public let readAhead: Int
    /// When an object is committed, for its retain-until date.
    let clock: @Sendable () -> Date

    public init(client: S3Client, partSize: Int = 8 << 20, readAhead: Int = 1 << 20, clock: @escaping @Sendable () -> Date = { Date() }) {
        precondition(partSize >= 5 << 20, "S3 parts other than the last are at least 5 MiB")
        self.client = client
        self.partSize = partSize
        self.readAhead = max(readAhead, 4096)
        self.clock = clock
    }

    var location: S3Location { client.location }

    /// The object name of a record's blob.
    public func key(_ recordID: String) -> String { location.prefix + recordID }

    /// The Object Lock headers for an object committed now (none without a retention).
    func lockHeaders() -> [(name: String, value: String)] {
        location.retention?.headers(now: clock()) ?? []
    }

    public func beginWrite(recordID: String) throws -> BlobUpload {
        try RecordID.validate(recordID)
        return S3BlobUpload(client: client, key: key(recordID), partSize: partSize, headers: { [self] in lockHeaders() })
    }

    public func open(recordID: String) throws -> RandomAccessBlob? {
        try RecordID.validate(recordID)
        let k = key(recordID)
        guard let info = try client.headObject(key: k) else { return nil }
        return S3Blob(client: client, key: k, size: info.size, etag: info.etag, readAhead: readAhead)
    }

    /// Removes the blob. On a bucket without versioning the object is gone. On a versioned bucket
    /// (Object Lock turns versioning on) the object first gets a delete marker, so it is
    /// unreachable at once, and then each of its versions is removed; a version the lock still
    /// holds stays until its retention ends, and `removeUnreachableVersions()` (gc) removes it then.
    public func delete(recordID: String) throws {
        try RecordID.validate(recordID)
        let k = key(recordID)
        try client.deleteObject(key: k)
        try client.removeVersions(of: [k])
    }

    /// Many blobs (a shred) in DeleteObjects requests of up to 1000, then their versions as above.
    public func delete(recordIDs: [String]) throws {
        for id in recordIDs { try RecordID.validate(id) }
        let keys = recordIDs.map(key)
        let failures = try client.deleteObjects(keys.map { (key: $0, versionID: nil) })
        if let first = failures.first { throw S3Error.server(status: 200, code: first.code) }
        try client.removeVersions(of: keys)
    }

    /// Versions of deleted blobs (those whose newest version is a delete marker) that their lock
    /// kept, removed once the store allows it, but only of records `mayPurge` names (shredded, or
    /// unknown to the catalog and the log): a delete marker someone else put over a live record's
    /// object must never make gc destroy the one copy left. Returns the keys still locked and the
    /// live records found behind a delete marker.
    public func removeUnreachableVersions(mayPurge: (String) -> Bool) throws -> (stillLocked: Int, markedLive: [String]) {
        let all = try client.listObjectVersions(prefix: location.prefix)
        var purgeable = Set<String>(), live: [String] = []
        for key in Set(all.filter { $0.isLatest && $0.isDeleteMarker }.map(\.key)) {
            let id = String(key.dropFirst(location.prefix.count))
            guard key.hasPrefix(location.prefix), RecordID.isValid(id) else { continue }  // not one of ours
            if mayPurge(id) { purgeable.insert(key) } else { live.append(id) }
        }
        return (try client.purge(all.filter { purgeable.contains($0.key) }), live.sorted())
    }

    // MARK: the store's claim on its prefix

    /// The object that says which vault owns this bucket and prefix: written at `init`, checked
    /// at every open, so two stores never share a prefix (each one's gc would take the other's
    /// blobs for orphans), whatever endpoint either names.
    public var claimKey: String { location.prefix + ".strongroom-store" }

    /// Writes the claim for `vaultID`; refuses a prefix that holds blobs or another claim.
    public func claim(vaultID: String) throws {
        if try client.headObject(key: claimKey) != nil {
            let existing = try client.getObject(key: claimKey)
            throw S3Error.invalidConfiguration("the bucket's prefix \(location.prefix) already belongs to vault \(Self.claimText(existing) ?? "(unreadable)")")
        }
        guard try storedRecordIDs().isEmpty else {
            throw S3Error.invalidConfiguration("the bucket's prefix \(location.prefix) already holds blobs: give each store a bucket or prefix of its own")
        }
        try client.putObject(key: claimKey, body: Data("strongroom-store \(vaultID)\n".utf8))
    }

    /// Refuses a bucket and prefix whose claim names another vault, or none.
    public func checkClaim(vaultID: String) throws {
        guard try client.headObject(key: claimKey) != nil else {
            throw S3Error.invalidConfiguration("the bucket's prefix \(location.prefix) holds no claim of this store: wrong bucket, prefix or endpoint?")
        }
        guard Self.claimText(try client.getObject(key: claimKey)) == vaultID else {
            throw S3Error.invalidConfiguration("the bucket's prefix \(location.prefix) belongs to another vault: wrong bucket, prefix or endpoint?")
        }
    }

    static func claimText(_ bytes: Data) -> String? {
        let text = String(decoding: bytes.prefix(128), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard text.hasPrefix("strongroom-store "), case let id = String(text.dropFirst("strongroom-store ".count)),
              id.count == 32, id.allSatisfy(\.isHexDigit) else { return nil }
        return id
    }

    public func storedRecordIDs() throws -> [String] {
        try storedRecordIDs(writtenBefore: .distantFuture)
    }

    /// How long after it was written an object, or begun an upload, may still belong to an upload
    /// whose row is not committed yet. Nodes sharing a bucket share no lock with gc: gc leaves
    /// anything younger (an upload's object exists for moments before its row commits; an hour
    /// allows for clocks that differ by minutes).
    public static let inFlightGrace: TimeInterval = 3600

    /// The ids of objects last written before `date` (an object the store gives no time for counts
    /// as old).
    public func storedRecordIDs(writtenBefore date: Date) throws -> [String] {
        let prefix = location.prefix
        return try client.listObjects(prefix: prefix).compactMap { o in
            let id = String(o.key.dropFirst(prefix.count))
            guard RecordID.isValid(id), (o.lastModified ?? .distantPast) < date else { return nil }
            return id
        }.sorted()
    }

    /// Multipart uploads of blobs never completed, each named `<record id>/<upload id>` (a shared
    /// file's, under `files/`, is not a blob's: docs/storage-s3.md).
    public func leftoverUploads() throws -> [String] {
        try leftoverUploads(begunBefore: .distantFuture)
    }

    /// Those begun before `date` (an upload the store gives no time for counts as old).
    public func leftoverUploads(begunBefore date: Date) throws -> [String] {
        let prefix = location.prefix
        return try client.listMultipartUploads(prefix: prefix).compactMap { upload in
            let id = String(upload.key.dropFirst(prefix.count))
            guard RecordID.isValid(id), (upload.initiated ?? .distantPast) < date else { return nil }
            return id + "/" + upload.uploadID
        }.sorted()
    }

    public func removeLeftoverUpload(_ name: String) throws {
        guard let slash = name.firstIndex(of: "/") else { return }
        let id = String(name[..<slash])
        let uploadID = String(name[name.index(after: slash)...])
        guard RecordID.isValid(id), !uploadID.isEmpty else { return }
        try client.abortMultipartUpload(key: key(id), uploadID: uploadID)
    }
}

/// An object being written: one part's worth of bytes in memory, earlier parts already sent.
/// A blob, or a shared file (`S3SharedFiles`); `headers` are those its object is created with
/// (Object Lock for a blob, none for a shared file), asked for when the object is begun.
final class S3BlobUpload: BlobUpload {
    let client: S3Client
    let key: String
    let headers: () -> [(name: String, value: String)]
    /// One part's worth of bytes; `filled` of them are in use.
    var buffer: [UInt8]
    var filled = 0
    var uploadID: String?
    var parts: [S3Client.Part] = []
    var finished = false

    init(client: S3Client, key: String, partSize: Int, headers: @escaping () -> [(name: String, value: String)]) {
        self.client = client
        self.key = key
        self.headers = headers
        buffer = [UInt8](repeating: 0, count: partSize)
    }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        precondition(!finished, "write after commit or abort")
        var offset = 0
        while offset < bytes.count {
            // Send a full part only once more bytes follow, so the last part is never empty.
            if filled == buffer.count { try sendPart() }
            let n = min(bytes.count - offset, buffer.count - filled)
            buffer.withUnsafeMutableBytes { dst in
                (dst.baseAddress! + filled).copyMemory(from: bytes.baseAddress! + offset, byteCount: n)
            }
            filled += n
            offset += n
        }
    }

    func sendPart() throws {
        do {
            if uploadID == nil { uploadID = try client.createMultipartUpload(key: key, headers: headers()) }
            let body = buffer.withUnsafeBytes { Data($0.prefix(filled)) }
            parts.append(try client.uploadPart(key: key, uploadID: uploadID!, partNumber: parts.count + 1, body: body))
            filled = 0
        } catch {
            abort()
            throw error
        }
    }

    func commit() throws {
        precondition(!finished, "commit after commit or abort")
        do {
            if let uploadID {
                if filled > 0 { try sendPart() }
                try client.completeMultipartUpload(key: key, uploadID: uploadID, parts: parts)
            } else {
                try client.putObject(key: key, body: buffer.withUnsafeBytes { Data($0.prefix(filled)) }, headers: headers())
            }
            finished = true
            buffer = []
        } catch {
            abort()
            throw error
        }
    }

    func abort() {
        guard !finished else { return }
        finished = true
        buffer = []
        filled = 0
        // Best effort: an upload the store still holds is listed by leftoverUploads() for gc.
        if let uploadID { try? client.abortMultipartUpload(key: key, uploadID: uploadID) }
    }

    deinit { abort() }
}

/// A committed blob read by ranged GETs, keeping the last window fetched. Each GET names the
/// ETag seen when the blob was opened, so a replaced object fails rather than mixing versions.
final class S3Blob: RandomAccessBlob {
    let client: S3Client
    let key: String
    let size: Int
    let etag: String
    let readAhead: Int
    var window = Data()
    var windowStart = 0

    init(client: S3Client, key: String, size: Int, etag: String, readAhead: Int) {
        self.client = client
        self.key = key
        self.size = size
        self.etag = etag
        self.readAhead = readAhead
    }

    func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard offset >= 0 else { throw S3Error.invalidResponse("negative offset") }
        guard offset < size, buffer.count > 0 else { return 0 }
        let windowEnd = windowStart + window.count
        if offset < windowStart || offset >= windowEnd {
            let end = offset + min(size - offset, max(buffer.count, readAhead)) - 1
            let data = try client.getObject(key: key, range: offset...end, ifMatch: etag.isEmpty ? nil : etag)
            guard data.count == end - offset + 1 else { throw S3Error.invalidResponse("ranged GET returned \(data.count) bytes, not \(end - offset + 1)") }
            window = data
            windowStart = offset
        }
        let from = offset - windowStart
        let n = min(buffer.count, window.count - from)
        window.withUnsafeBytes { src in
            buffer.baseAddress!.copyMemory(from: src.baseAddress! + from, byteCount: n)
        }
        return n
    }
}
