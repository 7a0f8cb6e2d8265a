import Foundation
import GRDB
import KeyManagement

/// The embedded catalog: one SQLite database (`metadata.sqlite`) in WAL mode with
/// synchronous=FULL, so a committed transaction survives power loss. Schema changes are named
/// migrations registered once and never edited (docs/formats.md lists them).
public final class SQLiteCatalog: RelationalCatalog, Catalog, @unchecked Sendable {
    public static let fileName = "metadata.sqlite"

    let pool: DatabasePool

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
        do {
            pool = try DatabasePool(path: path, configuration: config)
        } catch let error as DatabaseError {
            throw StorageError.from(error)
        }
        super.init(vaultID: vaultID, clock: clock, witness: options.witness, isNew: creating)
        committer = makeCommitter()
        do {
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

    // MARK: the engine

    override func read<T>(_ body: (any CatalogSQL) throws -> T) throws -> T {
        try pool.read { try body($0) }
    }

    /// One statement needs no transaction: SQLite reads it from a single snapshot.
    override func quickRead<T>(_ body: (any CatalogSQL) throws -> T) throws -> T {
        try pool.unsafeRead { try body($0) }
    }

    override func write<T>(_ body: (any CatalogSQL) throws -> T) throws -> T {
        try pool.write { try body($0) }
    }

    override func transaction(_ body: (any CatalogSQL) throws -> Void) throws {
        try pool.write { try body($0) }
    }

    override func storageError(_ error: any Error) -> StorageError? {
        if let error = error as? DatabaseError { return StorageError.from(error) }
        return error as? StorageError
    }

    /// SQLite's own: the write-ahead log is a file beside the database, where deleted rows can
    /// outlive their shred until it is written back and emptied.
    override public func purgeWriteAheadLog() throws {
        try guarded {
            // TRUNCATE waits for readers (busy timeout) and then empties the WAL file.
            try pool.writeWithoutTransaction { db in
                let result = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)")
                if let busy: Int = result?["busy"], busy != 0 {
                    throw StorageError.database("the write-ahead log could not be emptied while readers were active; it will be on the next shred or close")
                }
            }
        }
    }

    /// An audited write whose work needs GRDB itself (the engine's own files).
    func sqliteWrite<T>(_ work: @escaping (Database) throws -> T) throws -> T {
        try auditedWrite { try work($0 as! Database) }
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

    static func describe(_ error: DatabaseError) -> String {
        // Only the SQLite result and its message: never the SQL arguments, which may hold ids.
        "\(error.resultCode): \(error.message ?? "no message")"
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
