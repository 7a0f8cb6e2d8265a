import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The deletion ledger: `keys/deletion-ledger.jsonl`, one JSON object per line, append-only,
/// hash-chained and signed entry by entry with the vault's Ed25519 key. It lives with the key
/// store, not with the data, so that a restore of an older data backup can replay every shred
/// made since (docs/keys.md, "Deletion ledger").
///
///     {"hash":"…","kind":"shred","record":"…","request":"…","school":"…","seq":1,
///      "sha256":"…","signature":"…","prev":"…","timeMillis":…}
///
/// `hash` = BLAKE2b-256 of the Binding "strongroom/v1/ledger-entry" over vault id, seq, time,
/// kind, record, school, sha256, request and prev; the first entry's `prev` is BLAKE2b-256 of the
/// Binding "strongroom/v1/ledger-genesis" over the vault id. The last entry of every append
/// carries `signature`, Ed25519 over its `hash`, which commits to every entry before it; the
/// others have an empty signature. A ledger whose last entry is unsigned is refused.
public struct DeletionLedger: Sendable {
    public static let fileName = "deletion-ledger.jsonl"
    public let path: String
    public let vaultID: String

    public init(directory: String, vaultID: String) {
        self.path = directory + "/" + Self.fileName
        self.vaultID = vaultID
    }

    /// What one shred adds to the ledger.
    public struct Item: Sendable, Equatable {
        public var record: String
        public var school: String
        public var sha256: String
        public var request: String
        public init(record: String, school: String, sha256: String, request: String) {
            self.record = record
            self.school = school
            self.sha256 = sha256
            self.request = request
        }
    }

    /// Appends entries for the items not already in the ledger (so a shred finished again after
    /// a crash adds nothing twice), durably, under an exclusive lock. Returns the new entries.
    @discardableResult
    public func append(_ items: [Item], signer: AuditSigner, now: Date) throws -> [LedgerEntry] {
        let fd = Glibc.open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw KeyManagementError.io(path: path, errno: errno) }
        defer { _ = Glibc.close(fd) }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else { throw KeyManagementError.io(path: path, errno: errno) }
        }
        let existing = try Self.parse(try readAll(), vaultID: vaultID, publicKey: nil)
        let present = Set(existing.map(\.record))
        var prev = existing.last.map { Array(Hex.decode($0.hash) ?? []) } ?? Self.genesis(vaultID: vaultID)
        var seq = existing.last?.seq ?? 0
        let millis = Int64((now.timeIntervalSince1970 * 1000).rounded(.down))
        var added: [LedgerEntry] = []
        var text: [UInt8] = []
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let fresh = items.filter { !present.contains($0.record) }
        for (n, item) in fresh.enumerated() {
            seq += 1
            var entry = LedgerEntry(
                seq: seq, timeMillis: millis, kind: "shred", record: item.record, school: item.school, sha256: item.sha256,
                request: item.request, prev: Hex.encode(prev), hash: "", signature: "")
            let hash = entry.computedHash(vaultID: vaultID)
            entry.hash = Hex.encode(hash)
            if n == fresh.count - 1 { entry.signature = Data(try signer.sign(hash)).base64EncodedString() }
            text += try Self.line(entry, encoder)
            prev = hash
            added.append(entry)
        }
        guard !text.isEmpty else { return [] }
        do {
            try text.withUnsafeBytes { try SystemFileOps().write(fd, $0, path: path) }
            try SystemFileOps().fsync(fd, path: path)
            try SystemFileOps().fsyncDirectory(DurableFile.directory(of: path))
        } catch let error as FileOpsError {
            throw KeyManagementError.io(path: path, errno: error.errno)
        }
        return added
    }

    /// Every entry, each checked against the chain and, with `publicKey`, its signature.
    public func entries(publicKey: VaultPublicKey?) throws -> [LedgerEntry] {
        try Self.parse(try readAll(), vaultID: vaultID, publicKey: publicKey)
    }

    /// Checks a ledger's bytes: every line parses, follows the one before and, with a public
    /// key, carries the vault's signature. Throws `.malformedLedger` naming the first bad line.
    public static func parse(_ bytes: [UInt8], vaultID: String, publicKey: VaultPublicKey?) throws -> [LedgerEntry] {
        var out: [LedgerEntry] = []
        var prev = genesis(vaultID: vaultID)
        let decoder = JSONDecoder()
        var lineNumber = 0
        for line in bytes.split(separator: 0x0a, omittingEmptySubsequences: false) {
            lineNumber += 1
            if line.isEmpty { continue }
            guard let entry = try? decoder.decode(LedgerEntry.self, from: Data(line)) else {
                throw KeyManagementError.malformedLedger(line: lineNumber, problem: "not a ledger entry (truncated or edited)")
            }
            guard entry.seq == (out.last?.seq ?? 0) + 1 else {
                throw KeyManagementError.malformedLedger(line: lineNumber, problem: "sequence \(entry.seq) is out of order")
            }
            guard entry.prev == Hex.encode(prev) else {
                throw KeyManagementError.malformedLedger(line: lineNumber, problem: "does not follow the entry before it")
            }
            let hash = entry.computedHash(vaultID: vaultID)
            guard entry.hash == Hex.encode(hash) else {
                throw KeyManagementError.malformedLedger(line: lineNumber, problem: "its hash does not match its content")
            }
            if let publicKey, !entry.signature.isEmpty {
                guard let signature = Data(base64Encoded: entry.signature),
                      publicKey.verify(signature: Array(signature), message: hash) else {
                    throw KeyManagementError.malformedLedger(line: lineNumber, problem: "its signature is not the vault's")
                }
            }
            prev = hash
            out.append(entry)
        }
        if let last = out.last, last.signature.isEmpty {
            // Every append signs its last entry: an unsigned end means entries were cut off or added.
            throw KeyManagementError.malformedLedger(line: lineNumber, problem: "the last entry is not signed (entries were removed or added)")
        }
        if let last = bytes.last, last != 0x0a {
            throw KeyManagementError.malformedLedger(line: lineNumber, problem: "the last line is incomplete")
        }
        return out
    }

    static func genesis(vaultID: String) -> [UInt8] {
        var b = Binding(label: "strongroom/v1/ledger-genesis")
        b.append(vaultID)
        return Blake2b.hash(b.bytes)
    }

    static func line(_ entry: LedgerEntry, _ encoder: JSONEncoder) throws -> [UInt8] {
        Array(try encoder.encode(entry)) + [0x0a]
    }

    private func readAll() throws -> [UInt8] {
        do { return try DurableFile.read(path, limit: 1 << 30) ?? [] } catch let error as FileOpsError {
            throw KeyManagementError.io(path: path, errno: error.errno)
        }
    }
}

