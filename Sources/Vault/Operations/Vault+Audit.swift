import Foundation
import KeyManagement
import SignIn
import Storage

extension Vault {
    /// The audit log and the store's own checks: reading and verifying the log, checkpoints, the witness, verifying and sweeping the blobs, and refusals of unknown callers.
    public var audit: Audit { Audit(vault: self) }

    /// The audit log and the store's own checks: reading and verifying the log, checkpoints, the witness, verifying and sweeping the blobs, and refusals of unknown callers.
    public struct Audit: Sendable {
        let vault: Vault

        /// Verifies the audit log against the vault's public key, or against `publicKey` given by
        /// someone who trusts only that (the key store on disk could have been replaced).
        /// The checkpoints of the store's witness count as kept outside it; `witness` names another
        /// witness file to check against instead.
        public func verifyLog(publicKey: VaultPublicKey? = nil, externalCheckpoint: Checkpoint? = nil, witness: String? = nil, by caller: Caller) throws -> AuditReport {
            try vault.verifyAudit(publicKey: publicKey, externalCheckpoint: externalCheckpoint, witness: witness, by: caller)
        }

        /// The audit trail, whole or of one record. Reading it is itself audited.
        public func log(record: String?, by caller: Caller) throws -> [AuditEvent] {
            try vault.auditLog(record: record, by: caller)
        }

        /// A fresh signed checkpoint covering every event so far (including its own event), for
        /// someone outside the store to keep.
        public func checkpoint(by caller: Caller) throws -> Checkpoint {
            try vault.checkpoint(by: caller)
        }

        /// Names `path` as the store's witness and writes a freshly signed checkpoint to it at once.
        /// The file must be outside the store (someone who can write the store must not be able to
        /// write it); one on the same file system is allowed but reported in the result, since a
        /// lost disk then takes both. An existing witness file must hold this vault's checkpoints
        /// only, and the log must extend every one of them.
        public func setWitness(path: String, by caller: Caller) throws -> (checkpoint: Checkpoint, sameFileSystem: Bool) {
            try vault.setWitness(path: path, by: caller)
        }

        /// Stops copying checkpoints to a witness (audited; the witness file itself is left).
        public func clearWitness(by caller: Caller) throws {
            try vault.clearWitness(by: caller)
        }

        /// Checks every record's blob. With keys, each blob is decrypted and authenticated, like
        /// `restic check --read-data`; without (`useKeys: false`, for someone who holds no keys),
        /// its size, header binding and ciphertext BLAKE2b are checked.
        public func verify(by caller: Caller, useKeys: Bool, progress: ((Int, Int) -> Void)? = nil) throws -> StoreReport {
            try vault.verify(by: caller, useKeys: useKeys, progress: progress)
        }

        /// Removes orphan blobs (no record row, and no put event saying one was committed: what an
        /// upload a crash cut short leaves) and leftover uploads. It takes the store lock
        /// exclusively, so no upload is in flight while it decides what is an orphan. A blob whose
        /// record the audit log says was stored, and whose row is gone without a shred, is evidence
        /// whose metadata was lost: it is kept, and named.
        public func gc(by caller: Caller) throws -> GCReport {
            try vault.gc(by: caller)
        }

        /// Audits an anonymous refusal from `source` (an address, or a network for IPv6): at once
        /// if it is the first from that source in its window, else counted for the window's
        /// summary. `request` is the method and route template, never the raw path.
        public func recordAnonymousRefusal(_ refusal: AnonymousRefusal, request: String? = nil, from source: String) throws {
            try vault.recordAnonymousRefusal(refusal, request: request, from: source)
        }

        /// Writes one summary event per source and action whose window ended (every window when
        /// `all`: at shutdown), all in one append. If it cannot, the counts are kept for next time.
        public func flushAnonymousRefusals(all: Bool = false) throws {
            try vault.flushAnonymousRefusals(all: all)
        }

        /// Audits a request refused before any user was known (no token, unknown or revoked token).
        public func recordAuthenticationFailure(request: String, reason: String) throws {
            try vault.recordAuthenticationFailure(request: request, reason: reason)
        }
    }
}
