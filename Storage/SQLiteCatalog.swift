import Foundation
import GRDB
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
    /// The tree size when the group being committed began (its first append): keyed events up
    /// to it are other processes' and must lie under their checkpoints.
    private var groupStart: Int?
    /// The stored log as this process last proved it (AuditConsistency), after its last
    /// committed signature; nil until its first. Touched only on the writer's queue.
    private var proven: ProvenLog?
    /// The checkpoint this process signed last: met again, its signature needs no second check.
    private(set) var lastSigned: Checkpoint?
    /// Where each signed checkpoint is also written, outside the database (docs/audit.md).
    public let witness: AuditWitness?
    /// Made by this process (`create`): its log may start empty. Any other log must begin with
    /// the vault's init event.
    private let isNew: Bool
    let clock: @Sendable () -> Date

    public struct Options: Sendable {
        public var busyTimeout: TimeInterval = 10
        public var readOnly = false
        /// Runs on every new connection; tests use it to inject failures (e.g. a full disk).
        public var prepareConnection: (@Sendable (Database) throws -> Void)?
        /// The witness signed checkpoints are copied to, and proved against before signing.
        public var witness: AuditWitness?
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
        self.witness = options.witness
        self.isNew = creating
        do {
            pool = try DatabasePool(path: path, configuration: config)
            committer = GroupCommit(
                writer: pool,
                // A group that failed before signing must leave nothing for the next one.
                beginGroup: { [unowned self] _ in groupStart = nil; groupSigner = nil },
                finishGroup: { [unowned self] db in try self.signGroup(db) })
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
        migrator.registerMigration("v7-void-shred-requests") { _ in
            // No table changes: a shred request can now be 'void' (a legal hold covered one of its
            // records after it was made). Registering the migration makes older builds, which read
            // an unknown state as pending, refuse this database instead of approving a void request.
        }
        migrator.registerMigration("v8-account-ids") { db in
            // An account is an id, not a name: rows are keyed by a random id and kept when revoked
            // (so no id is given out twice), and at most one active row holds a name. Existing
            // rows get an id derived from their signature (UserAccount.migratedID), which does not
            // cover it: they stay at signature format 1, honoured by nothing, until a process with
            // the master key checks both and re-signs them (Vault.upgradeUserSignatures).
            try db.execute(sql: """
                CREATE TABLE users_v8 (
                    id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL, role TEXT NOT NULL, schools TEXT NOT NULL,
                    token_hash BLOB NOT NULL UNIQUE, created_at_ms INTEGER NOT NULL, created_by TEXT NOT NULL,
                    revoked_at_ms INTEGER, signature BLOB NOT NULL, signature_format INTEGER NOT NULL);
                """)
            let insert = try db.makeStatement(sql: """
                INSERT INTO users_v8 (id, name, role, schools, token_hash, created_at_ms, created_by, revoked_at_ms, signature, signature_format)
                SELECT ?, name, role, schools, token_hash, created_at_ms, created_by, revoked_at_ms, signature, 1 FROM users WHERE name = ?
                """)
            for row in try Row.fetchAll(db, sql: "SELECT name, signature FROM users") {
                try insert.execute(arguments: [UserAccount.migratedID(signature: row["signature"]), row["name"] as String])
            }
            // Uploads and pending shred requests are the account's that holds the name now only if
            // it is active and already existed then: before ids, a name revoked and added again
            // replaced the old row, so an older upload under that name was another account's, and
            // is left with none (its school's DSLs still see it; no staff member does).
            try db.execute(sql: """
                DROP TABLE users;
                ALTER TABLE users_v8 RENAME TO users;
                CREATE UNIQUE INDEX users_active_name ON users (name) WHERE revoked_at_ms IS NULL;
                ALTER TABLE records ADD COLUMN created_by_account TEXT;
                UPDATE records SET created_by_account = (
                    SELECT u.id FROM users u WHERE u.revoked_at_ms IS NULL AND 'user:' || u.name = records.created_by
                        AND u.created_at_ms <= records.created_at_ms)
                    WHERE created_by LIKE 'user:%';
                ALTER TABLE shred_requests ADD COLUMN requested_account TEXT;
                UPDATE shred_requests SET requested_account = (
                    SELECT u.id FROM users u WHERE u.revoked_at_ms IS NULL AND 'user:' || u.name = shred_requests.requested_by
                        AND u.created_at_ms <= shred_requests.requested_at_ms)
                    WHERE state = 'pending';
                """)
        }
        migrator.registerMigration("v9-hold-releases") { db in
            // Releasing a hold takes two people: the pending request (who, which account and role,
            // when, why) sits on the hold until a different person approves it.
            try db.execute(sql: """
                ALTER TABLE holds ADD COLUMN release_requested_by TEXT;
                ALTER TABLE holds ADD COLUMN release_requested_account TEXT;
                ALTER TABLE holds ADD COLUMN release_requested_role TEXT;
                ALTER TABLE holds ADD COLUMN release_requested_at_ms INTEGER;
                ALTER TABLE holds ADD COLUMN release_request_reason TEXT;
                """)
        }
        migrator.registerMigration("v10-checkpoint-frontier") { db in
            // Each checkpoint keeps the tree's right edge at its size: the next keyed process
            // proves the stored log from there (docs/audit.md) instead of from the first event.
            try db.execute(sql: "ALTER TABLE audit_checkpoints ADD COLUMN frontier BLOB")
        }
        registerSignInMigration(&migrator)
        registerLabelMigration(&migrator)
        registerBundleReturnMigration(&migrator)
        registerShredWithdrawalMigration(&migrator)
        registerRoleApprovalMigration(&migrator)
        registerTransferMigration(&migrator)
        return migrator
    }

    /// A store-wide setting kept beside the vault id (where the blobs are), or nil.
    public func vaultSetting(_ key: String) throws -> String? {
        try guarded { try pool.read { try String.fetchOne($0, sql: "SELECT value FROM vault WHERE key = ?", arguments: [key]) } }
    }

    public func setVaultSetting(_ key: String, _ value: String) throws {
        try guarded { try pool.write { try $0.execute(sql: "INSERT OR REPLACE INTO vault (key, value) VALUES (?, ?)", arguments: [key, value]) } }
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
        } catch StorageError.auditRewritten(let why) {
            // The refusal is audited where it can be: unsigned, as keyless work is, so it
            // vouches for nothing, and the next keyed process refuses the same way.
            _ = try? committer.run { db in
                try self.appendLocked(db, [AuditEntry(actor: .vault, action: .signRefused, outcome: .failed, reason: why)], signer: nil)
            }
            throw StorageError.auditRewritten(why)
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

    /// Signs one checkpoint for the whole group at the head it reached, over a tree this process
    /// computed itself: the stored log is first proved an append-only extension of what the
    /// process proved before (or, the first time, of the newest signed checkpoint and of the
    /// witness's), so a log rewritten by someone without the key is refused, never signed over.
    private func signGroup(_ db: Database) throws {
        let start = groupStart
        groupStart = nil
        guard let signer = groupSigner, let start else { return }
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
        guard size > 0 else { return }
        let now = nowMillis
        let root = log.frontier.root
        let checkpoint = try Checkpoint.sign(vaultID: vaultID, treeSize: size, root: root, timeMillis: now, signer: signer)
        try db.execute(
            sql: "INSERT OR REPLACE INTO audit_checkpoints (tree_size, root, time_ms, key_id, signature, frontier) VALUES (?, ?, ?, ?, ?, ?)",
            arguments: [size, Data(root), now, checkpoint.keyID, Data(base64Encoded: checkpoint.signature)!, Data(log.frontier.serialized)])
        // The checkpoints of this window from where the proof started were met by it or are where
        // it started, so the new one proves whatever they proved: only those are thinned. Older
        // ones (below a first proof's starting point) are kept, whatever they say.
        let window = Self.checkpointWindow
        try db.execute(
            sql: "DELETE FROM audit_checkpoints WHERE tree_size < ? AND tree_size >= ? AND (tree_size - 1) / ? = (? - 1) / ?",
            arguments: [size, from, window, size, window])
        db.afterNextTransaction { [self] _ in
            proven = log
            lastSigned = checkpoint
            witness?.offer(checkpoint)
        }
    }

    func appendLocked(_ db: Database, _ entries: [AuditEntry], signer: AuditSigner?) throws -> [AuditEvent] {
        guard let head = try Row.fetchOne(db.cachedStatement(sql: "SELECT tree_size, last_hash, frontier FROM audit_head WHERE id = 1")),
              var frontier = TreeFrontier(serialized: [UInt8](head["frontier"] as Data)) else {
            throw StorageError.auditUnavailable("the audit head is missing or malformed; run audit verify")
        }
        var size: Int = head["tree_size"]
        var last = [UInt8](head["last_hash"] as Data)
        guard frontier.size == size else { throw StorageError.auditUnavailable("the audit head disagrees with its tree; run audit verify") }
        if groupStart == nil { groupStart = size }
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
            // A revoked account keeps its row (and its id); only an active one holds the name.
            if try UserAccount.filter(Column("name") == user.name && Column("revoked_at_ms") == nil).fetchCount(db) > 0 {
                throw StorageError.userExists(user.name)
            }
            try user.insert(db)
            _ = try self.appendLocked(db, [event], signer: signer)
        }
    }

    public func revokeUser(_ revoked: UserAccount, event: AuditEntry, signer: AuditSigner?) throws {
        try auditedWrite { db in
            guard let user = try UserAccount.fetchOne(db, key: revoked.id), user.name == revoked.name, !user.isRevoked, revoked.isRevoked else {
                throw StorageError.userNotFound(revoked.name)
            }
            try revoked.update(db)
            _ = try self.appendLocked(db, [event], signer: signer)
        }
    }

    public func users() throws -> [UserAccount] {
        try guarded { try pool.read { try UserAccount.order(Column("name"), Column("created_at_ms")).fetchAll($0) } }
    }

    public func upgradeUserSignatures(
        _ resign: ([UserAccount]) throws -> (rows: [UserAccount], event: AuditEntry), signer: AuditSigner?
    ) throws -> Int {
        try withoutActuallyEscaping(resign) { resign in
            try auditedWrite { db in
                let old = try UserAccount.filter(Column("signature_format") == 1).fetchAll(db)
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
                    try row.update(db)
                    updated += 1
                }
                // The rest are refused for good (format 0), so the refusal is reported once.
                let resigned = Set(rows.map(\.id))
                for row in old where !resigned.contains(row.id) {
                    try db.execute(sql: "UPDATE users SET signature_format = 0 WHERE id = ? AND signature_format = 1", arguments: [row.id])
                }
                _ = try self.appendLocked(db, [event], signer: signer)
                return updated
            }
        }
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
                if let account = filter.createdByAccount { request = request.filter(EvidenceRecord.Columns.createdByAccount == account) }
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

    public func proveAuditLog(publicKey: VaultPublicKey) throws {
        let outside = try witness?.newest(vaultID: vaultID, publicKey: publicKey)
        try guarded {
            try pool.read { db in
                let size = try AuditConsistency.head(db).size
                _ = try AuditConsistency.establish(
                    db, vaultID: vaultID, publicKey: publicKey, trusted: nil, outside: outside, keyedUpTo: size, newVault: false)
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
                let first = try Row.fetchOne(db, sql: "SELECT action, outcome FROM audit_events WHERE seq = 1")
                let beginsWithInit = first.map { $0[0] as String == "init" && $0[1] as String == AuditOutcome.ok.rawValue } ?? false
                try body(SQLiteAuditSnapshot(
                    db: db, head: head, checkpoints: checkpoints, recordsWithoutPutEvent: orphans, beginsWithInit: beginsWithInit))
            }
        }
    }
}

struct SQLiteAuditSnapshot: AuditSnapshot {
    let db: Database
    let head: (size: Int, lastHash: [UInt8], frontier: TreeFrontier?)?
    let checkpoints: [Checkpoint]
    let recordsWithoutPutEvent: [String]
    let beginsWithInit: Bool

    func keyedEvents(after size: Int) throws -> [(sequence: Int64, action: String)] {
        try SQLiteCatalog.keyedEvents(db, after: size, before: nil)
    }

    /// Every event in sequence order, hashed straight from SQLite's row buffers: a million
    /// events verify in seconds.
    func forEachLink(_ body: (AuditLink) throws -> Void) throws {
        try AuditConsistency.forEachLink(db, after: 0, body)
    }
}

extension SQLiteCatalog {
    /// Closes every connection (later calls fail with a database error) and writes the newest
    /// checkpoint still waiting for the witness.
    public func close() {
        try? pool.close()
        witness?.flush()
    }
}
