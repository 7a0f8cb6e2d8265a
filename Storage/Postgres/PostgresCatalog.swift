import Foundation
import KeyManagement
import PostgresNIO

/// The catalog in PostgreSQL, for a deployment of several nodes: the same operations as the
/// embedded catalog (`RelationalCatalog`), on a database every node shares.
///
/// The audit log stays one hash chain and one Merkle tree for the whole deployment: every
/// write first locks the log's head row (`SELECT ... FOR UPDATE`), so writes from all nodes
/// take turns as SQLite's single writer makes them, each node grouping its own callers into one
/// transaction (group commit) and signing one checkpoint per group, over a tree it proved itself
/// from the stored events, other nodes' included. Reads run in REPEATABLE READ transactions, so
/// each sees one committed state. docs/storage-postgres.md has the design.
public final class PostgresCatalog: RelationalCatalog, Catalog, @unchecked Sendable {
    let pool: PostgresPool
    public var location: PostgresLocation { pool.location }

    public struct Options: Sendable {
        /// The witness signed checkpoints are copied to, and proved against before signing.
        public var witness: AuditWitness?
        /// Connections this node opens at most.
        public var connections = PostgresPool.defaultSize
        public init() {}
    }

    /// Creates the catalog of a new vault in an empty database (or one whose schema holds no
    /// vault yet); refuses a database that already holds a store.
    public static func create(
        location: PostgresLocation, password: String?, vaultID: String, clock: @escaping @Sendable () -> Date = Date.init,
        options: Options = Options()
    ) throws -> PostgresCatalog {
        let catalog = try PostgresCatalog(location: location, password: password, vaultID: vaultID, clock: clock, options: options, creating: true)
        do {
            try catalog.guarded {
                try catalog.pool.transaction { sql in
                    try sql.execute("LOCK TABLE vault IN EXCLUSIVE MODE")
                    if try sql.exists("SELECT 1 FROM vault WHERE key = 'vault_id'") {
                        throw StorageError.database("\(location.description) already holds a Strongroom store; refusing to overwrite it")
                    }
                    try sql.execute("INSERT INTO vault (key, value) VALUES ('vault_id', ?), ('format_version', '1')", [vaultID])
                    try sql.execute(
                        "INSERT INTO audit_head (id, tree_size, last_hash, frontier) VALUES (1, 0, ?, ?)",
                        [Data(AuditEvent.genesisHash(vaultID: vaultID)), Data(TreeFrontier().serialized)])
                }
            }
        } catch {
            catalog.close()
            throw error
        }
        return catalog
    }

    /// Opens an existing vault's catalog; `vaultID` must match the one it was created with.
    public static func open(
        location: PostgresLocation, password: String?, vaultID: String, clock: @escaping @Sendable () -> Date = Date.init,
        options: Options = Options()
    ) throws -> PostgresCatalog {
        let catalog = try PostgresCatalog(location: location, password: password, vaultID: vaultID, clock: clock, options: options, creating: false)
        do {
            let stored = try catalog.vaultSetting("vault_id")
            guard let stored else { throw StorageError.database("\(location.description) holds no Strongroom store; run strongroom init") }
            guard stored == vaultID else {
                throw StorageError.database("\(location.description) belongs to another vault than this key store")
            }
        } catch {
            catalog.close()
            throw error
        }
        return catalog
    }

    /// The key store and deletion ledger kept in this database (migrated first: a store's key
    /// store is made before its catalog is).
    public static func keyFiles(location: PostgresLocation, password: String?) throws -> PostgresKeyFiles {
        // Every decrypt asks for the key store's version: a few at once.
        let pool = try PostgresPool(location: location, password: password, size: 4)
        do {
            try migrate(pool)
        } catch {
            pool.close()
            throw (error as? StorageError) ?? StorageError.databaseUnavailable("\(location.description) did not answer")
        }
        return PostgresKeyFiles(pool: pool)
    }

    /// The vault id a database holds, or nil when it holds none (read before any key is).
    public static func storedVaultID(location: PostgresLocation, password: String?) throws -> String? {
        let pool = try PostgresPool(location: location, password: password, size: 1)
        defer { pool.close() }
        return try pool.with { sql in
            guard try sql.exists("SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'vault'") else {
                return nil
            }
            return try sql.value(String.self, "SELECT value FROM vault WHERE key = 'vault_id'")
        }
    }

    private init(
        location: PostgresLocation, password: String?, vaultID: String, clock: @escaping @Sendable () -> Date, options: Options,
        creating: Bool
    ) throws {
        pool = try PostgresPool(location: location, password: password, size: options.connections)
        super.init(vaultID: vaultID, clock: clock, witness: options.witness, isNew: creating)
        committer = makeCommitter()
        do {
            try guarded { try Self.migrate(pool) }
        } catch {
            pool.close()
            throw error
        }
    }

