import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The key store: one JSON file, `keys/keystore.json`, kept apart from the metadata database so
/// that keys and data can be backed up and destroyed separately. It holds only public facts and
/// keys wrapped by the master key (docs/keys.md):
///
///     { "format": "strongroom-keystore", "version": 2, "vaultID": "...",
///       "masterKey": { "kind": "key-file" | "passphrase", "kdf": {...} },
///       "keks": [ { "id", "state", "school", "period", "createdAt", "retiredAt", "destroyedAt", "wrapped" } ],
///       "rotation": { "startedAt" }?,
///       "ledgerHead": { "seq", "hash", "signature" },
///       "auditWitness": { "path"?, "signature" },
///       "auditSigningKey": { "publicKey", "wrapped" } }
///
/// Data keys are wrapped under a KEK of their school and retention period (the month their
/// review falls due, or `hold`), so destroying that KEK reaches every copy of those records,
/// backups included. Several processes may share a store (the service and the CLI): every change
/// takes an exclusive lock on `keystore.lock`, re-reads the file, changes it and rewrites it
/// atomically; a KEK this process has not seen yet is looked up again in the file.
public final class KeyStore: @unchecked Sendable {
    public static let fileName = "keystore.json"
    public static let lockFileName = KeyFolder.lockFileName
    public static let formatName = "strongroom-keystore"
    /// Version 3 signs the deletion ledger's head with the vault key and wraps the signing key
    /// with associated data naming version 3, so the head can neither be forged nor removed by
    /// writing the file back as version 2 (docs/keys.md, "Deletion ledger").
    public static let currentVersion = 3
    /// The period of KEKs that hold records under legal hold (never destroyed with a period).
    public static let holdPeriod = "hold"

    /// Where the file is kept: the store folder's keys/, or the shared catalog.
    public let files: any KeyFiles
    public let vaultID: String
    private var file: KeyStoreFile
    private var stamp: String?
    private var master: any MasterKeyProvider
    /// The wrapped signing key this process's master key was proved against. If another process
    /// changes the master key, the file's differs, and this process must not wrap anything more.
    private var provenSigningWrap: String
    private let lock = NSLock()
    private var unwrapped: [String: SecretBytes] = [:]
    private var signer: AuditSigner?
    private let clock: @Sendable () -> Date
    /// KEKs this process created and nobody has audited yet (`drainCreated`).
    private var created: [KEKInfo] = []

    /// Creates a new key store with an audit-signing key (KEKs are made per school and period on first use).
    public static func create(
        directory: String, master: any MasterKeyProvider, clock: @escaping @Sendable () -> Date = Date.init
    ) throws -> KeyStore {
        try create(files: KeyFolder(directory: directory), master: master, clock: clock)
    }

    /// Creates a new key store where `files` keeps it.
    public static func create(
        files: any KeyFiles, master: any MasterKeyProvider, clock: @escaping @Sendable () -> Date = Date.init
    ) throws -> KeyStore {
        let vaultID = Hex.encode(randomPublicBytes(16))
        let signer = try AuditSigner.generate()
        let signingWrapped = try master.wrap(signer.secret, associatedData: signingKeyBinding(vaultID: vaultID, version: currentVersion))
        let file = KeyStoreFile(
            format: formatName, version: currentVersion, vaultID: vaultID, masterKey: master.descriptor, keks: [],
            rotation: nil, ledgerHead: try .signed(seq: 0, hash: "", vaultID: vaultID, signer: signer),
            auditWitness: try .signed(path: nil, vaultID: vaultID, signer: signer),
            auditSigningKey: .init(publicKey: signer.publicKey.minisignBase64, wrapped: Data(signingWrapped).base64EncodedString()))
        try files.create(fileName, try encode(file))
        let store = KeyStore(files: files, file: file, master: master, clock: clock)
        store.signer = signer
        return store
    }

    /// Reads the public part of a key store (which master-key provider it needs), without keys.
    public static func descriptor(directory: String) throws -> (vaultID: String, masterKey: MasterKeyDescriptor, publicKey: VaultPublicKey) {
        try descriptor(files: KeyFolder(directory: directory))
    }

