import Foundation
import KeyManagement
import SignIn
import Storage

/// A Strongroom vault: the key store, the catalog and the blob store of one store folder,
/// composed. Every operation that touches evidence writes its audit event first, and fails
/// closed if it cannot.
///
/// Its operations come in parts (Sources/Vault/Operations): `records` (evidence), `bundles`
/// (sharing with agencies), `lifecycle` (retention, holds, shredding), `keys`, `backups`,
/// `audit` (the log and the store's own checks) and `users` (accounts, enrolment, sign-in).
/// Each that acts for someone takes who is calling, a `Caller`, as a required argument.
///
///     let vault = try Vault.open(at: StoreLayout(root: "strongroom-data"), master: .keyFile(nil))
///     let session = try vault.records.beginPut(PutRequest(school: "S1", child: "C1", concern: "K1", kind: "minutes", filename: "minutes.pdf"), by: .operator("jo"))
///     try session.write(bytes); let record = try session.finish()
public final class Vault: @unchecked Sendable {
    public let layout: StoreLayout
    public let vaultID: String
    public let publicKey: VaultPublicKey
    let keyStore: KeyStore?
    /// Where the key store and the deletion ledger are kept: keys/ in the store folder, or the
    /// shared PostgreSQL catalog.
    let keyFiles: any KeyFiles
    let catalog: any Catalog
    let blobs: any BlobStore
    /// Released bundles and sent transfer packages (beside the blobs: `BlobBackend`).
    let sharedFiles: any SharedFiles
    let clock: @Sendable () -> Date
    /// The records the deletion ledger names (checked before any data key is unwrapped).
    let shredded: ShreddedRecords
    private let snifferLock = NSLock()
    /// Idle sniffers: a `magic_t` serves one thread at a time, so concurrent puts each take one.
    private var idleSniffers: [MagicSniffer] = []
    let verifiedRowsLock = NSLock()
    /// User rows whose signature was checked (their signed bytes and signature).
    var verifiedRows: Set<Data> = []
    /// Refusals of unknown callers, coalesced per source (AnonymousRefusals.swift).
    let anonymousRefusals: AnonymousRefusalTally
    /// Session lifetimes and the step-up window, from `Options`.
    public internal(set) var sessionPolicy = SessionPolicy()
    /// How hard new passphrase hashes are (moderate; tests use interactive), from `Options`.
    var passphraseLimits = PassphraseHash.Limits.moderate
    /// Failed sign-ins per name and address (SignIn/SignInThrottle.swift).
    let signInThrottle: SignInThrottle
    /// Outstanding WebAuthn challenges, one per ceremony.
    let challenges: ChallengeStore
    /// At most two passphrase hashes at once: each takes 256 MiB for about a second.
    let passphraseGate = DispatchSemaphore(value: 2)
    let dummyHashLock = NSLock()
    var dummyHash: String?

    public struct Options: Sendable {
        public var clock: @Sendable () -> Date = Date.init
        public var catalog = SQLiteCatalog.Options()
        public var fileOps: any FileOps = SystemFileOps()
        /// Where the blobs are: the store folder, or an object store (chosen at `init`).
        public var blobs: BlobBackend = .files
        /// Where the catalog is: the store folder, or PostgreSQL (chosen at `init`).
        public var metadata: MetadataBackend = .embedded
        /// How often at most a checkpoint is written to the audit witness (the newest waiting one
        /// is written at close): 0 in short commands, a second in the server.
        public var witnessInterval: TimeInterval = 0
        /// A witness named outside the store (the environment), used instead of the key store's.
        public var witnessPath: String?
        /// Told when a checkpoint could not be written to the witness.
        public var witnessProblem: (@Sendable (String) -> Void)?
        /// Session lifetimes and the step-up window (the server's settings).
        public var sessionPolicy = SessionPolicy()
        /// How hard new passphrase hashes are.
        public var passphraseLimits = PassphraseHash.Limits.moderate
        public init() {}
    }

