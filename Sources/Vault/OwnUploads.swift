import Foundation
import Storage

/// A person's own uploads across the children and schools they work in: what a member of staff
/// sees of the evidence they attached, since their role sees nothing else. Decided by the
/// account id (`createdByAccount`), never by the name, which a later account may reuse.
extension Vault {
    func ownUploads(limit: Int, offset: Int, by caller: Caller) throws -> [EvidenceRecord] {
        guard (1...1000).contains(limit), offset >= 0 else {
            throw VaultError.invalidArgument("limit must be 1 to 1000 and offset at least 0")
        }
        // The operator has no uploads of their own to list, and a link holder none at all.
        let principal = try requirePrincipal(.list, caller)
        try requireCapability(.list, principal, school: nil)
        let filter = RecordFilter(schools: principal.schools.sorted(), limit: limit, offset: offset, createdByAccount: principal.account)
        let records = try withoutShredded(try vaulting { try catalog.records(matching: filter) }, id: \.id)
        try audit(AuditEntry(actor: caller.actor, action: Capability.list.auditAction, outcome: .ok,
                             reason: "\(records.count) records, own uploads across schools"))
        return records
    }
}