    public static func descriptor(files: any KeyFiles) throws -> (vaultID: String, masterKey: MasterKeyDescriptor, publicKey: VaultPublicKey) {
        let file = try load(files)
        guard let pk = VaultPublicKey(text: file.auditSigningKey.publicKey) else {
            throw KeyManagementError.malformedKeyStore("audit public key is malformed")
        }
        return (file.vaultID, file.masterKey, pk)
    }

    /// Opens a key store with its master key; fails with `.wrongMasterKey` if the key does not fit.
    public static func open(
        directory: String, master: any MasterKeyProvider, clock: @escaping @Sendable () -> Date = Date.init
    ) throws -> KeyStore {
        try open(files: KeyFolder(directory: directory), master: master, clock: clock)
    }

    public static func open(
        files: any KeyFiles, master: any MasterKeyProvider, clock: @escaping @Sendable () -> Date = Date.init
    ) throws -> KeyStore {
        let file = try load(files)
        let store = KeyStore(files: files, file: file, master: master, clock: clock)
        // Prove the master key now, so a wrong passphrase is reported before any work starts.
        _ = try store.auditSigner()
        if file.version < 3 { try store.upgradeToSignedLedgerHead() }
        return store
    }

    private init(files: any KeyFiles, file: KeyStoreFile, master: any MasterKeyProvider, clock: @escaping @Sendable () -> Date) {
        self.files = files
        self.vaultID = file.vaultID
        self.file = file
        self.master = master
        self.clock = clock
        self.stamp = files.stamp(Self.fileName)
        self.provenSigningWrap = file.auditSigningKey.wrapped
    }

    public var masterKeyDescriptor: MasterKeyDescriptor { lock.withLock { file.masterKey } }

    // MARK: KEKs

    /// The active KEK of a school's retention period, created (durably) on first use.
    public func kek(school: String, period: String) throws -> (id: String, key: SecretBytes) {
        let known: String? = lock.withLock {
            refreshIfChanged()
            return file.activeKEK(school: school, period: period)?.id
        }
        if let known { return (known, try kek(id: known)) }
        let (id, made) = try mutate { file -> (String, (key: SecretBytes, info: KEKInfo)?) in
            if let existing = file.activeKEK(school: school, period: period) { return (existing.id, nil) }
            let key = try SecretBytes.random(count: 32)
            let id = "kek-" + Hex.encode(randomPublicBytes(8))
            let wrapped = try master.wrap(key, associatedData: Self.kekBinding(vaultID: vaultID, kekID: id))
            let entry = KeyStoreFile.KEKEntry(
                id: id, state: .active, school: school, period: period, createdAt: clock(), wrapped: Data(wrapped).base64EncodedString())
            file.keks.append(entry)
            return (id, (key, entry.info))
        }
        // Remembered (and audited) only once the key store holding it is durable.
        if let made {
            lock.withLock {
                unwrapped[id] = made.key
                created.append(made.info)
            }
        }
        return (id, try kek(id: id))
    }

    /// The KEKs this process created since the last call, for the caller to audit (each is
    /// returned once, whichever thread asks first).
    public func drainCreated() -> [KEKInfo] {
        lock.withLock {
            defer { created.removeAll() }
            return created
        }
    }

    /// A KEK by id, unwrapped once and kept in guarded memory while the store is open.
    public func kek(id: String) throws -> SecretBytes {
        // A KEK another process destroyed is forgotten here too: one stat (or, in PostgreSQL,
        // one query) per call, made before taking the lock, so that a slow database holds up
        // this caller and not every other decrypt of the process.
        let observed = files.stamp(Self.fileName)
        return try lock.withLock {
            refreshIfChanged(observed: observed)
            if let key = unwrapped[id] { return key }
            var entry = file.keks.first(where: { $0.id == id })
            if entry == nil || entry?.state != .destroyed {
                // Another process may have made or destroyed it since this one read the file.
                refreshIfChanged()
                entry = file.keks.first(where: { $0.id == id })
            }
            guard let entry else { throw KeyManagementError.unknownKEK(id) }
            guard entry.state != .destroyed, let wrappedText = entry.wrapped, let wrapped = Data(base64Encoded: wrappedText) else {
                throw KeyManagementError.kekDestroyed(id)
            }
            let key = try master.unwrap(Array(wrapped), associatedData: Self.kekBinding(vaultID: vaultID, kekID: id))
            unwrapped[id] = key
            return key
        }
    }

