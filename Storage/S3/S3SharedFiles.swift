import Foundation

/// Shared files as objects beside the store's blobs: `<prefix>files/bundles/NAME` and
/// `<prefix>files/transfers/NAME`, so every node of a deployment reads what any node wrote.
/// They are age ciphertext already and go up as they are: written as the blob store writes (one
/// 8 MiB part in memory; a single PUT, or a multipart upload completed at the end, so the object
/// appears whole or not at all) and read by ranged GETs pinned to the ETag seen at `open`.
///
/// They are working copies, put without an Object Lock retention; a bucket-wide default
/// retention would still apply (docs/storage-s3.md). Delete removes the object and, on a
/// versioned bucket, each of its versions the store lets go. An object deleted while a reader is
/// part-way through it cannot be read further: the reader fails, where a file would have stayed.
public final class S3SharedFiles: SharedFiles {
    public let client: S3Client
    /// Bytes per part; S3 wants at least 5 MiB for every part but the last.
    public let partSize: Int
    /// Bytes fetched per ranged GET when reading.
    public let readAhead: Int

    public init(client: S3Client, partSize: Int = 8 << 20, readAhead: Int = 4 << 20) {
        precondition(partSize >= 5 << 20, "S3 parts other than the last are at least 5 MiB")
        self.client = client
        self.partSize = partSize
        self.readAhead = max(readAhead, 4096)
    }

    /// The key prefix of an area: `<prefix>files/<area>/`.
    public func prefix(_ area: SharedArea) -> String { client.location.prefix + "files/" + area.rawValue + "/" }

    func key(_ area: SharedArea, _ name: String) throws -> String {
        try SharedFileName.validate(name)
        return prefix(area) + name
    }

    public func write(_ area: SharedArea, name: String, _ produce: (_ sink: (UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        let upload = S3BlobUpload(client: client, key: try key(area, name), partSize: partSize, headers: { [] })
        do {
            try produce { try upload.write($0) }
            try upload.commit()
        } catch {
            upload.abort()
            throw error
        }
    }

    public func open(_ area: SharedArea, name: String) throws -> (any SharedFileReader)? {
        let key = try key(area, name)
        guard let info = try client.headObject(key: key) else { return nil }
        return S3SharedFileReader(blob: S3Blob(client: client, key: key, size: info.size, etag: info.etag, readAhead: readAhead))
    }

    public func delete(_ area: SharedArea, name: String) throws {
        let key = try key(area, name)
        try client.deleteObject(key: key)
        try client.removeVersions(of: [key])
    }

    public func list(_ area: SharedArea) throws -> [SharedFileEntry] {
        let prefix = prefix(area)
        return try client.listObjects(prefix: prefix).compactMap { object in
            let name = String(object.key.dropFirst(prefix.count))
            guard object.key.hasPrefix(prefix), SharedFileName.isValid(name) else { return nil }
            // A store that gives no time makes the file look new: kept by sweeps, never taken early.
            return SharedFileEntry(name: name, modified: object.lastModified ?? Date())
        }.sorted { $0.name < $1.name }
    }

    public func location(_ area: SharedArea, name: String) -> String {
        "s3://\(client.location.bucket)/\(prefix(area))\(name)"
    }
}

/// An object read from start to end through the blob store's ranged reads.
final class S3SharedFileReader: SharedFileReader {
    private(set) var blob: S3Blob?
    private var offset = 0
    let size: Int64

    init(blob: S3Blob) {
        self.blob = blob
        size = Int64(blob.size)
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard let blob else { throw S3Error.invalidResponse("read after close") }
        let n = try blob.read(at: offset, into: buffer)
        offset += n
        return n
    }

    func close() { blob = nil }
}
