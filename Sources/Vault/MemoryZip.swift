import Foundation
import ZIPFoundation

/// A ZIP built in memory, never in a temp file, with every entry under one top folder: what a
/// bundle for an agency and a transfer package for a school are before they are encrypted.
/// Text is deflated by the caller's choice; formats already compressed are stored.
final class MemoryZip {
    private let archive: Archive
    /// The top folder, `NAME/`.
    let folder: String
    private let date: Date
    /// What the ZIP is, for an error ("bundle 1a2b3c4d").
    private let what: String

    init(folder: String, date: Date, what: String) throws {
        self.folder = folder.hasSuffix("/") ? folder : folder + "/"
        self.date = date
        self.what = what
        do { archive = try Archive(accessMode: .create) } catch { throw Self.failed(what) }
    }

    func add(_ path: String, _ bytes: [UInt8], deflate: Bool) throws {
        do {
            try archive.addEntry(with: folder + path, type: .file, uncompressedSize: Int64(bytes.count), modificationDate: date,
                                 permissions: 0o644, compressionMethod: deflate ? .deflate : .none) { position, size in
                bytes.withUnsafeBytes { Data($0[Int(position)..<Int(position) + size]) }
            }
        } catch {
            throw Self.failed(what)
        }
    }

    /// The ZIP's bytes (the caller wipes them).
    func finish() throws -> Data {
        guard let data = archive.data else { throw Self.failed(what) }
        return data
    }

    static func failed(_ what: String) -> VaultError {
        VaultError.storage(.io(operation: "zip", path: what, errno: EIO))
    }
}