    public var keks: [KEKInfo] {
        lock.withLock {
            refreshIfChanged()
            return file.keks.map(\.info)
        }
    }

    /// Whether a rotation was started and not finished (a crash mid-way): `rotate` resumes it.
    public var rotationInProgress: Date? { lock.withLock { refreshIfChanged(); return file.rotation?.startedAt } }

    /// Starts a rotation: every active KEK is retired and replaced by a new one for the same
    /// school and period. If a rotation is already in progress nothing changes (it is resumed).
    /// Returns the ids of the KEKs it retired.
    @discardableResult
    public func beginRotation() throws -> [String] {
        try mutate { file -> [String] in
            if file.rotation != nil { return [] }
            let now = clock()
            var retired: [String] = []
            var fresh: [KeyStoreFile.KEKEntry] = []
            for i in file.keks.indices where file.keks[i].state == .active {
                file.keks[i].state = .retired
                file.keks[i].retiredAt = now
                retired.append(file.keks[i].id)
                guard let school = file.keks[i].school, let period = file.keks[i].period else { continue }
                let key = try SecretBytes.random(count: 32)
                let id = "kek-" + Hex.encode(randomPublicBytes(8))
                let wrapped = try master.wrap(key, associatedData: Self.kekBinding(vaultID: vaultID, kekID: id))
                let entry = KeyStoreFile.KEKEntry(
                    id: id, state: .active, school: school, period: period, createdAt: now, wrapped: Data(wrapped).base64EncodedString())
                fresh.append(entry)
                created.append(entry.info)
                unwrapped[id] = key
            }
            file.keks += fresh
            file.rotation = .init(startedAt: now)
            return retired
        }
    }

    /// Marks the rotation finished (every live data key is under an active KEK).
    public func finishRotation() throws {
        try mutate { file in file.rotation = nil }
    }

    /// Retires KEKs (no new data key is wrapped under them); a later `destroy` removes them.
    public func retire(ids: Set<String>) throws {
        guard !ids.isEmpty else { return }
        try mutate { file in
            let now = clock()
            for i in file.keks.indices where ids.contains(file.keks[i].id) && file.keks[i].state == .active {
                file.keks[i].state = .retired
                file.keks[i].retiredAt = now
            }
        }
    }

    /// Destroys KEKs: their wrapped form leaves the key store and their unwrapped form is zeroed.
    /// Every data key wrapped under them, in any copy of the database, can no longer be opened.
    /// Idempotent: destroying a destroyed KEK changes nothing.
    public func destroy(ids: Set<String>) throws {
        guard !ids.isEmpty else { return }
        try mutate { file in
            let now = clock()
            for i in file.keks.indices where ids.contains(file.keks[i].id) && file.keks[i].state != .destroyed {
                file.keks[i].state = .destroyed
                file.keks[i].wrapped = nil
                file.keks[i].destroyedAt = now
                if file.keks[i].retiredAt == nil { file.keks[i].retiredAt = now }
            }
            for id in ids { unwrapped.removeValue(forKey: id) }   // SecretBytes zeroes on release
        }
    }

    /// Re-wraps every KEK and the audit-signing key under a new master key, in one atomic
    /// rewrite of the key store. The old master key opens nothing afterwards.
    public func rotateMaster(to newMaster: any MasterKeyProvider) throws {
        try mutate { file in
            for i in file.keks.indices where file.keks[i].state != .destroyed {
                let id = file.keks[i].id
                guard let text = file.keks[i].wrapped, let wrapped = Data(base64Encoded: text) else {
                    throw KeyManagementError.malformedKeyStore("KEK \(id) is not destroyed but has no wrapped key")
                }
                let binding = Self.kekBinding(vaultID: vaultID, kekID: id)
                let key = try master.unwrap(Array(wrapped), associatedData: binding)
                file.keks[i].wrapped = Data(try newMaster.wrap(key, associatedData: binding)).base64EncodedString()
            }
            if let entry = file.transferKey, let wrapped = Data(base64Encoded: entry.wrapped) {
                let binding = Self.transferKeyBinding(vaultID: vaultID)
                let key = try master.unwrap(Array(wrapped), associatedData: binding)
                file.transferKey?.wrapped = Data(try newMaster.wrap(key, associatedData: binding)).base64EncodedString()
            }
            let signer = try auditSignerLocked()
            let signing = try newMaster.wrap(signer.secret, associatedData: Self.signingKeyBinding(vaultID: vaultID, version: Self.currentVersion))
            file.auditSigningKey.wrapped = Data(signing).base64EncodedString()
            file.masterKey = newMaster.descriptor
            master = newMaster
            provenSigningWrap = file.auditSigningKey.wrapped
        }
    }

