import Vault

/// The header's links for a signed-in person: only those their role may use. "Children" for
/// those who see the whole school's records (DSL, deputy, DPO); "Attach evidence" and "My
/// uploads" for those who attach it (staff, DSL, deputy); "Bundles" and "Recipients" for those
/// who share (DSL, deputy); "Transfers" for those who send a child's file to a new school (DSL,
/// deputy); "Retention" for those who review it (DSL, deputy, DPO); "People" for
/// administrators; "Oversight" for DSLs, deputies and DPOs; "Waiting for you" and "Your account"
/// for everyone.
///
///     ConsoleNavigation(principal, current: .children).children   // true for a DSL
struct ConsoleNavigation {
    enum Section { case children, uploads, bundles, recipients, transfers, retention, people, oversight, waiting, account, none }

    let children: Bool
    let attach: Bool
    let uploads: Bool
    let bundles: Bool
    let recipients: Bool
    let transfers: Bool
    let retention: Bool
    let people: Bool
    let oversight: Bool
    let childrenCurrent: Bool
    let uploadsCurrent: Bool
    let bundlesCurrent: Bool
    let recipientsCurrent: Bool
    let transfersCurrent: Bool
    let retentionCurrent: Bool
    let peopleCurrent: Bool
    let oversightCurrent: Bool
    let waitingCurrent: Bool
    let accountCurrent: Bool

    init(_ principal: Principal, current: Section) {
        children = Self.seesChildren(principal.role)
        attach = AccessPolicy.grant(principal.role, .upload) != .denied
        uploads = Self.seesOwnUploads(principal.role)
        bundles = AccessPolicy.grant(principal.role, .share) != .denied
        recipients = bundles
        transfers = Self.sendsTransfers(principal.role)
        retention = AccessPolicy.grant(principal.role, .retention) != .denied
        people = principal.role == .admin
        oversight = Self.seesOversight(principal.role)
        childrenCurrent = children && current == .children
        uploadsCurrent = uploads && current == .uploads
        bundlesCurrent = bundles && current == .bundles
        recipientsCurrent = recipients && current == .recipients
        transfersCurrent = transfers && current == .transfers
        retentionCurrent = retention && current == .retention
        peopleCurrent = people && current == .people
        oversightCurrent = oversight && current == .oversight
        waitingCurrent = current == .waiting
        accountCurrent = current == .account
    }

    /// Finding children and reading chronologies: the roles that list the whole school's records.
    static func seesChildren(_ role: Role) -> Bool { AccessPolicy.grant(role, .list) == .schools }

    /// "My uploads": the roles that attach evidence see what they attached themselves.
    static func seesOwnUploads(_ role: Role) -> Bool {
        AccessPolicy.grant(role, .upload) != .denied && AccessPolicy.grant(role, .list) != .denied
    }

    /// Sending a child's file to a new school and receiving one: DSLs and deputies.
    static func sendsTransfers(_ role: Role) -> Bool { AccessPolicy.grant(role, .transfer) != .denied }

    /// Counts by school and month, with no one in them: for those who answer for a school's
    /// safeguarding (DSL, deputy, DPO).
    static func seesOversight(_ role: Role) -> Bool { [.dsl, .deputy, .dpo].contains(role) }
}