    init(layout: StoreLayout, vaultID: String, publicKey: VaultPublicKey, keys: KeyStore?, keyFiles: any KeyFiles,
         catalog: any Catalog, blobs: any BlobStore, sharedFiles: (any SharedFiles)? = nil, clock: @escaping @Sendable () -> Date) {
        self.layout = layout
        self.keyFiles = keyFiles
        self.sharedFiles = sharedFiles ?? FolderSharedFiles(root: layout.root)
        self.vaultID = vaultID
        self.publicKey = publicKey
        self.keyStore = keys
        self.catalog = catalog
        self.blobs = blobs
        self.clock = clock
        self.anonymousRefusals = AnonymousRefusalTally(clock: clock)
        // One process keeps sign-in's passing state in memory; nodes sharing a database share it there.
        if let shared = catalog as? PostgresCatalog {
            let digest = SignInDigest(keys: keys)
            self.signInThrottle = SignInThrottle(counts: SharedFailureCounts(catalog: shared, digest: digest), clock: clock)
            // Rows are small: room for a large trust's morning, still bounded.
            self.challenges = ChallengeStore(slots: SharedChallengeSlots(catalog: shared, digest: digest), capacity: 100_000, now: clock)
        } else {
            self.signInThrottle = SignInThrottle(clock: clock)
            self.challenges = ChallengeStore(now: clock)
        }
        self.shredded = ShreddedRecords(
            ledger: DeletionLedger(files: keyFiles, vaultID: vaultID), publicKey: publicKey)
    }

    /// Creates a new store: a store folder (refused if a store, or anything else, is already
    /// there), or, with the catalog in PostgreSQL, a database and bucket prefix (refused if they
    /// hold a store).
    public static func create(at layout: StoreLayout, master: MasterKeySource, by caller: Caller, options: Options = Options()) throws -> Vault {
        try requireOperator(caller, "create a store")
        let actor = caller.actor
        return try vaulting {
            let keyFiles: any KeyFiles
            var masterKeyPath = layout.defaultMasterKey
            switch options.metadata {
            case .embedded:
                try createFolder(layout)
                keyFiles = KeyFolder(directory: layout.keys)
            case .postgres(let location, let password):
                try requireShared(options, master: master, to: "create a store")
                if case .keyFile(let path?) = master { masterKeyPath = path }
                keyFiles = try PostgresCatalog.keyFiles(location: location, password: password)
                if try keyFiles.read(KeyStore.fileName) != nil { throw VaultError.storeExists(location.description) }
            }
            let provider: any MasterKeyProvider
            switch master {
            case .keyFile(let path): provider = try MasterKeyFile.create(at: path ?? masterKeyPath)
            case .passphrase(let passphrase, let cost):
                provider = try PassphraseMasterKey.derive(passphrase: passphrase, parameters: .generate(cost: cost))
            case .provider(let p): provider = p
            }
            let keys = try KeyStore.create(files: keyFiles, master: provider, clock: options.clock)
            let blobs = options.blobs.store(layout: layout, fileOps: options.fileOps, clock: options.clock)
            if let files = blobs as? FileBlobStore { try files.createLayout() }
            let catalog = try options.metadata.create(layout: layout, vaultID: keys.vaultID, options: options)
            if let objects = blobs as? S3BlobStore {
                // The prefix must be this store's alone: another store's blobs would look like
                // this one's orphans to gc. The claim says whose it is.
                do { try objects.claim(vaultID: keys.vaultID) } catch S3Error.invalidConfiguration(let why) {
                    throw VaultError.misconfigured(why)
                }
                try catalog.setVaultSetting(BlobBackend.settingKey, options.blobs.identity)
            }
            let vault = Vault(
                layout: layout, vaultID: keys.vaultID, publicKey: keys.auditPublicKey, keys: keys, keyFiles: keyFiles, catalog: catalog,
                blobs: blobs, sharedFiles: options.blobs.sharedFiles(layout: layout), clock: options.clock)
            vault.sessionPolicy = options.sessionPolicy
            vault.passphraseLimits = options.passphraseLimits
            try vault.audit(AuditEntry(actor: actor, action: .`init`, outcome: .ok, reason: "store created"))
            return vault
        }
    }

