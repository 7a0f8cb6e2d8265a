import Foundation
import KeyManagement
import SignIn
import Storage

extension Vault {
    /// The key hierarchy: KEK status and rotation, retired KEKs, the master key.
    public var keys: Keys { Keys(vault: self) }

    /// The key hierarchy: KEK status and rotation, retired KEKs, the master key.
    public struct Keys: Sendable {
        let vault: Vault

        public func status(by caller: Caller) throws -> [KEKStatus] {
            try vault.keyStatus(by: caller)
        }

        /// Rotates every KEK: new KEKs per school and period, every live data key re-wrapped under
        /// them in batches, the old KEKs retired. Resumes an interrupted rotation instead of starting
        /// another; uploads and downloads go on meanwhile (each row changes atomically).
        public func rotateKEKs(by caller: Caller, batchSize: Int = 5000, progress: ((Int) -> Void)? = nil) throws -> RotationReport {
            try vault.rotateKEKs(by: caller, batchSize: batchSize, progress: progress)
        }

        /// Destroys retired KEKs older than `olderThanDays` that no live record uses.
        public func destroyRetiredKEKs(olderThanDays days: Int = Vault.keyStoreBackupWindowDays, by caller: Caller) throws -> [String] {
            try vault.destroyRetiredKEKs(olderThanDays: days, by: caller)
        }

        /// Re-wraps every KEK and the signing key under a new master key (a new key file, or a
        /// passphrase). The old master key opens nothing afterwards.
        public func rotateMasterKey(to newMaster: MasterKeySource, by caller: Caller) throws {
            try vault.rotateMasterKey(to: newMaster, by: caller)
        }
    }
}
