import Foundation
import GRDB
import GRDBSQLite
import KeyManagement

/// What a keyed process has proved about the stored audit log: the Merkle tree of the first
/// `size` stored events (its right edge) and the last of their hashes. A keyed process signs only
/// roots it computed itself from such a proof, never a root read from the database, so a log
/// rewritten by someone without the key is never blessed by its signature (docs/audit.md,
/// "Before every signature").
struct ProvenLog: Equatable {
    var frontier: TreeFrontier
    var lastHash: [UInt8]
    var size: Int { frontier.size }
}

/// The proof itself. Starting from a signed checkpoint whose stored right edge has exactly the
/// signed root (or from the vault's genesis), the stored events after it are read one by one:
/// each must hash to its content, link to the one before, and extend the tree so that every
/// signed checkpoint met on the way has the root the tree has at that size. The tree so grown
/// from the checkpoint's edge is the RFC 9162 consistency proof from that checkpoint to the
/// current size, computed from the stored events: it exists only if the log since the
/// checkpoint is an append-only extension of it. Events only a keyed process writes must lie
/// under a signed checkpoint too. Anything else refuses, with `StorageError.auditRewritten`.
enum AuditConsistency {
    /// The stored head: size, last hash and right edge (as written by whoever wrote last).
    struct Head {
        var size: Int
        var lastHash: [UInt8]
        var frontier: TreeFrontier?
    }

    static func refuse(_ why: String) -> StorageError {
        .auditRewritten("\(why); run strongroom audit verify")
    }

    static func head(_ db: any CatalogSQL) throws -> Head {
        guard let row = try db.row("SELECT tree_size, last_hash, frontier FROM audit_head WHERE id = 1") else {
            throw refuse("the audit tree head is missing")
        }
        return Head(
            size: row["tree_size"], lastHash: [UInt8](row["last_hash"] as Data),
            frontier: TreeFrontier(serialized: [UInt8](row["frontier"] as Data)))
    }

    /// Stored checkpoints larger than `size`, smallest first, with their stored right edges.
    static func checkpoints(_ db: any CatalogSQL, vaultID: String, after size: Int) throws -> [(checkpoint: Checkpoint, frontier: TreeFrontier?)] {
        try db.rows(
            "SELECT tree_size, root, time_ms, key_id, signature, frontier FROM audit_checkpoints WHERE tree_size > ? ORDER BY tree_size",
            [size]
        ).map { row in
            let checkpoint = Checkpoint(
                vaultID: vaultID, treeSize: row["tree_size"], rootHash: Hex.encode([UInt8](row["root"] as Data)), timeMillis: row["time_ms"],
                keyID: row["key_id"], signature: (row["signature"] as Data).base64EncodedString())
            return (checkpoint, (row["frontier"] as Data?).flatMap { TreeFrontier(serialized: [UInt8]($0)) })
        }
    }

    /// Proves the stored log from nothing, as a process does before its first signature: from
    /// the newest signed checkpoint that carries a right edge matching its root (or from the
    /// genesis), over every later event, checking every later checkpoint and `outside` (the
    /// newest checkpoint of the witness, which the database cannot cut back). Returns the size
    /// the proof started from with the proof. Only a vault this process has just created
    /// (`newVault`) may have a log that does not begin with its init event.
    static func establish(
        _ db: any CatalogSQL, vaultID: String, publicKey: VaultPublicKey, trusted: Checkpoint?, outside: Checkpoint?, keyedUpTo: Int,
        newVault: Bool
    ) throws -> (from: Int, log: ProvenLog) {
        // Every vault's log begins with its init event, signed as the store was created: an
        // empty log, or one beginning otherwise, was emptied or replaced, never signed so.
        if !newVault {
            let first = try db.row("SELECT action, outcome FROM audit_events WHERE seq = 1")
            guard let first, first["action"] as String == "init", first["outcome"] as String == AuditOutcome.ok.rawValue else {
                throw refuse("the audit log does not begin with the vault's init event: it was emptied or replaced")
            }
        }
        let stored = try checkpoints(db, vaultID: vaultID, after: 0)
        for (checkpoint, _) in stored where checkpoint != trusted && !checkpoint.verifySignature(publicKey: publicKey) {
            throw refuse("the audit checkpoint at \(checkpoint.treeSize) events does not carry the vault's signature")
        }
        if let outside {
            guard outside.vaultID == vaultID, outside.verifySignature(publicKey: publicKey) else {
                throw refuse("the witness's newest checkpoint does not carry this vault's signature")
            }
        }
        var start = ProvenLog(frontier: TreeFrontier(), lastHash: AuditEvent.genesisHash(vaultID: vaultID))
        if let anchor = stored.last(where: { $0.frontier?.size == $0.checkpoint.treeSize && $0.frontier?.root == $0.checkpoint.root }),
           let frontier = anchor.frontier {
            guard let last = try db.value(Data.self, "SELECT hash FROM audit_events WHERE seq = ?", [frontier.size]) else {
                throw refuse("audit event \(frontier.size), which a signed checkpoint covers, is missing")
            }
            start = ProvenLog(frontier: frontier, lastHash: [UInt8](last))
        }
        return (start.size, try extend(db, start, vaultID: vaultID, publicKey: publicKey, trusted: trusted, outside: outside, keyedUpTo: keyedUpTo))
    }

