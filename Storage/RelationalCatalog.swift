import Foundation
import GRDB
import KeyManagement

/// The catalog's operations, written once in SQL both engines run (`CatalogSQL`): records, the
/// audit log and its signed checkpoints, accounts, and (in the `RelationalCatalog+...` files)
/// retention, sharing, sign-in and transfers. An engine (`SQLiteCatalog`, `PostgresCatalog`)
/// adds only how it opens, reads, writes and commits a group, so every rule the catalog keeps
/// holds on both, checked by the same tests.
///
/// Audited writes go through group commit (`GroupCommit`): concurrent callers share one
/// transaction, and whoever leads it signs one checkpoint for the whole group over a tree it
/// proved itself (`AuditConsistency`).
public class RelationalCatalog: @unchecked Sendable {
    /// Checkpoints kept in the database: the latest, and the last of every window of this many events.
    public static let checkpointWindow = 1024

    public let vaultID: String
    let clock: @Sendable () -> Date
    /// Where each signed checkpoint is also written, outside the database (docs/audit.md).
    public let witness: AuditWitness?
    /// Made by this process (`create`): its log may start empty. Any other log must begin with
    /// the vault's init event.
    let isNew: Bool
    var committer: GroupCommit!
    /// The signer of the group being committed; touched only by the group's leader.
    private var groupSigner: AuditSigner?
    /// The tree size when the group being committed began (its first append): keyed events up
    /// to it are other processes' and must lie under their checkpoints.
    private var groupStart: Int?
    /// The stored log as this process last proved it (AuditConsistency), after its last
    /// committed signature; nil until its first. Touched only by a group's leader.
    private var proven: ProvenLog?
    /// The checkpoint this process signed last: met again, its signature needs no second check.
    private(set) var lastSigned: Checkpoint?

    init(vaultID: String, clock: @escaping @Sendable () -> Date, witness: AuditWitness?, isNew: Bool) {
        self.vaultID = vaultID
        self.clock = clock
        self.witness = witness
        self.isNew = isNew
    }

    // MARK: what an engine provides

    /// A consistent read: every statement of `body` sees the same committed state.
    func read<T>(_ body: (any CatalogSQL) throws -> T) throws -> T { fatalError("an engine overrides read") }

    /// A single statement's read, where the engine can skip a transaction (the hottest reads).
    func quickRead<T>(_ body: (any CatalogSQL) throws -> T) throws -> T { try read(body) }

    /// A write that carries no audit event, in one transaction of its own.
    func write<T>(_ body: (any CatalogSQL) throws -> T) throws -> T { fatalError("an engine overrides write") }

    /// The engine's own error as a `StorageError` (nil: not the engine's). Never repeats SQL
    /// arguments, which may hold ids.
    func storageError(_ error: any Error) -> StorageError? { error as? StorageError }

    /// Group commit's transaction: `body` runs inside one transaction that commits when it
    /// returns, or rolls back when it throws.
    func transaction(_ body: (any CatalogSQL) throws -> Void) throws { fatalError("an engine overrides transaction") }

    /// Runs first in every group's transaction (PostgreSQL locks the log's head there).
    func beginGroup(_ db: any CatalogSQL) throws {}

    /// Empties whatever copy of deleted rows the engine keeps beside its tables, after a shred.
    /// SQLite overrides it (its write-ahead log is a file beside the database). PostgreSQL's own
    /// write-ahead log and dead row versions are the server's to recycle: a shredded record's
    /// wrapped data key may linger there, unreadable once its KEK is destroyed, which is what
    /// crypto-shredding rests on (docs/storage-postgres.md).
    public func purgeWriteAheadLog() throws {}

    // MARK: shared machinery

    func makeCommitter() -> GroupCommit {
        GroupCommit(
            transaction: { [unowned self] body in try self.transaction(body) },
            // A group that failed before signing must leave nothing for the next one.
            beginGroup: { [unowned self] db in groupStart = nil; groupSigner = nil; try self.beginGroup(db) },
            finishGroup: { [unowned self] db in try self.signGroup(db) })
    }