    // MARK: deletion ledger head

    /// Records the ledger's newest entry (after an append), signed, never moving it backwards.
    public func recordLedgerHead(seq: Int64, hash: String) throws {
        let signer = try auditSigner()
        try mutate { file in
            if let head = file.ledgerHead, head.seq >= seq { return }
            file.ledgerHead = try .signed(seq: seq, hash: hash, vaultID: vaultID, signer: signer)
        }
    }

    /// The ledger head recorded in the key store file (read from disk, no key needed): nil while
    /// the ledger is empty. From version 3 it must be there and carry the vault's signature,
    /// else the file was tampered with (a removed or lowered head would let a cut ledger pass).
    public static func ledgerHead(directory: String) throws -> (seq: Int64, hash: String)? {
        try ledgerHead(files: KeyFolder(directory: directory))
    }

    public static func ledgerHead(files: any KeyFiles) throws -> (seq: Int64, hash: String)? {
        let file = try load(files)
        guard file.version >= 3 else { return file.ledgerHead.map { ($0.seq, $0.hash) } }
        guard let head = file.ledgerHead, let key = VaultPublicKey(text: file.auditSigningKey.publicKey),
              head.verify(vaultID: file.vaultID, publicKey: key) else {
            throw KeyManagementError.malformedKeyStore(
                "the deletion ledger's head in the key store is missing or not signed by the vault: the key store was tampered with")
        }
        return head.seq == 0 ? nil : (head.seq, head.hash)
    }

    /// Names the audit witness (docs/audit.md, "Witness"), or none, signed: someone who can write
    /// the store cannot turn it off or point it elsewhere without the vault key.
    public func setAuditWitness(path: String?) throws {
        let signer = try auditSigner()
        try mutate { file in file.auditWitness = try .signed(path: path, vaultID: vaultID, signer: signer) }
    }

    /// The audit witness the key store names (read from disk, no key needed). From version 3 the
    /// setting must be there and carry the vault's signature, else the file was tampered with.
    public static func auditWitness(directory: String) throws -> String? {
        try auditWitness(files: KeyFolder(directory: directory))
    }

    public static func auditWitness(files: any KeyFiles) throws -> String? {
        let file = try load(files)
        guard file.version >= 3 else { return nil }
        guard let setting = file.auditWitness, let key = VaultPublicKey(text: file.auditSigningKey.publicKey),
              setting.verify(vaultID: file.vaultID, publicKey: key) else {
            throw KeyManagementError.malformedKeyStore(
                "the audit witness setting in the key store is missing or not signed by the vault: the key store was tampered with")
        }
        return setting.path
    }

    /// A version 1 or 2 file becomes version 3 the first time a process with the master key
    /// opens it: the signing key is wrapped again under the version 3 label and the ledger head
    /// (the one recorded, or the ledger's own last signed entry if that is further) is signed.
    private func upgradeToSignedLedgerHead() throws {
        let signer = try auditSigner()
        // Read before the key store's lock is taken: the ledger shares it.
        let last = DeletionLedger.signedPrefix((try? files.read(DeletionLedger.fileName) ?? []) ?? [], vaultID: vaultID).0.last
        try withFileLock { fresh in
            if fresh.version >= 3 {
                // Another process upgraded it meanwhile: prove the master key against its wrap.
                guard let wrapped = Data(base64Encoded: fresh.auditSigningKey.wrapped) else {
                    throw KeyManagementError.malformedKeyStore("audit signing key is not base64")
                }
                _ = try master.unwrap(Array(wrapped), associatedData: Self.signingKeyBinding(vaultID: vaultID, version: fresh.version))
                provenSigningWrap = fresh.auditSigningKey.wrapped
                return
            }
            guard fresh.auditSigningKey.wrapped == provenSigningWrap else { throw KeyManagementError.masterKeyChanged }
            var head = (seq: fresh.ledgerHead?.seq ?? 0, hash: fresh.ledgerHead?.hash ?? "")
            if let last, last.seq > head.seq { head = (last.seq, last.hash) }
            fresh.ledgerHead = try .signed(seq: head.seq, hash: head.hash, vaultID: vaultID, signer: signer)
            fresh.auditWitness = try .signed(path: nil, vaultID: vaultID, signer: signer)
            let wrapped = try master.wrap(signer.secret, associatedData: Self.signingKeyBinding(vaultID: vaultID, version: Self.currentVersion))
            fresh.auditSigningKey.wrapped = Data(wrapped).base64EncodedString()
            fresh.version = Self.currentVersion
            provenSigningWrap = fresh.auditSigningKey.wrapped
        }
    }