/// One line of the deletion ledger.
public struct LedgerEntry: Codable, Sendable, Equatable {
    public var seq: Int64
    public var timeMillis: Int64
    public var kind: String
    public var record: String
    public var school: String
    public var sha256: String
    public var request: String
    public var prev: String
    public var hash: String
    public var signature: String

    func computedHash(vaultID: String) -> [UInt8] {
        var b = Binding(label: "strongroom/v1/ledger-entry")
        b.append(vaultID)
        b.append(UInt64(seq))
        b.append(UInt64(bitPattern: timeMillis))
        b.append(kind)
        b.append(record)
        b.append(school)
        b.append(sha256)
        b.append(request)
        b.append(prev)
        return Blake2b.hash(b.bytes)
    }
}

/// The record ids a deletion ledger names, re-read only when the file changes: the vault asks
/// it before it unwraps any data key, so a record shredded in this vault can never be decrypted
/// again, even from an older copy of the database put back beside the current key store.
public final class ShreddedRecords: @unchecked Sendable {
    private let ledger: DeletionLedger
    private let lock = NSLock()
    private var stamp: FileStamp?
    private var ids: Set<String> = []

    public init(ledger: DeletionLedger) { self.ledger = ledger }

    /// Throws `.malformedLedger` if the ledger is damaged: then nothing can be known to be safe to open.
    public func contains(_ record: String) throws -> Bool {
        try lock.withLock {
            let now = FileStamp(path: ledger.path)
            if now != stamp {
                ids = Set(try ledger.entries(publicKey: nil).map(\.record))
                stamp = now
            }
            return ids.contains(record)
        }
    }
}