    @discardableResult
    func guarded<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch {
            throw storageError(error) ?? error
        }
    }

    var nowMillis: Int64 { Int64((clock().timeIntervalSince1970 * 1000).rounded(.down)) }

    /// A write that carries audit events, through group commit. Any database failure means the
    /// events are not durable, which callers must treat as "do not go on".
    func auditedWrite<T>(_ work: @escaping (any CatalogSQL) throws -> T) throws -> T {
        do {
            return try committer.run(work)
        } catch StorageError.auditRewritten(let why) {
            // The refusal is audited where it can be: unsigned, as keyless work is, so it
            // vouches for nothing, and the next keyed process refuses the same way.
            _ = try? committer.run { db in
                try self.appendLocked(db, [AuditEntry(actor: .vault, action: .signRefused, outcome: .failed, reason: why)], signer: nil)
            }
            throw StorageError.auditRewritten(why)
        } catch let error as StorageError {
            switch error {
            // A read inside the write failed the same way (read-only or full database).
            case .database(let why): throw StorageError.auditUnavailable(why)
            default: throw error
            }
        } catch {
            switch storageError(error) {
            // Not written for want of space: said so, since freeing space is the remedy.
            case .outOfSpace(let what)?: throw StorageError.outOfSpace(what)
            case .database(let why)?: throw StorageError.auditUnavailable(why)
            case let mapped?: throw mapped
            case nil: throw error
            }
        }
    }

    /// A data key must not be committed under a KEK another process has just destroyed.
    static func requireLiveKEK(_ db: any CatalogSQL, _ id: String) throws {
        if try db.exists("SELECT 1 FROM destroyed_keks WHERE id = ?", [id]) {
            throw StorageError.kekDestroyed(id)
        }
    }

    /// Successful events of keyed actions with `size` < seq (< `before`), the first five.
    static func keyedEvents(_ db: any CatalogSQL, after size: Int, before: Int?) throws -> [(sequence: Int64, action: String)] {
        try db.rows("""
            SELECT seq, action FROM audit_events
            WHERE seq > ? AND seq < ? AND outcome = 'ok' AND action IN (\(AuditEvent.keyedActionsSQL))
            ORDER BY seq LIMIT 5
            """, [size, before ?? Int.max]).map { ($0["seq"], $0["action"]) }
    }

    /// Signs one checkpoint for the whole group at the head it reached, over a tree this process
    /// computed itself: the stored log is first proved an append-only extension of what the
    /// process proved before (or, the first time, of the newest signed checkpoint and of the
    /// witness's), so a log rewritten by someone without the key is refused, never signed over.
    /// Returns what to remember once the group has committed.
    private func signGroup(_ db: any CatalogSQL) throws -> (() -> Void)? {
        let start = groupStart
        groupStart = nil
        guard let signer = groupSigner, let start else { return nil }
        groupSigner = nil
        let key = signer.publicKey
        let (from, log): (Int, ProvenLog)
        if let proven {
            (from, log) = (proven.size, try AuditConsistency.extend(db, proven, vaultID: vaultID, publicKey: key, trusted: lastSigned, keyedUpTo: start))
        } else {
            (from, log) = try AuditConsistency.establish(
                db, vaultID: vaultID, publicKey: key, trusted: lastSigned, outside: try witness?.newest(vaultID: vaultID, publicKey: key),
                keyedUpTo: start, newVault: isNew)
        }
        let size = log.size
        guard size > 0 else { return nil }
        let now = nowMillis
        let root = log.frontier.root
        let checkpoint = try Checkpoint.sign(vaultID: vaultID, treeSize: size, root: root, timeMillis: now, signer: signer)
        try db.execute("""
            INSERT INTO audit_checkpoints (tree_size, root, time_ms, key_id, signature, frontier) VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT (tree_size) DO UPDATE SET root = excluded.root, time_ms = excluded.time_ms, key_id = excluded.key_id,
                signature = excluded.signature, frontier = excluded.frontier
            """,
            [size, Data(root), now, checkpoint.keyID, Data(base64Encoded: checkpoint.signature)!, Data(log.frontier.serialized)])
        // The checkpoints of this window from where the proof started were met by it or are where
        // it started, so the new one proves whatever they proved: only those are thinned. Older
        // ones (below a first proof's starting point) are kept, whatever they say.
        let window = Self.checkpointWindow
        try db.execute(
            "DELETE FROM audit_checkpoints WHERE tree_size < ? AND tree_size >= ? AND (tree_size - 1) / ? = (? - 1) / ?",
            [size, from, window, size, window])
        return { [self] in
            proven = log
            lastSigned = checkpoint
            witness?.offer(checkpoint)
        }
    }

    func appendLocked(_ db: any CatalogSQL, _ entries: [AuditEntry], signer: AuditSigner?) throws -> [AuditEvent] {
        guard let head = try db.row("SELECT tree_size, last_hash, frontier FROM audit_head WHERE id = 1"),
              let frontierBytes = head["frontier"] as Data?, var frontier = TreeFrontier(serialized: [UInt8](frontierBytes)),
              let lastHash = head["last_hash"] as Data? else {
            throw StorageError.auditUnavailable("the audit head is missing or malformed; run audit verify")
        }
        var size: Int = head["tree_size"]
        var last = [UInt8](lastHash)
        guard frontier.size == size else { throw StorageError.auditUnavailable("the audit head disagrees with its tree; run audit verify") }
        if groupStart == nil { groupStart = size }
        let now = nowMillis
        var written: [AuditEvent] = []
        written.reserveCapacity(entries.count)
        for entry in entries {
            var event = AuditEvent(
                sequence: Int64(size + 1), timeMillis: now, actor: LogText.escape(entry.actor),
                action: LogText.escape(entry.action), outcome: entry.outcome.rawValue,
                school: entry.school.map(LogText.escape), child: entry.child.map(LogText.escape),
                concern: entry.concern.map(LogText.escape), record: entry.record.map(LogText.escape),
                reason: entry.reason.map(LogText.escape), previousHash: last, hash: [])
            event.hash = event.computedHash
            frontier.append(event.hash)
            last = event.hash
            size += 1
            written.append(event)
        }
        // Batched: a shred of many records appends an event for each.
        try db.insertRows(
            into: "audit_events", columns: ["seq", "time_ms", "actor", "action", "outcome", "school", "child", "concern", "record", "reason", "prev_hash", "hash"],
            written.map { event in
                [event.sequence, event.timeMillis, event.actor, event.action, event.outcome, event.school,
                 event.child, event.concern, event.record, event.reason, Data(event.previousHash), Data(event.hash)]
            })
        try db.execute("UPDATE audit_head SET tree_size = ?, last_hash = ?, frontier = ? WHERE id = 1", [size, Data(last), Data(frontier.serialized)])
        if let signer { groupSigner = signer }
        CrashPoint.hit("audit-appended")
        return written
    }

    static func event(_ row: Row) -> AuditEvent {
        AuditEvent(
            sequence: row["seq"], timeMillis: row["time_ms"], actor: row["actor"], action: row["action"], outcome: row["outcome"],
            school: row["school"], child: row["child"], concern: row["concern"], record: row["record"], reason: row["reason"],
            previousHash: [UInt8](row["prev_hash"] as Data? ?? Data()), hash: [UInt8](row["hash"] as Data? ?? Data()))
    }

    func checkpoint(_ row: Row) -> Checkpoint {
        Checkpoint(
            vaultID: vaultID, treeSize: row["tree_size"], rootHash: Hex.encode([UInt8](row["root"] as Data)),
            timeMillis: row["time_ms"], keyID: row["key_id"], signature: (row["signature"] as Data).base64EncodedString())
    }
}