    /// The KEKs a key store file lists (ids and states only), read without the master key.
    public static func kekInfos(directory: String) throws -> [KEKInfo] {
        try load(KeyFolder(directory: directory)).keks.map(\.info)
    }

    // MARK: signing key

    public func auditSigner() throws -> AuditSigner {
        try lock.withLock { try auditSignerLocked() }
    }

    private func auditSignerLocked() throws -> AuditSigner {
        if let signer { return signer }
        guard let wrapped = Data(base64Encoded: file.auditSigningKey.wrapped) else {
            throw KeyManagementError.malformedKeyStore("audit signing key is not base64")
        }
        let secret: SecretBytes
        do {
            secret = try master.unwrap(Array(wrapped), associatedData: Self.signingKeyBinding(vaultID: vaultID, version: file.version))
        } catch let error as KeyManagementError {
            // A version 3 wrap in a file that says otherwise: the file was written back as an
            // older version to drop its signed ledger head. Say so rather than "wrong key".
            if file.version < 3,
               (try? master.unwrap(Array(wrapped), associatedData: Self.signingKeyBinding(vaultID: vaultID, version: 3))) != nil {
                throw KeyManagementError.malformedKeyStore(
                    "the key store says version \(file.version) but its signing key was wrapped for version 3: the file was tampered with")
            }
            throw error
        }
        let made = AuditSigner(secretKey: secret)
        guard made.publicKey.minisignBase64 == file.auditSigningKey.publicKey else {
            throw KeyManagementError.malformedKeyStore("audit signing key does not match its public key")
        }
        signer = made
        return made
    }

    // MARK: transfer key

    /// The vault's X25519 secret for receiving transfers, and its public key: made (and wrapped
    /// under the master key) the first time it is asked for. Another process that made it first wins.
    public func transferKey() throws -> (secret: SecretBytes, publicKey: [UInt8]) {
        if let entry = lock.withLock({ () -> SigningKeyEntryCopy? in
            refreshIfChanged()
            return file.transferKey.map { SigningKeyEntryCopy(publicKey: $0.publicKey, wrapped: $0.wrapped) }
        }) {
            return try unwrapTransferKey(entry)
        }
        let made = try mutate { file -> SigningKeyEntryCopy in
            if let entry = file.transferKey { return SigningKeyEntryCopy(publicKey: entry.publicKey, wrapped: entry.wrapped) }
            let secret = try SecretBytes.random(count: 32)
            let publicKey = try Sodium.x25519Base(secret.typedPointer)
            let wrapped = try master.wrap(secret, associatedData: Self.transferKeyBinding(vaultID: vaultID))
            let entry = KeyStoreFile.SigningKeyEntry(publicKey: Hex.encode(publicKey), wrapped: Data(wrapped).base64EncodedString())
            file.transferKey = entry
            return SigningKeyEntryCopy(publicKey: entry.publicKey, wrapped: entry.wrapped)
        }
        return try unwrapTransferKey(made)
    }

    private struct SigningKeyEntryCopy { var publicKey: String; var wrapped: String }

    private func unwrapTransferKey(_ entry: SigningKeyEntryCopy) throws -> (secret: SecretBytes, publicKey: [UInt8]) {
        guard let wrapped = Data(base64Encoded: entry.wrapped) else { throw KeyManagementError.malformedKeyStore("the transfer key is not base64") }
        let secret = try master.unwrap(Array(wrapped), associatedData: Self.transferKeyBinding(vaultID: vaultID))
        let publicKey = try Sodium.x25519Base(secret.typedPointer)
        guard Hex.encode(publicKey) == entry.publicKey else {
            throw KeyManagementError.malformedKeyStore("the transfer key does not match its public key")
        }
        return (secret, publicKey)
    }

