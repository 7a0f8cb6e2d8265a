import Foundation

/// Files that every node serving a store must reach: released bundles and sent transfer
/// packages. They are ciphertext already (age, to their recipients) and working copies, kept
/// until their link ends and then deleted, so the store holds them apart from the blobs: in the
/// store folder (`FolderSharedFiles`) or in the object store (`S3SharedFiles`), so that a link
/// issued through one node can be fetched through another.
///
///     try files.write(.bundles, name: "\(id)-\(claim).age") { sink in try sink(bytes) }
///     let reader = try files.open(.bundles, name: name)  // nil when there is no such file
///
/// Names are chosen by the vault (ids and claims, random hex), never by a caller; a name that
/// could leave its area is refused.
public protocol SharedFiles: Sendable {
    /// Writes a file from the bytes `produce` hands to its sink, streaming, durably and
    /// atomically: until it returns, readers see the old file or none, never part of the new one.
    /// If `produce` throws, nothing is left behind.
    func write(_ area: SharedArea, name: String, _ produce: (_ sink: (UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws
    /// The file, opened for reading in order; nil when there is no such file. What is opened
    /// stays readable for the reader's life where the store allows it (the folder does; see
    /// `S3SharedFiles` for the object store).
    func open(_ area: SharedArea, name: String) throws -> (any SharedFileReader)?
    /// Deletes a file; one already gone is not an error.
    func delete(_ area: SharedArea, name: String) throws
    /// Every file of the area with when it was last written, for sweeps by age. Names that are
    /// not valid shared-file names (someone else's files in the folder) are left out.
    func list(_ area: SharedArea) throws -> [SharedFileEntry]
    /// Where a file is, for people and local tools: a path in the store folder, or the object's
    /// `s3://bucket/key`.
    func location(_ area: SharedArea, name: String) -> String
}

extension SharedFiles {
    /// Writes a file from a local one (a temporary file the caller made), streaming.
    public func write(_ area: SharedArea, name: String, from path: String) throws {
        guard let input = FileHandle(forReadingAtPath: path) else { throw StorageError.io(operation: "open", path: path, errno: ENOENT) }
        defer { try? input.close() }
        try write(area, name: name) { sink in
            while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty {
                try chunk.withUnsafeBytes { try sink($0) }
            }
        }
    }
}

/// The two kinds of shared file, each in its own folder or key prefix.
public enum SharedArea: String, Sendable, CaseIterable {
    /// Released bundles, `ID-CLAIM.age`, until their links end (docs/bundles.md).
    case bundles
    /// Sent transfer packages, `ID-CLAIM.age`, until received or expired (docs/transfers.md).
    case transfers
}

/// One file of an area, as listed.
public struct SharedFileEntry: Sendable, Equatable {
    public var name: String
    /// When the file was last written (its mtime, or the object's Last-Modified).
    public var modified: Date

    public init(name: String, modified: Date) {
        self.name = name
        self.modified = modified
    }
}

/// A shared file opened for reading from start to end.
public protocol SharedFileReader: AnyObject {
    /// The file's size in bytes when it was opened.
    var size: Int64 { get }
    /// Reads the next bytes into `buffer` and returns how many; 0 only at the end.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int
    /// Lets go of the file (also done when the reader is released).
    func close()
}

extension SharedFileReader {
    /// Up to `count` next bytes; nil at the end.
    public func read(upToCount count: Int) throws -> Data? {
        var data = Data(count: count)
        let n = try data.withUnsafeMutableBytes { try read(into: $0) }
        guard n > 0 else { return nil }
        data.count = n
        return data
    }

    /// The rest of the file (small files and tests only); nil when nothing is left.
    public func readToEnd() throws -> Data? {
        var out = Data()
        while let chunk = try read(upToCount: 1 << 20) { out += chunk }
        return out.isEmpty ? nil : out
    }
}

/// The rule for shared-file names: 1 to 128 of A-Z a-z 0-9 . - _, not starting with a dot.
/// Nothing that could name a parent folder, a hidden file or another key prefix.
public enum SharedFileName {
    public static func isValid(_ name: String) -> Bool {
        (1...128).contains(name.utf8.count) && name.utf8.first != UInt8(ascii: ".")
            && name.utf8.allSatisfy { c in
                (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x2e || c == 0x2d || c == 0x5f
            }
    }

    public static func validate(_ name: String) throws {
        guard isValid(name) else {
            throw StorageError.invalidIdentifier(field: "shared file name", rule: "1-128 of A-Z a-z 0-9 . - _, not starting with a dot")
        }
    }
}
