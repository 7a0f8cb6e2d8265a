import Foundation
import KeyManagement
import Storage

/// Drafting a transfer: a DSL or deputy names a child and a school from the directory. Nothing
/// is read or sent yet; a second DSL or deputy approves it, which makes and sends the package.
extension Vault {
    /// At most this many records travel in one transfer, and at most this much content.
    public static let maxTransferRecords = 5_000
    public static let maxTransferBytes: Int64 = 512 << 20

    func createTransfer(school: String, child: String, toSchool: String, reason: String, by caller: Caller) throws -> TransferRow {
        let principal = try principalOrOperator(.transfer, caller)
        let who = caller.actor
        if let principal { try requireSchool(.transfer, principal, school: school) }
        try vaulting {
            try OpaqueID.validate(school, field: "school id")
            try OpaqueID.validate(child, field: "child id")
            try OpaqueID.validate(toSchool, field: "the receiving school's id")
        }
        let keys = try requireKeys("a transfer")
        let reason = try Self.requiredReason(reason)
        guard let pinned = try verifiedPin(owner: school, school: toSchool) else {
            try audit(AuditEntry(actor: who, action: .transferCreate, outcome: .refused, school: school, child: child,
                                 reason: "school \(toSchool) is not in the school's directory"))
            throw VaultError.invalidArgument("school \(toSchool) is not in your directory of schools: add its card (and check its fingerprint) first")
        }
        let records = try transferRecords(school: school, child: child)
        guard !records.isEmpty else {
            try audit(AuditEntry(actor: who, action: .transferCreate, outcome: .refused, school: school, child: child,
                                 reason: "the child has no records in this school"))
            throw VaultError.notFound("records of child \(child) in school \(school)")
        }
        let row = TransferRow(id: RecordID.generate(), school: school, child: child, toSchool: toSchool, toFingerprint: pinned.fingerprint, reason: reason,
                              createdBy: who.description, createdAccount: principal?.account, createdAtMillis: nowMillis)
        try vaulting {
            try catalog.addTransfer(row, event: AuditEntry(
                actor: who, action: .transferCreate, outcome: .ok, school: school, child: child,
                reason: "\(row.id): draft to school \(toSchool) (fingerprint \(pinned.fingerprint)), \(records.count) record\(records.count == 1 ? "" : "s"): \(reason)"),
                signer: try keys.auditSigner())
        }
        return row
    }

    /// Every live record of the child in the school, oldest first: what a transfer carries.
    func transferRecords(school: String, child: String) throws -> [EvidenceRecord] {
        let records = try withoutShredded(try vaulting { try catalog.records(matching: RecordFilter(school: school, child: child)) }, id: \.id)
        guard records.count <= Self.maxTransferRecords else {
            throw VaultError.invalidArgument("the child has \(records.count) records; a transfer carries at most \(Self.maxTransferRecords)")
        }
        return records.sorted { ($0.createdAtMillis, $0.id) < ($1.createdAtMillis, $1.id) }
    }
}
