import Foundation
import Storage

extension Vault {
    /// Removes an agency from a school's directory (DSLs, deputies, the operator). Bundles
    /// already released to it stay as they were; a draft to it is refused at release, since the
    /// recipient it names is gone.
    func removeRecipient(school: String, name: String, by caller: Caller) throws {
        let principal = try principalOrOperator(.share, caller)
        if let principal { try requireSchool(.share, principal, school: school) }
        try vaulting { try OpaqueID.validate(school, field: "school id") }
        let removed = try vaulting {
            try catalog.removeRecipient(
                school: school, name: name,
                event: AuditEntry(actor: caller.actor, action: .recipientRemove, outcome: .ok, school: school, reason: LogText.escape(name)),
                signer: signer)
        }
        guard removed else { throw VaultError.notFound("no recipient of that name in this school") }
    }
}