// MARK: records, the log, accounts

extension RelationalCatalog {
    /// A store-wide setting kept beside the vault id (where the blobs are), or nil.
    public func vaultSetting(_ key: String) throws -> String? {
        try guarded { try read { try $0.value(String.self, "SELECT value FROM vault WHERE key = ?", [key]) } }
    }

    public func setVaultSetting(_ key: String, _ value: String) throws {
        _ = try guarded {
            try write { try $0.execute("INSERT INTO vault (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", [key, value]) }
        }
    }

    @discardableResult
    public func commitRecord(_ record: EvidenceRecord, event: AuditEntry, signer: AuditSigner?) throws -> AuditEvent {
        try auditedWrite { db in
            try Self.requireLiveKEK(db, record.kekID)
            try db.insert(record)
            return try self.appendLocked(db, [event], signer: signer)[0]
        }
    }

    @discardableResult
    public func append(_ entries: [AuditEntry], signer: AuditSigner?) throws -> [AuditEvent] {
        try auditedWrite { db in try self.appendLocked(db, entries, signer: signer) }
    }

    public func addUser(_ user: UserAccount, event: AuditEntry, signer: AuditSigner?) throws {
        try auditedWrite { db in
            try Self.requireNameFree(db, user.name)
            try db.insert(user)
            _ = try self.appendLocked(db, [event], signer: signer)
        }
    }

