import Foundation
import Storage

/// How many things wait for one person to act on: counts only, so that an alert (the header's
/// count, an email) can say that something waits without saying what (docs/alerts.md).
public struct WaitingCounts: Sendable, Equatable {
    /// Bundle drafts of their schools someone else made (DSLs and deputies approve them).
    public var bundlesToApprove: Int
    /// Shred requests waiting for their side: a DPO's for a DSL or deputy, theirs for a DPO.
    public var shredsToApprove: Int
    /// People added with a role that needs a second person (DSLs and administrators agree).
    public var peopleToApprove: Int
    /// Transfer drafts of their schools someone else made (DSLs and deputies approve them).
    public var transfersToApprove: Int
    /// Transfers sent with no verified receipt five school days later.
    public var transfersOverdue: Int

    public var total: Int { bundlesToApprove + shredsToApprove + peopleToApprove + transfersToApprove + transfersOverdue }

    public init(bundlesToApprove: Int = 0, shredsToApprove: Int = 0, peopleToApprove: Int = 0, transfersToApprove: Int = 0,
                transfersOverdue: Int = 0) {
        self.bundlesToApprove = bundlesToApprove
        self.shredsToApprove = shredsToApprove
        self.peopleToApprove = peopleToApprove
        self.transfersToApprove = transfersToApprove
        self.transfersOverdue = transfersOverdue
    }
}

extension Vault {
    /// Reading counts of one's own queue is not audited: the header asks every minute, and the
    /// counts name nothing; what is opened from them is audited where it is opened.
    func waiting(by caller: Caller) throws -> WaitingCounts {
        guard let principal = caller.principal else { return WaitingCounts() }
        let schools = principal.schools.sorted()
        let safeguarding: Set<Role> = [.dsl, .deputy]
        var counts = WaitingCounts()
        try vaulting {
            if safeguarding.contains(principal.role) {
                counts.bundlesToApprove = try catalog.draftBundleCount(schools: schools, notCreatedBy: principal.actor.description)
            }
            // The other side of ShredPolicy.complementary, within the request's lifetime.
            let askers: [Role] = principal.role == .dpo ? [.dsl, .deputy] : safeguarding.contains(principal.role) ? [.dpo] : []
            let since = nowMillis - Int64(ShredPolicy.requestLifetimeDays) * 86_400_000
            counts.shredsToApprove = try catalog.pendingShredCount(
                schools: schools, requestedRoles: askers.map(\.rawValue), requestedAfterMillis: since, notBy: principal.account)
        }
        counts.peopleToApprove = try peopleWaiting(for: principal)
        (counts.transfersToApprove, counts.transfersOverdue) = try transfersWaiting(for: principal)
        return counts
    }
}
