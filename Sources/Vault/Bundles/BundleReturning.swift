import Foundation
import Storage

/// Sending a draft back: the second DSL or deputy who would release it does not, and says why.
/// The creator sees it returned with the comment and can draft it again; it is never released.
extension Vault {
    func returnBundle(id: String, comment: String, by caller: Caller) throws -> BundleRow {
        let principal = try principalOrOperator(.share, caller)
        let who = caller.actor
        let bundle = try visibleBundle(id, principal: principal, action: .bundleReturn)
        guard bundle.state == .draft else {
            throw VaultError.conflict("only a draft waiting for approval can be sent back; this bundle is \(bundle.state.rawValue)")
        }
        guard bundle.createdBy != who.description else {
            try audit(AuditEntry(actor: who, action: .bundleReturn, outcome: .denied, school: bundle.school,
                                 reason: "\(id): the creator may not send back their own draft"))
            throw VaultError.forbidden("a draft is sent back by the second DSL or deputy who checks it, not by its creator")
        }
        let text = try Self.directoryText(comment, field: "comment", limit: 1000, required: true, subject: "the")
        let back = BundleReturn(by: who.description, atMillis: nowMillis, comment: text)
        do {
            try vaulting {
                try catalog.returnBundle(id: id, back, event: AuditEntry(
                    actor: who, action: .bundleReturn, outcome: .ok, school: bundle.school,
                    reason: "\(id): sent back to \(bundle.createdBy)"), signer: signer)
            }
        } catch VaultError.storage(.lifecycleConflict(let why)) {
            throw VaultError.conflict(why)
        }
        var row = bundle
        row.state = .returned
        row.returnedBy = back.by
        row.returnedAtMillis = back.atMillis
        row.returnComment = back.comment
        return row
    }
}
