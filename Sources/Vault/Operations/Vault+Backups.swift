import Foundation
import KeyManagement
import SignIn
import Storage

extension Vault {
    /// Backups an operator takes and checks without reading them, and what they need beside them (the key store, the deletion ledger).
    public var backups: Backups { Backups(vault: self) }

    /// Backups an operator takes and checks without reading them, and what they need beside them (the key store, the deletion ledger).
    public struct Backups: Sendable {
        let vault: Vault

        /// Takes a backup into the folder `directory` while the store keeps serving, without the
        /// master key: a database snapshot by VACUUM INTO, every blob it references that the folder
        /// does not hold yet, a file list with sizes and BLAKE2b-256, and a manifest signed with the
        /// backup operator's key (docs/backup.md). The snapshot appears only once all of it is durable.
        public func create(to directory: String, signingKey: AuditSigner, by caller: Caller) throws -> BackupSummary {
            try vault.createBackup(to: directory, signingKey: signingKey, by: caller)
        }

        /// Keeps the `keep` snapshots most recently created (by the signed creation time in their
        /// manifests) and removes the others, then every file under `blobs/` no kept snapshot lists
        /// and any leftover of an interrupted backup or prune. Refuses, removing nothing, if a
        /// snapshot's manifest does not load (with `publicKey`, if given, or else the key it names):
        /// its blobs could not be told apart from unreferenced ones. Never follows a symlink.
        ///
        /// `discard` names snapshots to remove whatever they hold (one that does not load, or was
        /// signed by another key, would otherwise block every prune); their blobs go if no kept
        /// snapshot lists them. Without `publicKey`, every snapshot must name one signing key and
        /// one vault: a snapshot slipped in under another key cannot decide what is deleted.
        ///
        /// Run on the store the snapshots were taken from (opened without a key): each removal is a
        /// `backup-prune` event in its log, written before anything is removed, so that comparing
        /// the folder with the log (`backup verify --store`) tells a prune from a deletion.
        public func prune(at directory: String, keep: Int, publicKey: VaultPublicKey? = nil, discard: [String] = [], by caller: Caller) throws -> PruneSummary {
            try vault.pruneBackups(at: directory, keep: keep, publicKey: publicKey, discard: discard, by: caller)
        }

        /// `verifyBackup`, then every record of every snapshot decrypted and authenticated with this
        /// store's keys (like `restic check --read-data`). Audited in this store.
        public func verifyDeeply(at directory: String, publicKey: VaultPublicKey, snapshot only: String? = nil, by caller: Caller) throws -> BackupReport {
            try vault.verifyBackupDeeply(at: directory, publicKey: publicKey, snapshot: only, by: caller)
        }

        /// Copies `keystore.json` (every key still wrapped by the master key) and the deletion ledger
        /// into a new folder `DIR/keys-<UTC time>`, each file fsynced. Never the master key file.
        /// Keep these copies no longer than the key-store backup window (35 days).
        public func backupKeyStore(to directory: String, by caller: Caller) throws -> KeyStoreBackup {
            try vault.backupKeyStore(to: directory, by: caller)
        }

        /// Writes the deletion ledger, checked first (chain, signatures, not shorter than the key
        /// store recorded), to `path` (which must not exist). Returns the number of entries.
        public func exportLedger(to path: String, by caller: Caller) throws -> Int {
            try vault.exportLedger(to: path, by: caller)
        }
    }
}