    /// Extends a proof over the stored events after it (other processes' appends, and this
    /// group's own). Keyed events up to `keyedUpTo` must lie under a checkpoint met on the way
    /// (later ones are the group's own, which this process is about to sign). The stored head
    /// must then be exactly the grown tree.
    static func extend(
        _ db: any CatalogSQL, _ proven: ProvenLog, vaultID: String, publicKey: VaultPublicKey, trusted: Checkpoint?,
        outside: Checkpoint? = nil, keyedUpTo: Int
    ) throws -> ProvenLog {
        let head = try head(db)
        if head.size < proven.size {
            throw refuse("the audit log has \(head.size) events, fewer than the \(proven.size) this process proved: it was cut back")
        }
        var wanted: [Int: Checkpoint] = [:]
        for (checkpoint, _) in try checkpoints(db, vaultID: vaultID, after: proven.size) {
            guard checkpoint == trusted || checkpoint.verifySignature(publicKey: publicKey) else {
                throw refuse("the audit checkpoint at \(checkpoint.treeSize) events does not carry the vault's signature")
            }
            wanted[checkpoint.treeSize] = checkpoint
        }
        if let outside, outside.treeSize > proven.size { wanted[outside.treeSize] = outside }
        // Events after the group's start are this process's own, which no checkpoint can cover yet.
        if let beyond = wanted.keys.filter({ $0 > min(head.size, keyedUpTo) }).min() {
            throw refuse("a signed checkpoint covers \(beyond) events but the audit log had \(min(head.size, keyedUpTo)): its tail was deleted or an older copy put back")
        }
        var out = proven
        var covered = proven.size
        try forEachLink(db, after: proven.size) { link in
            guard link.sequence == Int64(out.size + 1) else {
                throw refuse("audit event \(out.size + 1) is missing or out of sequence")
            }
            guard link.contentHash == link.hash else { throw refuse("audit event \(link.sequence)'s content does not match its hash") }
            guard link.previousHash == out.lastHash else { throw refuse("audit event \(link.sequence) does not link to the event before it") }
            out.frontier.append(link.hash)
            out.lastHash = link.hash
            if let checkpoint = wanted[out.size] {
                guard checkpoint.root == out.frontier.root else {
                    throw refuse("the audit log's first \(out.size) events no longer match the checkpoint signed at that size: the log was rewritten")
                }
                covered = out.size
            }
        }
        if let first = try RelationalCatalog.keyedEvents(db, after: covered, before: keyedUpTo + 1).first {
            throw refuse("audit event \(first.sequence) (\(first.action)) is one only a process with the vault key writes, yet no signed checkpoint covers it: the log was rewritten")
        }
        guard head.size == out.size, head.frontier == out.frontier, head.lastHash == out.lastHash else {
            throw refuse("the audit log is not the one signed at \(proven.size) events grown by the stored events since (its tree head differs): it was rewritten")
        }
        return out
    }

    /// Every stored event after `size`, in sequence order, with its content hashed as
    /// `AuditEvent.canonicalBytes` defines: on SQLite read straight from its row buffers; on
    /// another engine from its rows, a page at a time.
    static func forEachLink(_ db: any CatalogSQL, after size: Int, _ body: (AuditLink) throws -> Void) throws {
        guard let db = db as? Database else {
            try forEachLinkPaged(db, after: size, body)
            return
        }
        let statement = try db.cachedStatement(
            sql: "SELECT seq, time_ms, actor, action, outcome, school, child, concern, record, reason, prev_hash, hash FROM audit_events WHERE seq > ? ORDER BY seq")
        let s = statement.sqliteStatement
        func column(_ i: CInt) -> UnsafeRawBufferPointer? {
            // sqlite3_column_blob before sqlite3_column_bytes, as SQLite documents.
            guard let pointer = sqlite3_column_blob(s, i) else { return nil }
            return UnsafeRawBufferPointer(start: pointer, count: Int(sqlite3_column_bytes(s, i)))
        }
        func bytes(_ i: CInt) -> [UInt8] { column(i).map { Array($0) } ?? [] }
        var hasher = AuditLeafHasher()
        let rows = try Row.fetchCursor(statement, arguments: [size])
        while try rows.next() != nil {
            let sequence = sqlite3_column_int64(s, 0)
            hasher.begin(sequence: sequence, timeMillis: sqlite3_column_int64(s, 1))
            for i in CInt(2)...CInt(10) { hasher.append(column(i)) }
            try body(AuditLink(sequence: sequence, previousHash: bytes(10), hash: bytes(11), contentHash: hasher.finish()))
        }
    }

    /// The same walk through the engine-neutral row API, in pages of 10,000 events, so a large
    /// log is never held whole.
    private static func forEachLinkPaged(_ db: any CatalogSQL, after size: Int, _ body: (AuditLink) throws -> Void) throws {
        var next = size
        while true {
            let rows = try db.rows("""
                SELECT seq, time_ms, actor, action, outcome, school, child, concern, record, reason, prev_hash, hash
                FROM audit_events WHERE seq > ? ORDER BY seq LIMIT 10000
                """, [next])
            for row in rows {
                try body(RelationalCatalog.event(row).link)
            }
            guard let last = rows.last else { return }
            next = last["seq"]
        }
    }
}