    /// A revoked account keeps its row (and its id); only an active one holds the name.
    static func requireNameFree(_ db: any CatalogSQL, _ name: String) throws {
        if try db.exists("SELECT 1 FROM users WHERE name = ? AND revoked_at_ms IS NULL", [name]) {
            throw StorageError.userExists(name)
        }
    }

    public func revokeUser(_ revoked: UserAccount, event: AuditEntry, signer: AuditSigner?) throws {
        try auditedWrite { db in
            guard let user = try db.fetchOne(UserAccount.self, "SELECT * FROM users WHERE id = ?", [revoked.id]),
                  user.name == revoked.name, !user.isRevoked, revoked.isRevoked else {
                throw StorageError.userNotFound(revoked.name)
            }
            try db.update(revoked, key: "id")
            _ = try self.appendLocked(db, [event], signer: signer)
        }
    }

    public func users() throws -> [UserAccount] {
        try guarded { try read { try $0.fetchAll(UserAccount.self, "SELECT * FROM users ORDER BY name, created_at_ms") } }
    }

    public func upgradeUserSignatures(
        _ resign: ([UserAccount]) throws -> (rows: [UserAccount], event: AuditEntry), signer: AuditSigner?
    ) throws -> Int {
        try withoutActuallyEscaping(resign) { resign in
            try auditedWrite { db in
                let old = try db.fetchAll(UserAccount.self, "SELECT * FROM users WHERE signature_format = 1")
                guard !old.isEmpty else { return 0 }
                let (rows, event) = try resign(old)
                let byID = Dictionary(uniqueKeysWithValues: old.map { ($0.id, $0) })
                var updated = 0
                for row in rows {
                    // Only the signature changes, and only of a row read in this transaction.
                    guard var stored = byID[row.id] else { continue }
                    stored.signature = row.signature
                    stored.signatureFormat = row.signatureFormat
                    guard stored == row, row.signatureFormat == UserAccount.signatureFormat else { continue }
                    try db.update(row, key: "id")
                    updated += 1
                }
                // The rest are refused for good (format 0), so the refusal is reported once.
                let resigned = Set(rows.map(\.id))
                for row in old where !resigned.contains(row.id) {
                    try db.execute("UPDATE users SET signature_format = 0 WHERE id = ? AND signature_format = 1", [row.id])
                }
                _ = try self.appendLocked(db, [event], signer: signer)
                return updated
            }
        }
    }

    /// Every request asks this: one statement.
    public func user(tokenHash: Data) throws -> UserAccount? {
        try guarded { try quickRead { try $0.fetchOne(UserAccount.self, "SELECT * FROM users WHERE token_hash = ?", [tokenHash]) } }
    }

    /// Every download and metadata read asks this: one statement.
    public func record(id: String) throws -> EvidenceRecord? {
        try guarded { try quickRead { try $0.fetchOne(EvidenceRecord.self, "SELECT * FROM records WHERE id = ?", [id]) } }
    }

    public func records(matching filter: RecordFilter) throws -> [EvidenceRecord] {
        var conditions: [String] = []
        var arguments: SQLArguments = []
        func match(_ column: String, _ value: String?) {
            guard let value else { return }
            conditions.append("\(column) = ?")
            arguments.append(value)
        }
        match("school", filter.school)
        match("child", filter.child)
        match("concern", filter.concern)
        match("created_by", filter.createdBy)
        match("created_by_account", filter.createdByAccount)
        if let schools = filter.schools {
            if schools.isEmpty { return [] }
            conditions.append("school IN (\(placeholders(schools.count)))")
            arguments += schools.map { $0 }
        }
        var sql = "SELECT * FROM records"
        if !conditions.isEmpty { sql += " WHERE " + conditions.joined(separator: " AND ") }
        sql += " ORDER BY created_at_ms, id"
        if let limit = filter.limit {
            sql += " LIMIT ? OFFSET ?"
            arguments += [limit, filter.offset]
        }
        return try guarded { try read { try $0.fetchAll(EvidenceRecord.self, sql, arguments) } }
    }

