import Foundation
import KeyManagement
import Storage

/// What one backup snapshot holds, signed by the backup operator's key (docs/backup.md):
/// `manifest.json` (this struct, pretty-printed with sorted keys), its minisign signature
/// `manifest.json.minisig`, and the list of every file with its size and BLAKE2b-256,
/// `files.txt`, whose size and hash the manifest carries.
public struct BackupManifest: Codable, Sendable, Equatable {
    public static let formatName = "strongroom-backup"
    public static let currentVersion = 1

    public struct AuditHead: Codable, Sendable, Equatable {
        public var treeSize: Int
        public var rootHash: String
    }

    public struct FileListReference: Codable, Sendable, Equatable {
        public var path: String
        public var size: Int64
        public var blake2b: String
        public var count: Int
    }

    /// A record of the snapshot whose blob is not in the backup, and why.
    public struct Omitted: Codable, Sendable, Equatable {
        public var record: String
        public var reason: String
    }

    public var format: String
    public var version: Int
    public var vaultID: String
    /// The vault's audit public key (minisign base64), which verifies its ledger and checkpoints.
    public var vaultPublicKey: String
    public var snapshot: String
    public var createdAt: String
    public var createdAtMillis: Int64
    public var createdBy: String
    public var audit: AuditHead
    public var records: Int
    public var database: String
    public var fileList: FileListReference
    public var omitted: [Omitted]
    /// The backup operator's public key (minisign base64) that signed this manifest.
    public var signingKey: String

    func fileBytes() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(self)) + [0x0a]
    }

    /// Parses the exact bytes written by `fileBytes`; anything else (another format, version,
    /// or a re-encoded file) is refused.
    static func parse(_ bytes: [UInt8]) throws -> BackupManifest {
        guard let manifest = try? JSONDecoder().decode(BackupManifest.self, from: Data(bytes)) else {
            throw VaultError.backup("manifest.json is not a Strongroom backup manifest")
        }
        guard manifest.format == formatName else { throw VaultError.backup("manifest.json is not a Strongroom backup manifest") }
        guard manifest.version == currentVersion else {
            throw VaultError.backup("manifest.json is version \(manifest.version); this Strongroom reads version \(currentVersion)")
        }
        guard try manifest.fileBytes() == bytes else { throw VaultError.backup("manifest.json is not in its signed form") }
        return manifest
    }

    var auditRoot: [UInt8]? { Hex.decode(audit.rootHash).flatMap { $0.count == 32 ? $0 : nil } }
}

/// One line of `files.txt`: `<blake2b-256 hex> <size> <path>`, paths relative to the backup
/// folder, sorted, one file per line. Paths are checked on reading: only a snapshot's database
/// or a blob can be named, so a list can never point outside the folder.
public struct BackupFile: Sendable, Equatable {
    public var path: String
    public var size: Int64
    public var blake2b: String

    static func encode(_ files: [BackupFile]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(files.count * 128)
        let sorted = files.isSorted { $0.path < $1.path } ? files : files.sorted { $0.path < $1.path }
        for file in sorted {
            out.append(contentsOf: file.blake2b.utf8)
            out.append(0x20)
            out.append(contentsOf: String(file.size).utf8)
            out.append(0x20)
            out.append(contentsOf: file.path.utf8)
            out.append(0x0a)
        }
        return out
    }

