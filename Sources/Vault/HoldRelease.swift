import Foundation
import KeyManagement
import Storage

/// Releasing a legal hold takes two people. A hold protects evidence an investigation needs, so
/// one DSL, deputy or DPO only asks for its release (with a reason); a different person of those
/// roles in the school approves, and the approval is what releases it. Until then the hold stays
/// active and nothing it covers can be shredded.
public enum HoldReleasePolicy {
    /// A request not approved within this many days lapses (like a shred request); ask again.
    public static let requestLifetimeDays = 30
}

extension Vault {
    func requestHoldRelease(id: String, reason: String, by caller: Caller) throws -> Hold {
        let principal = try requirePrincipal(.hold, caller)
        try requireRecentFactor(caller, for: "asking to release a legal hold")
        let keys = try requireKeys("a hold release request")
        try requireCapability(.hold, principal, school: nil)
        let reason = try Self.requiredReason(reason)
        let hold = try heldInSchools(id: id, by: principal)
        func refuse(_ why: String) throws -> Never {
            try audit(AuditEntry(actor: principal.actor, action: .holdReleaseRequest, outcome: .refused, school: hold.school,
                                 reason: "\(hold.id): \(why)"))
            throw VaultError.conflict(why)
        }
        guard hold.isActive else { try refuse("hold \(hold.id) was already released") }
        var replacing = ""
        if let pending = hold.releaseRequestedBy {
            guard try lapse(ofReleaseRequest: hold) != nil else {
                try refuse("the release of hold \(hold.id) was already asked for by \(pending); a second person approves it")
            }
            replacing = "; replaces the lapsed request of \(pending)"
        }
        var requested = hold
        requested.releaseRequestedBy = principal.actor.description
        requested.releaseRequestedAccount = principal.account
        requested.releaseRequestedRole = principal.role.rawValue
        requested.releaseRequestedAtMillis = nowMillis
        requested.releaseRequestReason = reason
        do {
            try vaulting {
                try catalog.requestHoldRelease(
                    requested, expected: hold,
                    event: AuditEntry(actor: principal.actor, action: .holdReleaseRequest, outcome: .ok, school: hold.school,
                                      reason: "\(hold.id): release asked\(replacing)"),
                    signer: try keys.auditSigner())
            }
        } catch VaultError.storage(.lifecycleConflict(let why)) {
            try refuse(why)
        }
        return requested
    }

    func approveHoldRelease(id: String, by caller: Caller) throws -> Hold {
        let principal = try requirePrincipal(.hold, caller)
        try requireRecentFactor(caller, for: "releasing a legal hold")
        let keys = try requireKeys("approving a hold release")
        try requireCapability(.hold, principal, school: nil)
        let hold = try heldInSchools(id: id, by: principal)
        func refuse(_ why: String) throws -> Never {
            try audit(AuditEntry(actor: principal.actor, action: .holdRelease, outcome: .refused, school: hold.school,
                                 reason: "\(hold.id): \(why)"))
            throw VaultError.conflict(why)
        }
        guard hold.isActive else { try refuse("hold \(hold.id) was already released") }
        guard let requestedBy = hold.releaseRequestedBy else {
            try refuse("no release of hold \(hold.id) has been asked for: one DSL, deputy or DPO asks, a second approves")
        }
        if hold.releaseRequestedAccount == principal.account || requestedBy == principal.actor.description {
            try refuse("a hold release needs a second person: the requester cannot approve it")
        }
        if let lapse = try lapse(ofReleaseRequest: hold) { try refuse(lapse) }
        var released = hold
        released.releasedBy = principal.actor.description
        released.releasedAtMillis = nowMillis
        released.releaseReason = hold.releaseRequestReason
        do {
            try applyRekey(
                records: { try vaulting { try catalog.records(school: hold.school, scope: hold.scope, target: hold.target) } },
                keys: keys, holds: { try activeHolds(school: hold.school).filter { $0.id != hold.id } }
            ) { updates, count in
                try catalog.releaseHold(
                    released, expected: hold, updates: updates,
                    event: AuditEntry(actor: principal.actor, action: .holdRelease, outcome: .ok, school: hold.school,
                                      reason: "\(hold.id): asked by \(requestedBy), \(count) records"),
                    signer: try keys.auditSigner())
            }
        } catch VaultError.storage(.lifecycleConflict(let why)) {
            try refuse(why)
        }
        return released
    }

    /// The hold `id` if it is in one of the user's schools; else the denial is audited and the
    /// hold looks missing, like one that does not exist.
    func heldInSchools(id: String, by principal: Principal) throws -> Hold {
        guard let hold = try vaulting({ try catalog.hold(id: id) }), principal.schools.contains(hold.school) else {
            try deny(principal, .hold, reason: "no such hold in the user's schools")
            throw VaultError.notFound(LogText.escape(id))
        }
        return hold
    }

    /// Why the hold's pending release request can no longer be approved (nil: it can). The
    /// requester must still be who they were: the same account (by id: a name revoked and added
    /// again is someone else), not revoked, with the same role and school.
    func lapse(ofReleaseRequest hold: Hold) throws -> String? {
        guard let at = hold.releaseRequestedAtMillis else { return "no release of hold \(hold.id) has been asked for" }
        if nowMillis - at > Int64(HoldReleasePolicy.requestLifetimeDays) * 86_400_000 {
            return "the release request of hold \(hold.id) is older than \(HoldReleasePolicy.requestLifetimeDays) days; ask again"
        }
        let requester = try vaulting { try catalog.users() }.first { hold.releaseRequestedAccount != nil && $0.id == hold.releaseRequestedAccount }
        guard let requester, !requester.isRevoked, requester.role == hold.releaseRequestedRole,
              let role = Role(rawValue: requester.role), AccessPolicy.grant(role, .hold) != .denied,
              requester.schools.contains(hold.school) else {
            return "the requester's access was revoked or changed since the release request; ask again"
        }
        return nil
    }
}