    public func allRecordIDs() throws -> Set<String> {
        try guarded { Set(try read { try $0.values(String.self, "SELECT id FROM records") }) }
    }

    public func auditReasons(action: String) throws -> [String] {
        try guarded {
            try read { try $0.values(String.self, "SELECT reason FROM audit_events WHERE action = ? AND reason IS NOT NULL", [action]) }
        }
    }

    public func filedRecords() throws -> [String: FiledRecord] {
        try guarded {
            try read { db in
                var out: [String: FiledRecord] = [:]
                try db.forEachRow("""
                    SELECT record, school, child, concern FROM audit_events
                    WHERE action = 'put' AND outcome = 'ok' AND record IS NOT NULL
                    """, []) { row in
                    out[row["record"]] = FiledRecord(school: row["school"], child: row["child"], concern: row["concern"])
                }
                return out
            }
        }
    }

    static let eventPage = 10_000

    public func events(record: String?) throws -> [AuditEvent] {
        try guarded {
            try read { db in
                var out: [AuditEvent] = []
                if let record {
                    try db.forEachRow("SELECT * FROM audit_events WHERE record = ? ORDER BY seq", [record]) { out.append(Self.event($0)) }
                } else {
                    // In pages, within the one read: PostgreSQL's client holds a whole answer in
                    // memory, and a log of millions would be one long answer.
                    var after: Int64 = 0, read = Self.eventPage
                    while read == Self.eventPage {
                        read = 0
                        try db.forEachRow("SELECT * FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?", [after, Self.eventPage]) {
                            let event = Self.event($0)
                            out.append(event)
                            after = event.sequence
                            read += 1
                        }
                    }
                }
                return out
            }
        }
    }

    public func latestCheckpoint() throws -> Checkpoint? {
        try guarded {
            try read { db in try db.row("SELECT * FROM audit_checkpoints ORDER BY tree_size DESC LIMIT 1").map(checkpoint) }
        }
    }

    public func proveAuditLog(publicKey: VaultPublicKey) throws {
        let outside = try witness?.newest(vaultID: vaultID, publicKey: publicKey)
        try guarded {
            try read { db in
                let size = try AuditConsistency.head(db).size
                _ = try AuditConsistency.establish(
                    db, vaultID: vaultID, publicKey: publicKey, trusted: nil, outside: outside, keyedUpTo: size, newVault: false)
            }
        }
    }

    public func auditSnapshot(_ body: (AuditSnapshot) throws -> Void) throws {
        try guarded {
            try read { db in
                let head = try db.row("SELECT tree_size, last_hash, frontier FROM audit_head WHERE id = 1").map { row in
                    (size: row["tree_size"] as Int, lastHash: [UInt8](row["last_hash"] as Data),
                     frontier: TreeFrontier(serialized: [UInt8](row["frontier"] as Data)))
                }
                let checkpoints = try db.rows("SELECT * FROM audit_checkpoints ORDER BY tree_size", []).map(checkpoint)
                let orphans = try db.values(String.self, """
                    SELECT id FROM records WHERE NOT EXISTS
                        (SELECT 1 FROM audit_events e WHERE e.record = records.id AND e.action = 'put' AND e.outcome = 'ok')
                    ORDER BY id
                    """)
                let first = try db.row("SELECT action, outcome FROM audit_events WHERE seq = 1")
                let beginsWithInit = first.map { $0["action"] as String == "init" && $0["outcome"] as String == AuditOutcome.ok.rawValue } ?? false
                try body(RelationalAuditSnapshot(
                    db: db, head: head, checkpoints: checkpoints, recordsWithoutPutEvent: orphans, beginsWithInit: beginsWithInit))
            }
        }
    }
}

struct RelationalAuditSnapshot: AuditSnapshot {
    let db: any CatalogSQL
    let head: (size: Int, lastHash: [UInt8], frontier: TreeFrontier?)?
    let checkpoints: [Checkpoint]
    let recordsWithoutPutEvent: [String]
    let beginsWithInit: Bool

    func keyedEvents(after size: Int) throws -> [(sequence: Int64, action: String)] {
        try RelationalCatalog.keyedEvents(db, after: size, before: nil)
    }

    func forEachLink(_ body: (AuditLink) throws -> Void) throws {
        try AuditConsistency.forEachLink(db, after: 0, body)
    }
}
