import Foundation
import KeyManagement
import SignIn
import Storage

extension Vault {
    /// Retention, legal holds and two-person crypto-shredding.
    public var lifecycle: Lifecycle { Lifecycle(vault: self) }

    /// Retention, legal holds and two-person crypto-shredding.
    public struct Lifecycle: Sendable {
        let vault: Vault

        /// Records a child's date of birth in `school` and moves their records there to the review
        /// dates (and period KEKs) it implies. `dob` is `YYYY-MM-DD`, not in the future. Only the
        /// operator may leave `school` out, meaning the child id in every school.
        public func setDateOfBirth(child: String, dob: String, school: String? = nil, by caller: Caller) throws -> Int {
            try vault.setDateOfBirth(child: child, dob: dob, school: school, by: caller)
        }

        /// The records a date of birth would move and the review date each would get, exactly as
        /// `setDateOfBirth` with the same arguments would set them now; saves nothing.
        public func previewDateOfBirth(child: String, dob: String, school: String? = nil, by caller: Caller) throws -> [ReviewDateChange] {
            try vault.previewDateOfBirth(child: child, dob: dob, school: school, by: caller)
        }

        /// What is due for review on `asOf` (default today), per school: only the caller's schools
        /// for a user, and only `school` when given.
        public func retentionDue(asOf: String? = nil, school: String? = nil, by caller: Caller) throws -> [RetentionDue] {
            try vault.retentionDue(asOf: asOf, school: school, by: caller)
        }

        public func placeHold(school: String, scope: Hold.Scope, target: String, reason: String, by caller: Caller) throws -> Hold {
            try vault.placeHold(school: school, scope: scope, target: target, reason: reason, by: caller)
        }

        /// Active holds of the user's schools (of `school` when given).
        public func holds(school: String?, by caller: Caller) throws -> [Hold] {
            try vault.holds(school: school, by: caller)
        }

        /// Asks for a hold's release; returns the hold with its pending request. Refused while
        /// another request is pending and has not lapsed.
        public func requestHoldRelease(id: String, reason: String, by caller: Caller) throws -> Hold {
            try vault.requestHoldRelease(id: id, reason: reason, by: caller)
        }

        /// Approves another person's request to release a hold, which releases it: the records it
        /// held go back to their retention periods' KEKs and may be shredded again (by a fresh request).
        public func approveHoldRelease(id: String, by caller: Caller) throws -> Hold {
            try vault.approveHoldRelease(id: id, by: caller)
        }

        public func requestShred(school: String, records ids: [String], reason: String, by caller: Caller) throws -> ShredRequest {
            try vault.requestShred(school: school, records: ids, reason: reason, by: caller)
        }

        /// Approves another person's request and executes it; returns the signed certificate.
        public func approveShred(id: String, by caller: Caller) throws -> CertificateOfDestruction {
            try vault.approveShred(id: id, by: caller)
        }

        /// The stored certificate of an executed request, for a user of its school.
        public func shredCertificate(id: String, by caller: Caller) throws -> CertificateOfDestruction {
            try vault.shredCertificate(id: id, by: caller)
        }

        /// The shred requests of the user's schools (of `school` when given), newest first, each
        /// pending one with its records as they are now.
        public func shredRequests(school: String?, by caller: Caller) throws -> [ShredRequestEntry] {
            try vault.shredRequests(school: school, by: caller)
        }

        /// Takes back one's own pending shred request; it can then never be approved.
        public func withdrawShred(id: String, by caller: Caller) throws -> ShredRequest {
            try vault.withdrawShred(id: id, by: caller)
        }

        /// The stored certificate file of an executed request, byte for byte and not verified: for
        /// showing whether it verifies (with `CertificateOfDestruction.verify`), and what it says.
        public func storedCertificate(id: String, by caller: Caller) throws -> [UInt8] {
            try vault.storedCertificate(id: id, by: caller)
        }

        public func shredRequest(id: String) throws -> ShredRequest? {
            try vault.shredRequest(id: id)
        }

        /// Finishes shreds a crash interrupted. Runs when a store is opened with its master key.
        @discardableResult
        public func finishUnfinishedShreds() throws -> Int {
            try vault.finishUnfinishedShreds()
        }
    }
}