    /// Makes the store folder and its keys/, private to this user.
    private static func createFolder(_ layout: StoreLayout) throws {
        let fm = FileManager.default
        if layout.exists { throw VaultError.storeExists(layout.root) }
        if fm.fileExists(atPath: layout.root) {
            let contents = (try? fm.contentsOfDirectory(atPath: layout.root)) ?? ["?"]
            if !contents.isEmpty { throw VaultError.storeExists(layout.root) }
            // An existing empty folder becomes private too: anyone who can write to the
            // root can rename keys/ or the database away.
            guard chmod(layout.root, 0o700) == 0 else { throw VaultError.storage(.io(operation: "chmod", path: layout.root, errno: errno)) }
        } else {
            do {
                try fm.createDirectory(atPath: layout.root, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw VaultError.storage(.io(operation: "mkdir", path: layout.root, errno: (error as NSError).code == 0 ? EIO : Int32((error as NSError).code)))
            }
        }
        guard mkdir(layout.keys, 0o700) == 0 else {
            throw VaultError.storage(.io(operation: "mkdir", path: layout.keys, errno: errno))
        }
    }

    /// A catalog in PostgreSQL serves nodes that share no folder: the blobs must be in an object
    /// store too, and a master key file must be named (there is no store folder to default to).
    private static func requireShared(_ options: Options, master: MasterKeySource?, to what: String) throws {
        guard case .objectStore = options.blobs else {
            throw VaultError.misconfigured("a catalog in PostgreSQL needs the blobs in an object store too: give --blobs (or STRONGROOM_BLOBS)")
        }
        if case .keyFile(nil)? = master {
            throw VaultError.misconfigured("to \(what) on PostgreSQL, name the master key file with --master-key FILE (or STRONGROOM_MASTER_KEY): there is no store folder to keep it in")
        }
    }

    /// A store folder anyone else can write to is one whose keys/ or database can be renamed away
    /// or replaced: refused, with the fix.
    static func requirePrivate(_ root: String) throws {
        var info = stat()
        guard stat(root, &info) == 0 else { throw VaultError.storage(.io(operation: "stat", path: root, errno: errno)) }
        if info.st_mode & 0o022 != 0 {
            throw VaultError.storeUnsafe(
                "the store folder \(root) can be written by other users (mode \(String(info.st_mode & 0o777, radix: 8))); run chmod 700 \(root)")
        }
    }

    /// Opens a store. Without a master key (`master: nil`) only keyless work is possible:
    /// verify --no-keys, audit verify, audit log.
    public static func open(at layout: StoreLayout, master: MasterKeySource?, options: Options = Options()) throws -> Vault {
        try vaulting {
            let keyFiles: any KeyFiles
            var masterKeyPath = layout.defaultMasterKey
            switch options.metadata {
            case .embedded:
                guard layout.exists else { throw VaultError.storeMissing(layout.root) }
                try requirePrivate(layout.root)
                keyFiles = KeyFolder(directory: layout.keys)
            case .postgres(let location, let password):
                try requireShared(options, master: master, to: "open the store")
                if case .keyFile(let path?)? = master { masterKeyPath = path }
                keyFiles = try PostgresCatalog.keyFiles(location: location, password: password)
                if try keyFiles.read(KeyStore.fileName) == nil { throw VaultError.storeMissing(location.description) }
            }
            let (vaultID, descriptor, publicKey) = try KeyStore.descriptor(files: keyFiles)
            var keys: KeyStore?
            if let master {
                let provider: any MasterKeyProvider
                switch (master, descriptor.kind) {
                case (.keyFile(let path), .keyFile): provider = try MasterKeyFile.open(at: path ?? masterKeyPath)
                case (.passphrase(let passphrase, _), .passphrase):
                    guard let kdf = descriptor.kdf else { throw KeyManagementError.malformedKeyStore("passphrase parameters missing") }
                    provider = try PassphraseMasterKey.derive(passphrase: passphrase, parameters: kdf)
                case (.provider(let p), _): provider = p
                case (.keyFile, .passphrase):
                    throw VaultError.needsMasterKey("this store is protected by a passphrase: pass --passphrase-stdin")
                case (.passphrase, .keyFile):
                    throw VaultError.needsMasterKey("this store is protected by a master key file, not a passphrase: pass --master-key FILE")
                }
                keys = try KeyStore.open(files: keyFiles, master: provider, clock: options.clock)
            }
            let witness = try (options.witnessPath ?? vaulting({ try KeyStore.auditWitness(files: keyFiles) })).map { path in
                AuditWitness(path: path, minimumInterval: options.witnessInterval, clock: options.clock, onProblem: options.witnessProblem)
            }
            let catalog = try options.metadata.open(layout: layout, vaultID: vaultID, options: options, witness: witness)
            try BlobBackend.check(recorded: try catalog.vaultSetting(BlobBackend.settingKey), given: options.blobs)
            let blobs = options.blobs.store(layout: layout, fileOps: options.fileOps, clock: options.clock)
            if let objects = blobs as? S3BlobStore {
                do { try objects.checkClaim(vaultID: vaultID) } catch S3Error.invalidConfiguration(let why) {
                    throw VaultError.misconfigured(why)
                }
            }
            let vault = Vault(
                layout: layout, vaultID: vaultID, publicKey: publicKey, keys: keys, keyFiles: keyFiles, catalog: catalog, blobs: blobs,
                sharedFiles: options.blobs.sharedFiles(layout: layout), clock: options.clock)
            vault.sessionPolicy = options.sessionPolicy
            vault.passphraseLimits = options.passphraseLimits
            // A shred a crash interrupted is finished before anything else is served. If that
            // fails (a full disk, a damaged ledger) the store still opens: the records are
            // already gone, reads of the rest fail closed on a damaged ledger, and the request
            // stays `executing` for the next open.
            if keys != nil, !options.catalog.readOnly { _ = try? vault.finishUnfinishedShreds() }
            // User rows from before account ids are honoured only once re-signed with their ids.
            // If that fails (a full disk) the store still opens, as above: those users are refused
            // until the next open with the key manages it, and `user list` says they are unsigned.
            if keys != nil, !options.catalog.readOnly { _ = try? vault.upgradeUserSignatures() }
            return vault
        }
    }

    public var hasKeys: Bool { keyStore != nil }

    /// Whether the store is a folder on this machine (the embedded catalog), rather than a
    /// catalog and blobs every node shares.
    var hasFolder: Bool { catalog is SQLiteCatalog }

    /// The store folder's lock: writers share it while a blob may be uncommitted, gc takes it
    /// alone. A store on PostgreSQL has no folder, and its nodes no lock in common: there gc
    /// leaves every object younger than `S3BlobStore.orphanGrace`, which an upload's blob is
    /// between its write and its row's commit.
    func storeLock(exclusive: Bool, wait: Bool) throws -> StoreLock? {
        guard hasFolder else { return nil }
        return try StoreLock(path: layout.lockFile, exclusive: exclusive, wait: wait)
    }

    func requireKeys(_ what: String) throws -> KeyStore {
        guard let keys = keyStore else { throw VaultError.needsMasterKey("\(what) needs the master key (a key file or --passphrase-stdin)") }
        return keys
    }

    var signer: AuditSigner? { try? keyStore?.auditSigner() }

    func withSniffer<T>(_ body: (MagicSniffer) throws -> T) throws -> T {
        let sniffer = try snifferLock.withLock { idleSniffers.popLast() } ?? MagicSniffer()
        defer { snifferLock.withLock { idleSniffers.append(sniffer) } }
        return try body(sniffer)
    }

    /// Writes audit events durably, signing a checkpoint when the key is at hand. Throws
    /// `StorageError.auditUnavailable` if it cannot: the caller must then not go on.
    @discardableResult
    func audit(_ entries: AuditEntry...) throws -> [AuditEvent] {
        try timedAudit { try vaulting { try catalog.append(entries, signer: signer) } }
    }

    /// Called with the nanoseconds each durable audit append took (the server's metrics).
    /// Set once, before the vault is shared.
    nonisolated(unsafe) public var auditLatencyObserver: (@Sendable (UInt64) -> Void)?

    func timedAudit<T>(_ body: () throws -> T) rethrows -> T {
        guard let observer = auditLatencyObserver else { return try body() }
        let start = DispatchTime.now().uptimeNanoseconds
        defer { observer(DispatchTime.now().uptimeNanoseconds - start) }
        return try body()
    }

    var nowMillis: Int64 { Int64((clock().timeIntervalSince1970 * 1000).rounded(.down)) }
}

extension Vault {
    /// Closes the metadata database (its WAL is checkpointed into the main file).
    public func close() {
        catalog.close()
        (keyFiles as? PostgresKeyFiles)?.close()
    }
}
