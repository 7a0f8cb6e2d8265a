import Vault

/// The header's links for a signed-in person: only those their role may use. "Children" for
/// those who see the whole school's records (DSL, deputy, DPO); "Attach evidence" and "My
/// uploads" for those who attach it (staff, DSL, deputy); "Your account" for everyone.
///
///     ConsoleNavigation(principal, current: .children).children   // true for a DSL
struct ConsoleNavigation {
    enum Section { case children, uploads, account, none }

    let children: Bool
    let attach: Bool
    let uploads: Bool
    let childrenCurrent: Bool
    let uploadsCurrent: Bool
    let accountCurrent: Bool

    init(_ principal: Principal, current: Section) {
        children = Self.seesChildren(principal.role)
        attach = AccessPolicy.grant(principal.role, .upload) != .denied
        uploads = Self.seesOwnUploads(principal.role)
        childrenCurrent = children && current == .children
        uploadsCurrent = uploads && current == .uploads
        accountCurrent = current == .account
    }

    /// Finding children and reading chronologies: the roles that list the whole school's records.
    static func seesChildren(_ role: Role) -> Bool { AccessPolicy.grant(role, .list) == .schools }

    /// "My uploads": the roles that attach evidence see what they attached themselves.
    static func seesOwnUploads(_ role: Role) -> Bool {
        AccessPolicy.grant(role, .upload) != .denied && AccessPolicy.grant(role, .list) != .denied
    }
}
