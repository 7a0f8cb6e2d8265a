import Foundation
import KeyManagement
import Storage

/// Moving an embedded store (a folder, blobs as files) into PostgreSQL and an object store
/// (docs/storage-postgres.md, "Moving an embedded store"). Nothing is decrypted or re-encrypted:
/// the catalog's rows, the key store and deletion ledger (same master key), the audit log with
/// its checkpoints and every blob move as they are, and the new store is then opened and checked.
extension Vault {
    public struct MigrationRequest: Sendable {
        /// The store folder to move; left as it was.
        public var source: StoreLayout
        public var metadata: PostgresLocation
        public var password: String?
        public var blobs: S3Location
        public var credentials: S3Credentials
        /// Opens the new store: the source's master key (a key file named on every command, or
        /// the passphrase). Used to sign the migration's event and to check the result.
        public var master: MasterKeySource
        public var caller: Caller
        public var clock: @Sendable () -> Date = Date.init
        /// Runs after everything is copied, before the source is read again (tests write to the
        /// source here, as a server left running would).
        var afterCopy: (@Sendable () throws -> Void)?

        public init(source: StoreLayout, metadata: PostgresLocation, password: String?, blobs: S3Location, credentials: S3Credentials,
                    master: MasterKeySource, by caller: Caller) {
            self.source = source
            self.metadata = metadata
            self.password = password
            self.blobs = blobs
            self.credentials = credentials
            self.master = master
            self.caller = caller
        }

        var options: Options {
            var options = Options()
            options.clock = clock
            options.metadata = .postgres(metadata, password: password)
            options.blobs = .objectStore(blobs, credentials)
            return options
        }
    }

    public struct MigrationSummary: Sendable, Codable {
        public var vaultID: String
        public var metadata: String
        public var blobs: String
        /// Rows copied per catalog table.
        public var tables: [String: Int]
        public var records: Int
        public var blobsCopied: Int
        public var bytesCopied: Int64
        public var ledgerEntries: Int
        /// What the check of the new store found: each a record id or table and what differs.
        public var problems: [String]
        public var auditEvents: Int
        public var isIntact: Bool { problems.isEmpty }
    }

    /// Moves the embedded store `request.source` into an empty database and bucket prefix,
    /// then opens the new store with the master key, appends a `migrate` event, and checks it:
    /// every table's rows counted against the source's, every record's blob present with its
    /// ciphertext hash (verify without decrypting), and the audit log verified. Problems found
    /// there are returned (`problems`); the migration itself throws on anything it cannot do.
    ///
    /// The source is held by its store lock, exclusively, for the whole move, and read in one
    /// transaction; if its rows changed meanwhile (a server still running), the move is refused.
    public static func migrate(_ request: MigrationRequest) throws -> MigrationSummary {
        try requireOperator(request.caller, "move a store")
        let source = request.source
        guard source.exists else { throw VaultError.storeMissing(source.root) }
        let lock = try StoreLock(
            path: source.lockFile, exclusive: true, wait: false,
            busy: "the store is in use (an upload, gc or a server); stop whatever serves it and try again")
        defer { withExtendedLifetime(lock) {} }
        try requireEmptyTarget(request)

        var readOnly = Options()
        readOnly.clock = request.clock
        readOnly.catalog.readOnly = true
        let old = try open(at: source, master: nil, options: readOnly)
        defer { old.close() }
        guard let oldCatalog = old.catalog as? SQLiteCatalog, let oldBlobs = old.blobs as? FileBlobStore else {
            throw VaultError.invalidArgument("only a store kept wholly in its folder can be moved")
        }
        let keyStoreBytes = try vaulting { try old.keyFiles.read(KeyStore.fileName) }
        guard let keyStoreBytes else { throw VaultError.storeMissing(source.root) }
        let ledgerBytes = try vaulting { try old.keyFiles.read(DeletionLedger.fileName) }

        // The key store and ledger first (a store's key store is made before its catalog), then
        // the catalog for the same vault, then the bucket's claim (it refuses a prefix holding
        // blobs, so it comes before them), then the blobs.
        let keyFiles = try vaulting { try PostgresCatalog.keyFiles(location: request.metadata, password: request.password) }
        try vaulting {
            try keyFiles.create(KeyStore.fileName, keyStoreBytes)
            if let ledgerBytes { try keyFiles.create(DeletionLedger.fileName, ledgerBytes) }
        }
        let catalog = try vaulting {
            try PostgresCatalog.create(location: request.metadata, password: request.password, vaultID: old.vaultID, clock: request.clock)
        }
        let tables: [String: Int]
        do {
            defer { catalog.close() }
            tables = try vaulting { try oldCatalog.copyCatalog(into: catalog) }
            try vaulting { try catalog.setVaultSetting(BlobBackend.settingKey, request.options.blobs.identity) }
        }
        let objects = S3BlobStore(client: S3Client(location: request.blobs, credentials: request.credentials), clock: request.clock)
        do { try objects.claim(vaultID: old.vaultID) } catch S3Error.invalidConfiguration(let why) {
            throw VaultError.misconfigured(why)
        }
        let records = try vaulting { try oldCatalog.records(matching: RecordFilter()) }
        let copied = try copyBlobs(records, from: oldBlobs, to: objects)
        try request.afterCopy?()
        // One read of the source after the move: a row written meanwhile was not moved, nor was
        // a key made or destroyed, or a shred added to the ledger, after the key files were read.
        let keysAfter = try vaulting { (try old.keyFiles.read(KeyStore.fileName), try old.keyFiles.read(DeletionLedger.fileName)) }
        guard try vaulting({ try oldCatalog.tableCounts() }) == tables, keysAfter.0 == keyStoreBytes, keysAfter.1 == ledgerBytes else {
            throw VaultError.busy("the store \(source.root) was written to during the move (is a server still running?): stop it, empty the target database and prefix, and move it again")
        }

        // The new store, opened as any node would open it, says it was moved and checks itself.
        let vault = try open(at: source, master: request.master, options: request.options)
        defer { vault.close() }
        let actor = request.caller.actor
        try vault.audit(AuditEntry(
            actor: actor, action: .migrate, outcome: .ok,
            reason: "moved from the embedded store \(LogText.escape(source.root)): \(records.count) records, \(copied.count) blobs"))
        var problems: [String] = []
        let counts = try vaulting { try relationalCatalog(of: vault).tableCounts() }
        // The move and the check add events, checkpoints and the blobs setting; nothing else changes.
        let growing: Set<String> = ["audit_events", "audit_checkpoints", "audit_head", "vault"]
        for (table, rows) in tables.sorted(by: { $0.key < $1.key }) where !growing.contains(table) && counts[table] != rows {
            problems.append("table \(table): \(rows) rows in the source, \(counts[table] ?? 0) in the new store")
        }
        if (counts["audit_events"] ?? 0) <= (tables["audit_events"] ?? 0) {
            problems.append("table audit_events: the new store holds fewer events than the source")
        }
        let report = try vault.verify(by: request.caller, useKeys: false)
        problems += report.missing.map { "record \($0): blob missing" }
        problems += report.damaged.map { "record \($0.record): \($0.kind)" }
        if report.records != records.count { problems.append("records: \(records.count) in the source, \(report.records) in the new store") }
        if let ledger = report.ledgerProblem { problems.append("deletion ledger: \(ledger)") }
        if let audit = report.auditProblem { problems.append("audit log: \(audit)") }
        if !report.vanished.isEmpty { problems.append("\(report.vanished.count) records the audit log names have no row") }
        let audit = try vault.verifyAudit(by: request.caller)
        problems += audit.problems.map { "audit log: \($0.kind.rawValue) \($0.detail)" }
        let ledgerEntries = try vaulting { try DeletionLedger(files: keyFiles, vaultID: old.vaultID).entries(publicKey: old.publicKey).count }
        return MigrationSummary(
            vaultID: old.vaultID, metadata: request.metadata.description, blobs: request.options.blobs.identity, tables: tables,
            records: records.count, blobsCopied: copied.count, bytesCopied: copied.bytes, ledgerEntries: ledgerEntries,
            problems: problems, auditEvents: audit.eventCount)
    }

