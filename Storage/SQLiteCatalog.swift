import Foundation
import GRDB
import GRDBSQLite
import KeyManagement

/// The embedded catalog: one SQLite database (`metadata.sqlite`) in WAL mode with
/// synchronous=FULL, so a committed transaction survives power loss. Schema changes are named
/// migrations registered once and never edited (docs/formats.md lists them).
public final class SQLiteCatalog: Catalog, @unchecked Sendable {
    public static let fileName = "metadata.sqlite"
    /// Checkpoints kept in the database: the latest, and the last of every window of this many events.
    public static let checkpointWindow = 1024

    let pool: DatabasePool
    public let vaultID: String
    private var committer: GroupCommit!
    /// The signer of the group being committed; touched only on the writer's queue.
    private var groupSigner: AuditSigner?
    /// The tree size and root when the group being committed began (its first append).
    private var groupStart: Int?
    private var groupStartRoot: [UInt8]?
    /// The checkpoint this process signed last: found unchanged as the newest, its signature
    /// needs no second check (the hot path signs once per group).
    private(set) var lastSigned: Checkpoint?
    let clock: @Sendable () -> Date

    public struct Options: Sendable {
        public var busyTimeout: TimeInterval = 10
        public var readOnly = false
        /// Runs on every new connection; tests use it to inject failures (e.g. a full disk).
        public var prepareConnection: (@Sendable (Database) throws -> Void)?
        public init() {}
    }

    /// Creates the database of a new vault.
    public static func create(path: String, vaultID: String, clock: @escaping @Sendable () -> Date = Date.init) throws -> SQLiteCatalog {
        guard !FileManager.default.fileExists(atPath: path) else {
            throw StorageError.database("\(path) already exists; refusing to overwrite it")
        }
        let catalog = try SQLiteCatalog(path: path, vaultID: vaultID, clock: clock, options: Options(), creating: true)
        try catalog.guarded {
            try catalog.pool.write { db in
                try db.execute(sql: "INSERT INTO vault (key, value) VALUES ('vault_id', ?), ('format_version', '1')", arguments: [vaultID])
                let head = TreeFrontier()
                try db.execute(
                    sql: "INSERT INTO audit_head (id, tree_size, last_hash, frontier) VALUES (1, 0, ?, ?)",
                    arguments: [Data(AuditEvent.genesisHash(vaultID: vaultID)), Data(head.serialized)])
            }
        }
        return catalog
    }

    /// Opens an existing vault's database; `vaultID` must match the one it was created with.
    public static func open(
        path: String, vaultID: String, clock: @escaping @Sendable () -> Date = Date.init, options: Options = Options()
    ) throws -> SQLiteCatalog {
        guard FileManager.default.fileExists(atPath: path) else { throw StorageError.database("\(path) does not exist") }
        return try SQLiteCatalog(path: path, vaultID: vaultID, clock: clock, options: options, creating: false)
    }

