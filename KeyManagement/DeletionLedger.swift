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
    /// Where it is kept, beside the key store.
    public let files: any KeyFiles
    public let vaultID: String

    public init(directory: String, vaultID: String) {
        self.init(files: KeyFolder(directory: directory), vaultID: vaultID)
    }

    public init(files: any KeyFiles, vaultID: String) {
        self.files = files
        self.vaultID = vaultID
    }

    /// The ledger's file, when it is kept in a folder.
    public var path: String { files.location + "/" + Self.fileName }

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
    /// a crash adds nothing twice), durably, under an exclusive lock. Returns the new entries and
    /// the ledger's last entry after the append: the head to record, also when a crash came
    /// between an earlier append and the recording of its head, and nothing is added now.
    @discardableResult
    public func append(_ items: [Item], signer: AuditSigner, now: Date) throws -> (added: [LedgerEntry], head: LedgerEntry?) {
        try files.update(Self.fileName) { stored -> (change: KeyFileChange, result: (added: [LedgerEntry], head: LedgerEntry?)) in
            // An append a crash or a full disk cut short left an incomplete or unsigned tail: it
            // is cut off (its shred is still `executing` and appends those entries again).
            let bytes = stored ?? []
            let (existing, validLength) = Self.signedPrefix(bytes, vaultID: vaultID)
            let (text, added) = try entries(for: items, after: existing, signer: signer, now: now)
            guard !text.isEmpty else {
                return (validLength < bytes.count ? .append([], keeping: validLength) : .none, ([], existing.last))
            }
            return (.append(text, keeping: validLength), (added, added.last))
        }
    }

    /// The lines for the items not in `existing`, chained after it, the last signed.
    private func entries(for items: [Item], after existing: [LedgerEntry], signer: AuditSigner, now: Date) throws -> ([UInt8], [LedgerEntry]) {
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
        return (text, added)
    }

    /// Every entry, each checked against the chain and, with `publicKey`, its signature. Reads
    /// under a shared lock, so a reader never sees half an append.
    public func entries(publicKey: VaultPublicKey?) throws -> [LedgerEntry] {
        try Self.parse(try readShared(), vaultID: vaultID, publicKey: publicKey)
    }

    /// The file's bytes, read under a shared lock (an append holds it exclusively); none if absent.
    private func readShared() throws -> [UInt8] {
        try files.read(Self.fileName) ?? []
    }

    /// What the vault goes by before it opens any record: the entries up to the last complete,
    /// signed append (a half-written append after a crash is ignored until the next append cuts
    /// it off), each signature checked, and the whole reaching at least `head`, the end the key
    /// store recorded. A ledger cut back (or deleted) behind that is refused.
    public func entriesForReading(publicKey: VaultPublicKey, head: (seq: Int64, hash: String)?) throws -> [LedgerEntry] {
        let (entries, _) = Self.signedPrefix(try readShared(), vaultID: vaultID)
        for (i, entry) in entries.enumerated() where !entry.signature.isEmpty {
            guard let signature = Data(base64Encoded: entry.signature),
                  publicKey.verify(signature: Array(signature), message: Hex.decode(entry.hash) ?? []) else {
                throw KeyManagementError.malformedLedger(line: i + 1, problem: "its signature is not the vault's")
            }
        }
        if let head {
            guard head.seq >= 1, head.seq <= Int64(entries.count), entries[Int(head.seq) - 1].hash == head.hash else {
                throw KeyManagementError.malformedLedger(
                    line: entries.count, problem: "it ends before entry \(head.seq), which the key store recorded: entries were removed")
            }
        }
        return entries
    }

    /// The longest prefix that ends with a signed entry and chains from the genesis, and its length in bytes.
    static func signedPrefix(_ bytes: [UInt8], vaultID: String) -> ([LedgerEntry], Int) {
        var entries: [LedgerEntry] = []
        var kept: [LedgerEntry] = []
        var keptLength = 0
        var prev = genesis(vaultID: vaultID)
        var offset = 0
        let decoder = JSONDecoder()
        while offset < bytes.count {
            guard let newline = bytes[offset...].firstIndex(of: 0x0a),
                  let entry = try? decoder.decode(LedgerEntry.self, from: Data(bytes[offset..<newline])),
                  entry.seq == (entries.last?.seq ?? 0) + 1, entry.prev == Hex.encode(prev) else { break }
            let hash = entry.computedHash(vaultID: vaultID)
            guard entry.hash == Hex.encode(hash) else { break }
            entries.append(entry)
            prev = hash
            offset = newline + 1
            if !entry.signature.isEmpty {
                kept = entries
                keptLength = offset
            }
        }
        return (kept, keptLength)
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
    private let publicKey: VaultPublicKey
    private let lock = NSLock()
    private var stamps: [String?]?
    private var ids: Set<String> = []

    public init(ledger: DeletionLedger, publicKey: VaultPublicKey) {
        self.ledger = ledger
        self.publicKey = publicKey
    }

    /// Throws `.malformedLedger` if the ledger is damaged, unsigned, or shorter than the key store
    /// says it is (cut back or deleted): then nothing can be known to be safe to open.
    public func contains(_ record: String) throws -> Bool {
        try snapshot().contains(record)
    }

    /// Every shredded record id, checked as `contains` checks (for a caller asking about many).
    public func snapshot() throws -> Set<String> {
        try lock.withLock {
            let files = ledger.files
            let now = [files.stamp(DeletionLedger.fileName), files.stamp(KeyStore.fileName)]
            if now != stamps {
                let entries = try ledger.entriesForReading(publicKey: publicKey, head: try KeyStore.ledgerHead(files: files))
                ids = Set(entries.map(\.record))
                stamps = now
            }
            return ids
        }
    }
}