    static func transferKeyBinding(vaultID: String) -> [UInt8] {
        var b = Binding(label: "strongroom/v1/transfer-key-wrap")
        b.append(vaultID)
        return b.bytes
    }

    public var auditPublicKey: VaultPublicKey {
        VaultPublicKey(text: lock.withLock { file.auditSigningKey.publicKey })!
    }

    // MARK: changes shared between processes

    /// Runs `body` on the freshest file under the cross-process lock, then rewrites the file.
    private func mutate<T>(_ body: (inout KeyStoreFile) throws -> T) throws -> T {
        try withFileLock { fresh in
            // Another process changed the master key: a KEK wrapped now under ours would be
            // unreadable once the old key is destroyed. Refuse; a restart with the new key fixes it.
            guard fresh.auditSigningKey.wrapped == provenSigningWrap else { throw KeyManagementError.masterKeyChanged }
            let result = try body(&fresh)
            fresh.version = Self.currentVersion
            return result
        }
    }

    /// Runs `body` on the freshest file under the cross-process lock, then rewrites it atomically.
    private func withFileLock<T>(_ body: (inout KeyStoreFile) throws -> T) throws -> T {
        try lock.withLock {
            let (fresh, result) = try files.update(Self.fileName) { bytes -> (change: KeyFileChange, result: (KeyStoreFile, T)) in
                var fresh = try Self.decode(bytes, location: files.location)
                guard fresh.vaultID == vaultID else {
                    throw KeyManagementError.malformedKeyStore("the key store in \(files.location) now belongs to another vault")
                }
                let result = try body(&fresh)
                return (.replace(try Self.encode(fresh)), (fresh, result))
            }
            file = fresh
            // Read again at the next lookup: a stamp taken now, after the lock is gone, could be
            // of another process's later change, which would then never be read.
            stamp = nil
            return result
        }
    }

    /// Re-reads the file if another process rewrote it. Called with `lock` held.
    private func refreshIfChanged() {
        refreshIfChanged(observed: files.stamp(Self.fileName))
    }

    /// Re-reads the file unless `observed`, a stamp taken before the lock, is the one last
    /// read. The file read is at least as new as `observed`, so the stamp kept is never newer
    /// than the file kept: at worst the next call reads the file once more.
    private func refreshIfChanged(observed now: String?) {
        guard now != stamp, let fresh = try? Self.load(files), fresh.vaultID == vaultID else { return }
        file = fresh
        stamp = now
        for entry in fresh.keks where entry.state == .destroyed { unwrapped.removeValue(forKey: entry.id) }
    }

    // MARK: file

    static func kekBinding(vaultID: String, kekID: String) -> [UInt8] {
        var b = Binding(label: "strongroom/v1/kek-wrap")
        b.append(vaultID)
        b.append(kekID)
        return b.bytes
    }

    /// From version 3 the label names the version: a version 3 file written back as version 2
    /// (to drop its signed ledger head) no longer unwraps its signing key.
    static func signingKeyBinding(vaultID: String, version: Int) -> [UInt8] {
        var b = Binding(label: version >= 3 ? "strongroom/v3/audit-signing-key-wrap" : "strongroom/v1/audit-signing-key-wrap")
        b.append(vaultID)
        return b.bytes
    }

    static func encode(_ file: KeyStoreFile) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        encoder.dateEncodingStrategy = .iso8601
        return Array(try encoder.encode(file)) + [0x0a]
    }

    static func load(_ files: any KeyFiles) throws -> KeyStoreFile {
        try decode(try files.read(fileName), location: files.location)
    }

    static func decode(_ bytes: [UInt8]?, location: String) throws -> KeyStoreFile {
        let path = location + "/" + fileName
        guard let bytes else { throw KeyManagementError.malformedKeyStore("\(path) does not exist") }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        let file: KeyStoreFile
        do { file = try decoder.decode(KeyStoreFile.self, from: Data(bytes)) } catch {
            throw KeyManagementError.malformedKeyStore("\(path) is not a key store: \(error)")
        }
        guard file.format == formatName else { throw KeyManagementError.malformedKeyStore("\(path) has format \(file.format)") }
        // Version 1 (one vault-wide KEK, no periods) reads as version 2 with that KEK unassigned.
        guard (1...currentVersion).contains(file.version) else {
            throw KeyManagementError.malformedKeyStore("\(path) has version \(file.version); this build reads versions 1 to \(currentVersion)")
        }
        return file
    }
}