    private init(path: String, vaultID: String, clock: @escaping @Sendable () -> Date, options: Options, creating: Bool) throws {
        var config = Configuration()
        config.busyMode = .timeout(options.busyTimeout)
        config.readonly = options.readOnly
        let prepare = options.prepareConnection
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // Deleted rows must not linger in free pages (shredding relies on it).
            try db.execute(sql: "PRAGMA secure_delete = ON")
            try prepare?(db)
        }
        self.vaultID = vaultID
        self.clock = clock
        do {
            pool = try DatabasePool(path: path, configuration: config)
            committer = GroupCommit(writer: pool) { [unowned self] db in try self.signGroup(db) }
            // GRDB switches the writer to synchronous=NORMAL when it enables WAL; a commit must
            // survive power loss, so set FULL again on the writer connection.
            if !options.readOnly {
                // A larger page cache on the one writer connection only (readers keep the
                // default): a shred of a hundred thousand records or a rotation touches many pages.
                try pool.writeWithoutTransaction { try $0.execute(sql: "PRAGMA synchronous = FULL; PRAGMA cache_size = -32768") }
            }
            if !options.readOnly {
                let migrator = Self.migrator
                if try pool.read({ try migrator.hasBeenSuperseded($0) }) {
                    throw StorageError.unsupportedFormat("\(path) was written by a newer Strongroom")
                }
                try migrator.migrate(pool)
            }
            if !creating {
                let stored = try pool.read { try String.fetchOne($0, sql: "SELECT value FROM vault WHERE key = 'vault_id'") }
                guard stored == vaultID else {
                    throw StorageError.database("\(path) belongs to another vault than this key store")
                }
            }
        } catch let error as DatabaseError {
            throw StorageError.from(error)
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE vault (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
                CREATE TABLE records (
                    id TEXT PRIMARY KEY NOT NULL,
                    school TEXT NOT NULL, child TEXT NOT NULL, concern TEXT NOT NULL, kind TEXT NOT NULL,
                    filename TEXT NOT NULL, declared_type TEXT, sniffed_type TEXT NOT NULL,
                    size INTEGER NOT NULL, sha256 TEXT NOT NULL,
                    ciphertext_blake2b TEXT NOT NULL, ciphertext_size INTEGER NOT NULL,
                    created_at_ms INTEGER NOT NULL, created_by TEXT NOT NULL,
                    kek_id TEXT NOT NULL, wrapped_dek BLOB NOT NULL, format_version INTEGER NOT NULL);
                CREATE INDEX records_by_child ON records (school, child, created_at_ms);
                CREATE INDEX records_by_concern ON records (school, concern, created_at_ms);
                CREATE TABLE audit_events (
                    seq INTEGER PRIMARY KEY NOT NULL, time_ms INTEGER NOT NULL,
                    actor TEXT NOT NULL, action TEXT NOT NULL, outcome TEXT NOT NULL,
                    school TEXT, child TEXT, concern TEXT, record TEXT, reason TEXT,
                    prev_hash BLOB NOT NULL, hash BLOB NOT NULL);
                CREATE INDEX audit_by_record ON audit_events (record);
                -- Append-only from the application's side: an attacker with the file can drop
                -- these triggers, and audit verify catches what they then change.
                CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
                    BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
                CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
                    BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
                CREATE TABLE audit_head (
                    id INTEGER PRIMARY KEY CHECK (id = 1), tree_size INTEGER NOT NULL,
                    last_hash BLOB NOT NULL, frontier BLOB NOT NULL);
                CREATE TABLE audit_checkpoints (
                    tree_size INTEGER PRIMARY KEY NOT NULL, root BLOB NOT NULL, time_ms INTEGER NOT NULL,
                    key_id TEXT NOT NULL, signature BLOB NOT NULL);
                """)
        }
        migrator.registerMigration("v2-users") { db in
            try db.execute(sql: """
                CREATE TABLE users (
                    name TEXT PRIMARY KEY NOT NULL, role TEXT NOT NULL, schools TEXT NOT NULL,
                    token_hash BLOB NOT NULL UNIQUE, created_at_ms INTEGER NOT NULL, created_by TEXT NOT NULL,
                    revoked_at_ms INTEGER, signature BLOB NOT NULL);
                """)
        }
        migrator.registerMigration("v3-retention") { db in
            // Existing records have no date of birth on file: kept 25 years from creation.
            try db.execute(sql: """
                ALTER TABLE records ADD COLUMN category TEXT NOT NULL DEFAULT 'child-protection';
                ALTER TABLE records ADD COLUMN review_on TEXT NOT NULL DEFAULT '';
                UPDATE records SET review_on = date(created_at_ms / 1000, 'unixepoch', '+25 years');
                CREATE INDEX records_by_review ON records (review_on, school);
                -- school '' holds a date of birth the operator set for the child id in every school.
                CREATE TABLE children (
                    school TEXT NOT NULL, child TEXT NOT NULL, dob TEXT NOT NULL, set_at_ms INTEGER NOT NULL,
                    set_by TEXT NOT NULL, PRIMARY KEY (school, child));
                CREATE TABLE holds (
                    id TEXT PRIMARY KEY NOT NULL, school TEXT NOT NULL, scope TEXT NOT NULL, target TEXT NOT NULL,
                    reason TEXT NOT NULL, placed_by TEXT NOT NULL, placed_at_ms INTEGER NOT NULL,
                    released_by TEXT, released_at_ms INTEGER, release_reason TEXT);
                CREATE INDEX holds_by_target ON holds (school, scope, target);
                CREATE TABLE shred_requests (
                    id TEXT PRIMARY KEY NOT NULL, school TEXT NOT NULL, records TEXT NOT NULL, reason TEXT NOT NULL,
                    requested_by TEXT NOT NULL, requested_role TEXT NOT NULL, requested_at_ms INTEGER NOT NULL,
                    approved_by TEXT, approved_role TEXT, approved_at_ms INTEGER, state TEXT NOT NULL, certificate BLOB);
                CREATE TABLE tombstones (
                    record TEXT PRIMARY KEY NOT NULL, school TEXT NOT NULL, child TEXT NOT NULL, kind TEXT NOT NULL,
                    category TEXT NOT NULL, created_at_ms INTEGER NOT NULL, sha256 TEXT NOT NULL,
                    shredded_at_ms INTEGER NOT NULL, request TEXT NOT NULL, requested_by TEXT NOT NULL,
                    approved_by TEXT NOT NULL, reason TEXT NOT NULL, kek_id TEXT NOT NULL, signature BLOB NOT NULL);
                CREATE INDEX tombstones_by_request ON tombstones (request);
                CREATE TABLE destroyed_keks (id TEXT PRIMARY KEY NOT NULL, destroyed_at_ms INTEGER NOT NULL, reason TEXT NOT NULL);
                """)
        }
        migrator.registerMigration("v4-recipients") { db in
            // The agencies a school shares bundles with: an age X25519 recipient, or a passphrase
            // (made at release and given out of band; never stored).
            try db.execute(sql: """
                CREATE TABLE recipients (
                    school TEXT NOT NULL, name TEXT NOT NULL, contact TEXT NOT NULL, age_recipient TEXT,
                    created_by TEXT NOT NULL, created_at_ms INTEGER NOT NULL, PRIMARY KEY (school, name));
                """)
        }
        migrator.registerMigration("v5-bundles") { db in
            // Bundles shared with a recipient: a draft by one DSL or deputy, released by another.
            // The draft's choices (modes, rectangles, terms) are sealed under the school's bundle
            // KEK, because terms are third parties' names; they are dropped at release.
            try db.execute(sql: """
                CREATE TABLE bundles (
                    id TEXT PRIMARY KEY, school TEXT NOT NULL, recipient TEXT NOT NULL, reason TEXT NOT NULL,
                    state TEXT NOT NULL CHECK (state IN ('draft', 'releasing', 'released')), claim TEXT, claimed_at_ms INTEGER,
                    created_by TEXT NOT NULL, created_at_ms INTEGER NOT NULL,
                    approved_by TEXT, released_at_ms INTEGER,
                    sealed_items BLOB, sealed_kek TEXT,
                    archive_sha256 TEXT, archive_size INTEGER,
                    link_hash BLOB UNIQUE, receipt_hash BLOB UNIQUE, link_expires_ms INTEGER, link_max_downloads INTEGER,
                    link_downloads INTEGER NOT NULL DEFAULT 0, link_revoked_ms INTEGER, receipt_at_ms INTEGER);
                CREATE INDEX bundles_school ON bundles (school, created_at_ms);
                CREATE TABLE bundle_items (
                    bundle TEXT NOT NULL REFERENCES bundles (id), position INTEGER NOT NULL, record TEXT NOT NULL,
                    school TEXT NOT NULL, child TEXT NOT NULL, mode TEXT NOT NULL,
                    -- the record actually read, when a redacted copy was shared in its place (set at release)
                    source TEXT,
                    PRIMARY KEY (bundle, position));
                CREATE INDEX bundle_items_child ON bundle_items (school, child);
                """)
        }
        migrator.registerMigration("v6-derived") { db in
            // A redacted PDF a DSL uploads of an office document names the record it was made from.
            try db.execute(sql: """
                ALTER TABLE records ADD COLUMN derived_from TEXT;
                CREATE INDEX records_derived_from ON records (derived_from) WHERE derived_from IS NOT NULL;
                """)
        }
        return migrator
    }

    static func describe(_ error: DatabaseError) -> String {
        // Only the SQLite result and its message: never the SQL arguments, which may hold ids.
        "\(error.resultCode): \(error.message ?? "no message")"
    }

    func guarded<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as DatabaseError {
            throw StorageError.from(error)
        }
    }

    var nowMillis: Int64 { Int64((clock().timeIntervalSince1970 * 1000).rounded(.down)) }

    // MARK: writes

    @discardableResult
    public func commitRecord(_ record: EvidenceRecord, event: AuditEntry, signer: AuditSigner?) throws -> AuditEvent {
        try auditedWrite { db in
            try Self.requireLiveKEK(db, record.kekID)
            try record.insert(db)
            return try self.appendLocked(db, [event], signer: signer)[0]
        }
    }

    @discardableResult
    public func append(_ entries: [AuditEntry], signer: AuditSigner?) throws -> [AuditEvent] {
        try auditedWrite { db in try self.appendLocked(db, entries, signer: signer) }
    }

    /// A write that carries audit events, through group commit. Any database failure means the
    /// events are not durable, which callers must treat as "do not go on".
    func auditedWrite<T>(_ work: @escaping (Database) throws -> T) throws -> T {
        do {
            return try committer.run(work)
        } catch let error as DatabaseError where StorageError.isOutOfSpace(error) {
            // Not written for want of space: said so, since freeing space is the remedy.
            throw StorageError.from(error)
        } catch let error as DatabaseError {
            throw StorageError.auditUnavailable(Self.describe(error))
        } catch StorageError.database(let why) {
            // A read inside the write failed the same way (read-only or full database).
            throw StorageError.auditUnavailable(why)
        }
    }

    /// A data key must not be committed under a KEK another process has just destroyed.
    static func requireLiveKEK(_ db: Database, _ id: String) throws {
        if try Bool.fetchOne(db.cachedStatement(sql: "SELECT 1 FROM destroyed_keks WHERE id = ?"), arguments: [id]) == true {
            throw StorageError.kekDestroyed(id)
        }
    }

    /// Successful events of keyed actions with `size` < seq (< `before`), the first five.
    static func keyedEvents(_ db: Database, after size: Int, before: Int?) throws -> [(sequence: Int64, action: String)] {
        let rows = try Row.fetchAll(db.cachedStatement(sql: """
            SELECT seq, action FROM audit_events
            WHERE seq > ? AND seq < ? AND outcome = 'ok' AND action IN (\(AuditEvent.keyedActionsSQL))
            ORDER BY seq LIMIT 5
            """), arguments: [size, before ?? Int.max])
        return rows.map { ($0[0], $0[1]) }
    }

    /// Signs one checkpoint for the whole group at the head it reached. Before signing, the log
    /// since the last checkpoint is checked: it may hold keyless processes' events, but no event
    /// only a keyed process writes, since that process would have signed it. Otherwise the log
    /// was rewritten by someone without the key, and signing now would bless the rewrite.
    private func signGroup(_ db: Database) throws {
        let start = groupStart, startRoot = groupStartRoot
        groupStart = nil
        groupStartRoot = nil
        guard let signer = groupSigner else { return }
        groupSigner = nil
        // Older checkpoints of the window are pruned below only when the newest one is checked
        // here against the log as it stood when the group began: its signature, and its root
        // when it was signed at that very size. Otherwise they stay, for audit verify to use.
        var newestChecked = false
        if let start {
            let newest = try Row.fetchOne(db.cachedStatement(sql: "SELECT * FROM audit_checkpoints ORDER BY tree_size DESC LIMIT 1")).map(checkpoint)
            let signed = newest?.treeSize ?? 0
            if let newest {
                guard newest == lastSigned || newest.verifySignature(publicKey: signer.publicKey) else {
                    throw StorageError.auditUnavailable(
                        "the newest audit checkpoint (at \(newest.treeSize) events) does not carry the vault's signature: the log may have been tampered with; run strongroom audit verify")
                }
                if newest.treeSize == start, let startRoot {
                    guard newest.root == startRoot else {
                        throw StorageError.auditUnavailable(
                            "the audit log's first \(start) events no longer match the checkpoint signed at that size: the log was rewritten; run strongroom audit verify")
                    }
                    newestChecked = true
                }
            }
            if let first = try Self.keyedEvents(db, after: signed, before: start + 1).first {
                throw StorageError.auditUnavailable(
                    "audit event \(first.sequence) (\(first.action)) is one only a process with the vault key writes, yet no signed checkpoint covers it: the log may have been rewritten; run strongroom audit verify")
            }
        }
        guard let head = try Row.fetchOne(db.cachedStatement(sql: "SELECT tree_size, frontier FROM audit_head WHERE id = 1")),
              let frontier = TreeFrontier(serialized: [UInt8](head["frontier"] as Data)) else {
            throw StorageError.auditUnavailable("the audit head is missing or malformed; run audit verify")
        }
        let size = frontier.size
        guard size > 0 else { return }
        let now = nowMillis
        let checkpoint = try Checkpoint.sign(vaultID: vaultID, treeSize: size, root: frontier.root, timeMillis: now, signer: signer)
        lastSigned = checkpoint
        try db.execute(
            sql: "INSERT OR REPLACE INTO audit_checkpoints (tree_size, root, time_ms, key_id, signature) VALUES (?, ?, ?, ?, ?)",
            arguments: [size, Data(frontier.root), now, checkpoint.keyID, Data(base64Encoded: checkpoint.signature)!])
        guard newestChecked else { return }
        let window = Self.checkpointWindow
        try db.execute(
            sql: "DELETE FROM audit_checkpoints WHERE tree_size < ? AND (tree_size - 1) / ? = (? - 1) / ?",
            arguments: [size, window, size, window])
    }

    func appendLocked(_ db: Database, _ entries: [AuditEntry], signer: AuditSigner?) throws -> [AuditEvent] {
        guard let head = try Row.fetchOne(db.cachedStatement(sql: "SELECT tree_size, last_hash, frontier FROM audit_head WHERE id = 1")),
              var frontier = TreeFrontier(serialized: [UInt8](head["frontier"] as Data)) else {
            throw StorageError.auditUnavailable("the audit head is missing or malformed; run audit verify")
        }
        var size: Int = head["tree_size"]
        var last = [UInt8](head["last_hash"] as Data)
        guard frontier.size == size else { throw StorageError.auditUnavailable("the audit head disagrees with its tree; run audit verify") }
        if groupStart == nil {
            groupStart = size
            groupStartRoot = frontier.root
        }
        let now = nowMillis
        let insert = try db.cachedStatement(sql: """
            INSERT INTO audit_events (seq, time_ms, actor, action, outcome, school, child, concern, record, reason, prev_hash, hash)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """)
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
            try insert.execute(
                arguments: [event.sequence, event.timeMillis, event.actor, event.action, event.outcome, event.school,
                            event.child, event.concern, event.record, event.reason, Data(event.previousHash), Data(event.hash)])
            frontier.append(event.hash)
            last = event.hash
            size += 1
            written.append(event)
        }
        try db.cachedStatement(sql: "UPDATE audit_head SET tree_size = ?, last_hash = ?, frontier = ? WHERE id = 1")
            .execute(arguments: [size, Data(last), Data(frontier.serialized)])
        if let signer { groupSigner = signer }
        CrashPoint.hit("audit-appended")
        return written
    }

    // MARK: users

    public func addUser(_ user: UserAccount, event: AuditEntry, signer: AuditSigner?) throws {
        try auditedWrite { db in
            if let existing = try UserAccount.fetchOne(db, key: user.name) {
                guard existing.isRevoked else { throw StorageError.userExists(user.name) }
                try existing.delete(db)
            }
            try user.insert(db)
            _ = try self.appendLocked(db, [event], signer: signer)
        }
    }

    public func revokeUser(_ revoked: UserAccount, event: AuditEntry, signer: AuditSigner?) throws {
        try auditedWrite { db in
            guard let user = try UserAccount.fetchOne(db, key: revoked.name), !user.isRevoked, revoked.isRevoked else {
                throw StorageError.userNotFound(revoked.name)
            }
            try revoked.update(db)
            _ = try self.appendLocked(db, [event], signer: signer)
        }
    }

    public func users() throws -> [UserAccount] {
        try guarded { try pool.read { try UserAccount.order(Column("name")).fetchAll($0) } }
    }

    /// Every request asks this: one prepared statement, one statement (so no transaction).
    public func user(tokenHash: Data) throws -> UserAccount? {
        try guarded {
            try pool.unsafeRead { db in
                try UserAccount.fetchOne(db.cachedStatement(sql: "SELECT * FROM users WHERE token_hash = ?"), arguments: [tokenHash])
            }
        }
    }

    // MARK: reads

    /// Every download and metadata read asks this: one prepared statement, and one statement,
    /// which SQLite reads from a single snapshot without an explicit transaction.
    public func record(id: String) throws -> EvidenceRecord? {
        try guarded {
            try pool.unsafeRead { db in
                try EvidenceRecord.fetchOne(db.cachedStatement(sql: "SELECT * FROM records WHERE id = ?"), arguments: [id])
            }
        }
    }

    public func records(matching filter: RecordFilter) throws -> [EvidenceRecord] {
        try guarded {
            try pool.read { db in
                var request = EvidenceRecord.all()
                if let school = filter.school { request = request.filter(EvidenceRecord.Columns.school == school) }
                if let child = filter.child { request = request.filter(EvidenceRecord.Columns.child == child) }
                if let concern = filter.concern { request = request.filter(EvidenceRecord.Columns.concern == concern) }
                if let createdBy = filter.createdBy { request = request.filter(EvidenceRecord.Columns.createdBy == createdBy) }
                if let schools = filter.schools { request = request.filter(schools.contains(EvidenceRecord.Columns.school)) }
                request = request.order(EvidenceRecord.Columns.createdAtMillis, EvidenceRecord.Columns.id)
                if let limit = filter.limit { request = request.limit(limit, offset: filter.offset) }
                return try request.fetchAll(db)
            }
        }
    }

    public func allRecordIDs() throws -> Set<String> {
        try guarded { Set(try pool.read { try String.fetchAll($0, sql: "SELECT id FROM records") }) }
    }

    public func auditReasons(action: String) throws -> [String] {
        try guarded {
            try pool.read { try String.fetchAll($0, sql: "SELECT reason FROM audit_events WHERE action = ? AND reason IS NOT NULL", arguments: [action]) }
        }
    }

    public func filedRecords() throws -> [String: FiledRecord] {
        try guarded {
            try pool.read { db in
                var out: [String: FiledRecord] = [:]
                let rows = try Row.fetchCursor(db, sql: """
                    SELECT record, school, child, concern FROM audit_events
                    WHERE action = 'put' AND outcome = 'ok' AND record IS NOT NULL
                    """)
                while let row = try rows.next() {
                    out[row[0]] = FiledRecord(school: row[1], child: row[2], concern: row[3])
                }
                return out
            }
        }
    }

    public func events(record: String?) throws -> [AuditEvent] {
        try guarded {
            try pool.read { db in
                let rows = record == nil
                    ? try Row.fetchCursor(db, sql: "SELECT * FROM audit_events ORDER BY seq")
                    : try Row.fetchCursor(db, sql: "SELECT * FROM audit_events WHERE record = ? ORDER BY seq", arguments: [record])
                var out: [AuditEvent] = []
                while let row = try rows.next() { out.append(Self.event(row)) }
                return out
            }
        }
    }

    static func event(_ row: Row) -> AuditEvent {
        AuditEvent(
            sequence: row[0], timeMillis: row[1], actor: row[2], action: row[3], outcome: row[4],
            school: row[5], child: row[6], concern: row[7], record: row[8], reason: row[9],
            previousHash: [UInt8](row[10] as Data? ?? Data()), hash: [UInt8](row[11] as Data? ?? Data()))
    }

    public func latestCheckpoint() throws -> Checkpoint? {
        try guarded {
            try pool.read { db in
                try Row.fetchOne(db, sql: "SELECT * FROM audit_checkpoints ORDER BY tree_size DESC LIMIT 1").map(checkpoint)
            }
        }
    }

    func checkpoint(_ row: Row) -> Checkpoint {
        Checkpoint(
            vaultID: vaultID, treeSize: row["tree_size"], rootHash: Hex.encode([UInt8](row["root"] as Data)),
            timeMillis: row["time_ms"], keyID: row["key_id"], signature: (row["signature"] as Data).base64EncodedString())
    }

    public func auditSnapshot(_ body: (AuditSnapshot) throws -> Void) throws {
        try guarded {
            try pool.read { db in
                let headRow = try Row.fetchOne(db, sql: "SELECT tree_size, last_hash, frontier FROM audit_head WHERE id = 1")
                let head = headRow.map { row in
                    (size: row["tree_size"] as Int, lastHash: [UInt8](row["last_hash"] as Data),
                     frontier: TreeFrontier(serialized: [UInt8](row["frontier"] as Data)))
                }
                let checkpoints = try Row.fetchAll(db, sql: "SELECT * FROM audit_checkpoints ORDER BY tree_size").map(checkpoint)
                let orphans = try String.fetchAll(db, sql: """
                    SELECT id FROM records WHERE id NOT IN
                        (SELECT record FROM audit_events WHERE action = 'put' AND outcome = 'ok' AND record IS NOT NULL)
                    ORDER BY id
                    """)
                try body(SQLiteAuditSnapshot(db: db, head: head, checkpoints: checkpoints, recordsWithoutPutEvent: orphans))
            }
        }
    }
}

struct SQLiteAuditSnapshot: AuditSnapshot {
    let db: Database
    let head: (size: Int, lastHash: [UInt8], frontier: TreeFrontier?)?
    let checkpoints: [Checkpoint]
    let recordsWithoutPutEvent: [String]

    func keyedEvents(after size: Int) throws -> [(sequence: Int64, action: String)] {
        try SQLiteCatalog.keyedEvents(db, after: size, before: nil)
    }

    /// Reads the columns straight from SQLite's row buffers (no Swift strings, no copies) and
    /// hashes them in `AuditEvent.canonicalBytes` order: a million events verify in seconds.
    func forEachLink(_ body: (AuditLink) throws -> Void) throws {
        let statement = try db.makeStatement(
            sql: "SELECT seq, time_ms, actor, action, outcome, school, child, concern, record, reason, prev_hash, hash FROM audit_events ORDER BY seq")
        let s = statement.sqliteStatement
        func column(_ i: CInt) -> UnsafeRawBufferPointer? {
            // sqlite3_column_blob before sqlite3_column_bytes, as SQLite documents.
            guard let pointer = sqlite3_column_blob(s, i) else { return nil }
            return UnsafeRawBufferPointer(start: pointer, count: Int(sqlite3_column_bytes(s, i)))
        }
        func bytes(_ i: CInt) -> [UInt8] { column(i).map { Array($0) } ?? [] }
        var hasher = AuditLeafHasher()
        let rows = try Row.fetchCursor(statement)
        while try rows.next() != nil {
            let sequence = sqlite3_column_int64(s, 0)
            hasher.begin(sequence: sequence, timeMillis: sqlite3_column_int64(s, 1))
            for i in CInt(2)...CInt(10) { hasher.append(column(i)) }
            try body(AuditLink(sequence: sequence, previousHash: bytes(10), hash: bytes(11), contentHash: hasher.finish()))
        }
    }
}

extension SQLiteCatalog {
    /// Closes every connection; later calls fail with a database error.
    public func close() {
        try? pool.close()
    }
}