    static func decode(_ bytes: [UInt8], snapshot: String) throws -> [BackupFile] {
        guard bytes.isEmpty || bytes.last == 0x0a else { throw VaultError.backup("files.txt does not end with a newline") }
        // One pass over the bytes (a hundred thousand lines in well under a second).
        func isHex(_ b: UInt8) -> Bool { (48...57).contains(b) || (97...102).contains(b) }
        var files: [BackupFile] = []
        var previous: ArraySlice<UInt8> = []
        let database = Array("snapshots/\(snapshot)/\(SQLiteCatalog.fileName)".utf8)
        var line = 0
        var start = 0
        while start < bytes.count {
            line += 1
            let end = bytes[start...].firstIndex(of: 0x0a)!
            let fields = bytes[start..<end].split(separator: 0x20, maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3, fields[0].count == 64, fields[0].allSatisfy(isHex),
                  (1...19).contains(fields[1].count), fields[1].allSatisfy({ (48...57).contains($0) }),
                  fields[1].first != 48 || fields[1].count == 1, let size = Int64(String(decoding: fields[1], as: UTF8.self)),
                  fields[2].elementsEqual(database) || isBlobPath(fields[2]), previous.lexicographicallyPrecedes(fields[2]) else {
                throw VaultError.backup("files.txt line \(line) is malformed")
            }
            previous = fields[2]
            files.append(BackupFile(
                path: String(decoding: fields[2], as: UTF8.self), size: size, blake2b: String(decoding: fields[0], as: UTF8.self)))
            start = end + 1
        }
        return files
    }

    /// `blobs/xx/<32 lower-case hex>.blob` with `xx` the id's first two characters, checked on bytes.
    static func isBlobPath(_ path: ArraySlice<UInt8>) -> Bool {
        let p = Array(path)
        guard p.count == 46, p[0..<6].elementsEqual("blobs/".utf8), p[8] == UInt8(ascii: "/"),
              p[41...].elementsEqual(".blob".utf8), p[6] == p[9], p[7] == p[10] else { return false }
        return p[9..<41].allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    static func blobPath(_ record: String) -> String { "blobs/" + record.prefix(2) + "/" + record + ".blob" }
}

/// A record id (32 lower-case hex digits) as two integers: what an incremental backup hashes
/// and sorts a hundred thousand of, far cheaper than strings.
struct BlobKey: Hashable, Comparable, Sendable {
    let high: UInt64
    let low: UInt64

    init?<C: Collection>(hex: C) where C.Element == UInt8 {
        guard hex.count == 32 else { return nil }
        var high: UInt64 = 0, low: UInt64 = 0
        for (i, c) in hex.enumerated() {
            let v: UInt8
            switch c {
            case 48...57: v = c - 48
            case 97...102: v = c - 87
            default: return nil
            }
            if i < 16 { high = high << 4 | UInt64(v) } else { low = low << 4 | UInt64(v) }
        }
        self.high = high
        self.low = low
    }

    init?(record id: String) { self.init(hex: id.utf8) }

    static func < (a: BlobKey, b: BlobKey) -> Bool { (a.high, a.low) < (b.high, b.low) }
}

extension BackupFile {
    /// The blobs a (signed, hash-checked) files.txt lists, with their sizes, read without making
    /// a string per line. Throws on a line that is not what `encode` writes.
    static func blobSizes(_ bytes: [UInt8]) throws -> [BlobKey: Int64] {
        var sizes: [BlobKey: Int64] = [:]
        sizes.reserveCapacity(bytes.count / 120)
        var start = 0
        while start < bytes.count {
            guard let end = bytes[start...].firstIndex(of: 0x0a), end - start > 66, bytes[start + 64] == 0x20 else {
                throw VaultError.backup("files.txt is malformed")
            }
            var i = start + 65
            var size: Int64 = 0
            while i < end, bytes[i] != 0x20 {
                guard (48...57).contains(bytes[i]), size < Int64.max / 10 else { throw VaultError.backup("files.txt is malformed") }
                size = size * 10 + Int64(bytes[i] - 48)
                i += 1
            }
            let path = bytes[(i + 1)..<end]
            if isBlobPath(path), let key = BlobKey(hex: path.dropFirst(9).prefix(32)) { sizes[key] = size }
            start = end + 1
        }
        return sizes
    }
}

extension Array {
    func isSorted(by areInIncreasingOrder: (Element, Element) -> Bool) -> Bool {
        var i = 1
        while i < count {
            if areInIncreasingOrder(self[i], self[i - 1]) { return false }
            i += 1
        }
        return true
    }
}