    /// The relational catalog under a vault (both engines are one).
    private static func relationalCatalog(of vault: Vault) throws -> RelationalCatalog {
        guard let catalog = vault.catalog as? RelationalCatalog else { throw VaultError.invalidArgument("the new store's catalog cannot be counted") }
        return catalog
    }

    /// Refuses a database that holds a store (or its key store) and a bucket prefix that holds a
    /// claim or any blob, before anything is written.
    static func requireEmptyTarget(_ request: MigrationRequest) throws {
        let database = request.metadata.description
        if try vaulting({ try PostgresCatalog.storedVaultID(location: request.metadata, password: request.password) }) != nil {
            throw VaultError.storeExists(database)
        }
        let keyFiles = try vaulting { try PostgresCatalog.keyFiles(location: request.metadata, password: request.password) }
        if try vaulting({ try keyFiles.read(KeyStore.fileName) }) != nil { throw VaultError.storeExists(database) }
        let objects = S3BlobStore(client: S3Client(location: request.blobs, credentials: request.credentials))
        let claimed = try vaulting { try objects.client.headObject(key: objects.claimKey) != nil }
        let holdsBlobs = try vaulting { try !objects.storedRecordIDs().isEmpty }
        if claimed || holdsBlobs { throw VaultError.storeExists("s3://\(request.blobs.bucket)/\(request.blobs.prefix)") }
    }

    /// Streams each record's blob, as it is, from the folder to the object store, hashing it on
    /// the way: a blob whose size or BLAKE2b is not its row's is not uploaded, and the move fails
    /// (run verify on the source).
    private static func copyBlobs(_ records: [EvidenceRecord], from files: FileBlobStore, to objects: S3BlobStore) throws -> (count: Int, bytes: Int64) {
        let sizes = OutcomeTable<Int64>(count: records.count)
        try BackupFiles.parallel(records.count) { i, buffer in
            let record = records[i]
            guard let blob = try vaulting({ try files.open(recordID: record.id) }) else {
                throw VaultError.storage(.blobMissing(record: record.id))
            }
            let upload = try vaulting { try objects.beginWrite(recordID: record.id) }
            var committed = false
            defer { if !committed { upload.abort() } }
            let hasher = Blake2b()
            var size = 0
            while true {
                let n = try vaulting { try blob.read(at: size, into: buffer) }
                if n == 0 { break }
                let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
                hasher.update(chunk)
                try vaulting { try upload.write(chunk) }
                size += n
            }
            guard Int64(size) == record.ciphertextSize, Hex.encode(hasher.finalize()) == record.ciphertextBlake2b else {
                throw VaultError.storage(.blobDamaged(record: record.id, damage: .ciphertextHashMismatch))
            }
            try vaulting { try upload.commit() }
            committed = true
            sizes[i] = Int64(size)
        }
        return (records.count, (0..<records.count).reduce(0) { $0 + (sizes[$1] ?? 0) })
    }
}
