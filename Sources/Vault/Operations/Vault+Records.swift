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

        /// A preview of a record (a PDF's page `page`, from 1), drawn by the server: audited as
        /// `view`; no step-up, as the evidence is looked at, not taken away.
        public func preview(id: String, page: Int = 1, by caller: Caller) throws -> RecordPreview {
            try vault.preview(id: id, page: page, by: caller)
        }

        /// Draws a body map of `marks` (where injuries were seen, on `BodyOutline`) and stores the
        /// drawing, with the marks inside it, as a body-map record.
        public func saveBodyMap(school: String, child: String, concern: String, marks: [BodyMark], by caller: Caller) throws -> EvidenceRecord {
            try vault.saveBodyMap(school: school, child: child, concern: concern, marks: marks, by: caller)
        }

        /// The marks of a body map drawn here, as a list (audited as a view).
        public func bodyMapMarks(id: String, by caller: Caller) throws -> [BodyMark] {
            try vault.bodyMapMarks(id: id, by: caller)
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

        /// The caller's own uploads in their schools, oldest first, one page at a time: what a
        /// member of staff sees of what they attached. A person or an integration account.
        public func ownUploads(limit: Int, offset: Int, by caller: Caller) throws -> [EvidenceRecord] {
            try vault.ownUploads(limit: limit, offset: offset, by: caller)
        }

        /// Sets a child's label (how the school's people know them) in `school`: sealed under the
        /// school's label key, never logged. A DSL or deputy, or the school's record system.
        public func setChildLabel(child: String, school: String, label: String, by caller: Caller) throws {
            try vault.setLabel(.child, subject: child, school: school, text: label, by: caller)
        }

        /// A child's label, for someone who sees the school's records; nil when there is none.
        public func childLabel(child: String, school: String, by caller: Caller) throws -> String? {
            try vault.label(.child, subject: child, school: school, by: caller)
        }

        /// Sets a concern's title in `school`, as `setChildLabel`.
        public func setConcernTitle(concern: String, school: String, title: String, by caller: Caller) throws {
            try vault.setLabel(.concern, subject: concern, school: school, text: title, by: caller)
        }

        /// A concern's title; nil when there is none.
        public func concernTitle(concern: String, school: String, by caller: Caller) throws -> String? {
            try vault.label(.concern, subject: concern, school: school, by: caller)
        }

        /// Children whose label contains `query` in the caller's schools (or `school`), searched
        /// in memory after the labels are opened.
        public func findChildren(matching query: String, school: String? = nil, by caller: Caller) throws -> [(school: String, child: String, label: String)] {
            try vault.findChildren(matching: query, school: school, by: caller)
        }

        /// A child's chronology as a PDF to print for a meeting: dates, kinds, concerns (with
        /// titles), who added each item, review dates, holds and shares, with the child's label,
        /// never the evidence; the school, the person printing and the time on every page.
        /// For those who see the school's records; audited as `print`.
        public func printChronology(child: String, school: String, by caller: Caller) throws -> [UInt8] {
            try vault.printChronology(child: child, school: school, by: caller)
        }

        /// Records of any school in chronological order, after an audit event naming the filter:
        /// the operator's view across schools (people use `chronology`).
        public func list(_ filter: RecordFilter, by caller: Caller) throws -> [EvidenceRecord] {
            try vault.list(filter, by: caller)
        }
    }
}