    /// Applies the migrations this database lacks, one node at a time (an advisory lock), and
    /// refuses a database a newer Strongroom has migrated.
    static func migrate(_ pool: PostgresPool) throws {
        let location = pool.location
        try pool.transaction { sql in
            // A migration may rewrite large tables, and other nodes starting meanwhile wait for
            // it: neither the usual lock timeout nor the answer backstop applies (an hour, the
            // commit included; this connection's settings end with the transaction).
            sql.answerTimeout = .hours(1)
            try sql.execute("SET LOCAL lock_timeout = 0")
            try sql.execute("SET LOCAL statement_timeout = 0")
            try sql.execute("SELECT pg_advisory_xact_lock(\(Self.migrationLock))")
            try sql.execute("CREATE TABLE IF NOT EXISTS strongroom_migrations (name TEXT PRIMARY KEY NOT NULL, applied_at_ms BIGINT NOT NULL)")
            let applied = Set(try sql.values(String.self, "SELECT name FROM strongroom_migrations"))
            let known = Set(PostgresSchema.migrations.map(\.name))
            if !applied.isSubset(of: known) {
                throw StorageError.unsupportedFormat("\(location.description) was written by a newer Strongroom")
            }
            for migration in PostgresSchema.migrations where !applied.contains(migration.name) {
                try sql.executeScript(migration.sql)
                try sql.execute(
                    "INSERT INTO strongroom_migrations (name, applied_at_ms) VALUES (?, ?)",
                    [migration.name, Int64(Date().timeIntervalSince1970 * 1000)])
            }
        }
    }

    /// The advisory lock key migrations take (any fixed number; "SRMG" in ASCII).
    static let migrationLock: Int64 = 0x5352_4D47

    /// Closes every connection; later calls fail. Writes the newest checkpoint still waiting
    /// for the witness.
    public func close() {
        pool.close()
        witness?.flush()
    }

    // MARK: the engine

    override func read<T>(_ body: (any CatalogSQL) throws -> T) throws -> T {
        try pool.transaction(begin: "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") { try body($0) }
    }

    /// One statement is its own snapshot.
    override func quickRead<T>(_ body: (any CatalogSQL) throws -> T) throws -> T {
        try pool.with { try body($0) }
    }

    /// Writes take the log's head lock first, as audited ones do: every write of every node
    /// then sees the state the one before it left, as with SQLite's single writer.
    override func write<T>(_ body: (any CatalogSQL) throws -> T) throws -> T {
        try pool.transaction { sql in
            try lockHead(sql)
            return try body(sql)
        }
    }

    /// A write to state that is not the record (sign-in's challenges and guess counts): no turn
    /// on the log's head, and the commit does not wait for the disk.
    func scratchWrite<T>(_ body: (any CatalogSQL) throws -> T) throws -> T {
        try pool.transaction { sql in
            try sql.execute("SET LOCAL synchronous_commit TO OFF")
            return try body(sql)
        }
    }

    override func transaction(_ body: (any CatalogSQL) throws -> Void) throws {
        try pool.transaction { try body($0) }
    }

    override func beginGroup(_ db: any CatalogSQL) throws {
        try lockHead(db)
    }

    private func lockHead(_ db: any CatalogSQL) throws {
        guard try db.execute("SELECT tree_size FROM audit_head WHERE id = 1 FOR UPDATE") == 1 else {
            throw StorageError.auditUnavailable("the audit head is missing; run audit verify")
        }
    }

    override func storageError(_ error: any Error) -> StorageError? {
        if let error = error as? StorageError { return error }
        if PostgresPool.isConnectionFailure(error) {
            return .databaseUnavailable("\(location.description) did not answer")
        }
        if let error = error as? PSQLError {
            // The SQLSTATE and the object's name only: PostgreSQL's message and detail can
            // repeat the values of the statement, which may hold ids or names.
            let state = error.serverInfo?[.sqlState] ?? "unknown"
            if state == "53100" { return .outOfSpace("the metadata database") }
            // A deadlock or serialization failure: rolled back, and the same request succeeds
            // when sent again (503, not 500).
            if state == "40P01" || state == "40001" {
                return .databaseUnavailable("\(location.description) rolled back a transaction that met another (SQLSTATE \(state)); try again")
            }
            var what = "PostgreSQL refused the statement (SQLSTATE \(state)"
            if let constraint = error.serverInfo?[.constraintName] { what += ", constraint \(constraint)" }
            return .database(what + ")")
        }
        return nil
    }
}