public struct KEKInfo: Sendable, Equatable, Codable {
    public var id: String
    public var state: KEKState
    /// The school and retention period (`YYYY-MM` of review, or `hold`) the KEK serves; nil for a
    /// version 1 vault-wide KEK.
    public var school: String?
    public var period: String?
    public var createdAt: Date
    public var retiredAt: Date?
    public var destroyedAt: Date?
}

public enum KEKState: String, Codable, Sendable { case active, retired, destroyed }

struct KeyStoreFile: Codable {
    var format: String
    var version: Int
    var vaultID: String
    var masterKey: MasterKeyDescriptor
    var keks: [KEKEntry]
    var rotation: Rotation?
    /// The deletion ledger's last entry when this file was last changed by an append: a ledger
    /// found shorter than this, or missing, is refused (docs/keys.md, "Deletion ledger").
    var ledgerHead: LedgerHead?
    /// From version 3: the audit witness, or none, signed with the vault key over
    /// Binding("strongroom/v3/audit-witness", vault id, path or "").
    var auditWitness: WitnessSetting?
    var auditSigningKey: SigningKeyEntry
    /// The X25519 key other schools' vaults encrypt transfers to (docs/transfers.md), made the
    /// first time the vault needs it; `publicKey` is hex.
    var transferKey: SigningKeyEntry?

    struct WitnessSetting: Codable {
        var path: String?
        var signature: String

        static func message(path: String?, vaultID: String) -> [UInt8] {
            var b = Binding(label: "strongroom/v3/audit-witness")
            b.append(vaultID)
            b.append(path ?? "")
            return b.bytes
        }

        static func signed(path: String?, vaultID: String, signer: AuditSigner) throws -> WitnessSetting {
            WitnessSetting(path: path, signature: Data(try signer.sign(message(path: path, vaultID: vaultID))).base64EncodedString())
        }

        func verify(vaultID: String, publicKey: VaultPublicKey) -> Bool {
            guard let bytes = Data(base64Encoded: signature) else { return false }
            return publicKey.verify(signature: Array(bytes), message: Self.message(path: path, vaultID: vaultID))
        }
    }

    /// Signed from version 3 with the vault key over Binding("strongroom/v3/ledger-head",
    /// vault id, seq, hash); seq 0 and an empty hash while the ledger is empty.
    struct LedgerHead: Codable {
        var seq: Int64
        var hash: String
        var signature: String?

        static func message(seq: Int64, hash: String, vaultID: String) -> [UInt8] {
            var b = Binding(label: "strongroom/v3/ledger-head")
            b.append(vaultID)
            b.append(UInt64(max(0, seq)))
            b.append(hash)
            return b.bytes
        }

        static func signed(seq: Int64, hash: String, vaultID: String, signer: AuditSigner) throws -> LedgerHead {
            LedgerHead(seq: seq, hash: hash, signature: Data(try signer.sign(message(seq: seq, hash: hash, vaultID: vaultID))).base64EncodedString())
        }

        func verify(vaultID: String, publicKey: VaultPublicKey) -> Bool {
            guard seq >= 0, let signature, let bytes = Data(base64Encoded: signature) else { return false }
            return publicKey.verify(signature: Array(bytes), message: Self.message(seq: seq, hash: hash, vaultID: vaultID))
        }
    }

    struct KEKEntry: Codable {
        var id: String
        var state: KEKState
        var school: String?
        var period: String?
        var createdAt: Date
        var retiredAt: Date?
        var destroyedAt: Date?
        var wrapped: String?

        var info: KEKInfo {
            KEKInfo(id: id, state: state, school: school, period: period, createdAt: createdAt, retiredAt: retiredAt, destroyedAt: destroyedAt)
        }
    }

    struct Rotation: Codable {
        var startedAt: Date
    }

    struct SigningKeyEntry: Codable {
        var publicKey: String
        var wrapped: String
    }

    func activeKEK(school: String, period: String) -> KEKEntry? {
        keks.last { $0.state == .active && $0.school == school && $0.period == period }
    }
}
