import Foundation
import KeyManagement
import Storage

/// The key store's own backup and the deletion ledger's export: what a backup operator takes
/// apart from data backups, with no master key (nothing here unwraps anything).
extension Vault {
    public struct KeyStoreBackup: Sendable {
        public var folder: String
        public var files: [String]
        public var ledgerEntries: Int
    }

    func backupKeyStore(to directory: String, by caller: Caller) throws -> KeyStoreBackup {
        try requireOperator(caller, .keysBackup)
        let actor = caller.actor
        let ledger = try exportableLedger()
        let stamp = Self.backupID(clock())
        let folder = directory + "/keys-" + stamp
        try vaulting {
            // A symlink or a file at DIR is refused, never followed: the KEKs go only where named.
            if try !OutputFile.requireFolder(directory) {
                do {
                    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
                } catch {
                    throw StorageError.io(operation: "mkdir", path: directory, errno: EACCES)
                }
            }
            guard mkdir(folder, 0o700) == 0 else { throw StorageError.io(operation: "mkdir", path: folder, errno: errno) }
            // keys/ in the store folder, or the key_files row of a store on PostgreSQL.
            guard let store = try keyFiles.read(KeyStore.fileName) else {
                throw StorageError.io(operation: "read", path: keyFiles.location + "/" + KeyStore.fileName, errno: ENOENT)
            }
            try DurableFile.write(store, to: folder + "/" + KeyStore.fileName, exclusive: true)
            try DurableFile.write(ledger.bytes, to: folder + "/" + DeletionLedger.fileName, exclusive: true)
            try SystemFileOps().fsyncDirectory(directory)
        }
        try audit(AuditEntry(actor: actor, action: .keysBackup, outcome: .ok, reason: "key store and \(ledger.entries) ledger entries to keys-\(stamp)"))
        return KeyStoreBackup(folder: folder, files: [KeyStore.fileName, DeletionLedger.fileName], ledgerEntries: ledger.entries)
    }

    func exportLedger(to path: String, by caller: Caller) throws -> Int {
        try requireOperator(caller, .ledgerExport)
        let actor = caller.actor
        let ledger = try exportableLedger()
        try vaulting { try OutputFile.write(ledger.bytes, to: path, mode: 0o600, replacing: false) }
        try audit(AuditEntry(actor: actor, action: .ledgerExport, outcome: .ok, reason: "\(ledger.entries) entries"))
        return ledger.entries
    }

    /// The ledger's bytes up to its last signed entry, after every check a reader makes.
    func exportableLedger() throws -> (bytes: [UInt8], entries: Int) {
        try vaulting {
            let ledger = DeletionLedger(files: keyFiles, vaultID: vaultID)
            let entries = try ledger.entriesForReading(publicKey: publicKey, head: try KeyStore.ledgerHead(files: keyFiles))
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            var bytes: [UInt8] = []
            for entry in entries { bytes += Array(try encoder.encode(entry)) + [0x0a] }
            return (bytes, entries.count)
        }
    }

    /// UTC time to the millisecond, then 6 random hex digits: ids sort in the order they were
    /// taken, and two taken in the same millisecond do not collide.
    static func backupID(_ date: Date) -> String {
        let millis = Int64((date.timeIntervalSince1970 * 1000).rounded(.down)) % 1000
        return utcStamp(date).dropLast() + "." + String(format: "%03d", millis) + "Z-" + Hex.encode(randomPublicBytes(3))
    }

    static func utcStamp(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return f.string(from: date)
    }
}
