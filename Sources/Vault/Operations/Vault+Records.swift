import Foundation
import KeyManagement
import SignIn
import Storage

extension Vault {
    /// Evidence: uploads, downloads, metadata, a record's trail and a child's chronology.
    public var records: Records { Records(vault: self) }

    /// Evidence: uploads, downloads, metadata, a record's trail and a child's chronology.
    public struct Records: Sendable {
        let vault: Vault

        /// Starts a streaming upload into `request.school`: feed it with `write` as bytes arrive,
        /// then `finish`. A person or an integration needs the upload grant in that school.
        public func beginPut(_ request: PutRequest, by caller: Caller) throws -> IngestSession {
            try vault.beginPut(request, by: caller)
        }

        /// Reads a whole file descriptor into a put: the CLI's path.
        public func put(from fd: Int32, _ request: PutRequest, by caller: Caller, progress: ((Int64) -> Void)? = nil) throws -> EvidenceRecord {
            try vault.put(from: fd, request, by: caller, progress: progress)
        }

        /// A record's plaintext, chunk by chunk, its audit event already durable. A person must
        /// have given a second factor within the step-up window.
        public func download(id: String, by caller: Caller) throws -> RecordDownload {
            try vault.download(id: id, by: caller)
        }

        /// Streams a record's plaintext to `sink`, after its audit event is durable. Every chunk is
        /// authenticated before it reaches the sink; the size and SHA-256 are checked before the last
        /// chunk is handed over, and a failure after bytes were sent is thrown (the caller discards
        /// what it received).
        @discardableResult
        public func get(id: String, by caller: Caller, to sink: (UnsafeRawBufferPointer) throws -> Void) throws -> EvidenceRecord {
            try vault.get(id: id, by: caller, to: sink)
        }

        /// A record's metadata, after its audit event.
        public func show(id: String, by caller: Caller) throws -> EvidenceRecord {
            try vault.show(id: id, by: caller)
        }

        /// The audit events naming a record, after an event recording that read.
        public func auditTrail(id: String, by caller: Caller) throws -> (EvidenceRecord, [AuditEvent]) {
            try vault.auditTrail(id: id, by: caller)
        }

        /// A child's records in one school, oldest first, one page at a time.
        public func chronology(child: String, school: String, limit: Int, offset: Int, by caller: Caller) throws -> [EvidenceRecord] {
            try vault.chronology(child: child, school: school, limit: limit, offset: offset, by: caller)
        }

        /// A child's records in one school, oldest first, one page at a time, and what of them was
        /// shared, with whom, when, by whom and why (for roles that see the whole school; a staff
        /// member seeing their own uploads gets no shares).
        public func chronologyAndShares(child: String, school: String, limit: Int, offset: Int, by caller: Caller) throws -> (records: [EvidenceRecord], shares: [ShareEntry]) {
            try vault.chronologyAndShares(child: child, school: school, limit: limit, offset: offset, by: caller)
        }

        /// Records of any school in chronological order, after an audit event naming the filter:
        /// the operator's view across schools (people use `chronology`).
        public func list(_ filter: RecordFilter, by caller: Caller) throws -> [EvidenceRecord] {
            try vault.list(filter, by: caller)
        }
    }
}
