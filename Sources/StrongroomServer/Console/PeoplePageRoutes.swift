import Foundation
import Hummingbird
import Storage
import Vault

/// The console's people pages (docs/people.md). GETs that change nothing: each check page's
/// script calls the JSON route (`PeopleRoutes`), and when the vault asks for a recent second
/// factor it sends the person to /confirm and back to the same page, where they press the
/// button again (a page never acts by itself on arrival, so a link from elsewhere cannot act).
///
/// - `/people`: the administrator's people, with how they sign in and where they stand.
/// - `/people/add`, then `/people/add/check?name=N&role=R&school=S...`: add a person; the link once.
/// - `/people/{account}/remove`: check, then remove a person's access.
/// - `/people/approvals`, `/people/approvals/{account}`: roles waiting for a second person.
struct PeoplePageRoutes {
    static let paths: Set<String> = [
        "GET /people", "GET /people/add", "GET /people/add/check", "GET /people/{account}/remove",
        "GET /people/approvals", "GET /people/approvals/{account}",
    ]

    let console: ConsoleRoutes
    var vault: Vault { console.vault }
    var pool: BlockingPool { console.pool }
    var pages: ConsolePages { console.pages }

    func register(on group: RouterGroup<StrongroomContext>) {
        group.get("people", use: people)
        group.get("people/add", use: addPerson)
        group.get("people/add/check", use: checkPerson)
        group.get("people/:account/remove", use: removePerson)
        group.get("people/approvals", use: approvals)
        group.get("people/approvals/:account", use: approval)
    }

    static let adminsOnly = Problem(status: .forbidden, slug: "forbidden", title: "You cannot see this page",
                                    detail: "only administrators add and remove people")
    static let approversOnly = Problem(status: .forbidden, slug: "forbidden", title: "You cannot see this page",
                                       detail: "roles are approved by a DSL or an administrator")


    /// The signed-in administrator, or the sign-in page, or "not allowed".
    private func administrator(_ request: Request) async throws -> (Caller, Principal)? {
        guard let (caller, principal, _) = try await console.person(request) else { return nil }
        guard principal.role == .admin else { throw Self.adminsOnly }
        return (caller, principal)
    }

    @Sendable func people(_ request: Request, context: StrongroomContext) async throws -> Response {
        guard let (caller, principal) = try await administrator(request) else { return console.signInFirst(request) }
        let vault = self.vault
        let people = try await pool.run { try vault.people.list(by: caller) }
        let notice: String? = switch request.uri.queryParameters.get("done") {
        case "removed": "The person's access has been removed. Their sessions end on their next request."
        default: nil
        }
        return try pages.render("people", PeoplePage(principal, people: people, notice: notice))
    }

    @Sendable func addPerson(_ request: Request, context: StrongroomContext) async throws -> Response {
        guard let (_, principal) = try await administrator(request) else { return console.signInFirst(request) }
        let query = request.uri.queryParameters
        return try pages.render("people-add", AddPersonPage(
            principal, name: query.get("name") ?? "", email: query.get("email") ?? "", role: query.get("role"),
            schools: Set(query.getAll("school").map { String($0) }), errors: []))
    }

    @Sendable func checkPerson(_ request: Request, context: StrongroomContext) async throws -> Response {
        guard let (_, principal) = try await administrator(request) else { return console.signInFirst(request) }
        let query = request.uri.queryParameters
        let name = (query.get("name") ?? "").trimmingCharacters(in: .whitespaces)
        let roleText = query.get("role")
        let email = (query.get("email") ?? "").trimmingCharacters(in: .whitespaces)
        let schools = Array(Set(query.getAll("school").map { String($0) })).sorted()
        var errors: [FieldError] = []
        if name.isEmpty {
            errors.append(FieldError(text: "Enter the person's user name", field: "name"))
        } else if !OpaqueID.isValid(name) {
            errors.append(FieldError(text: "A user name may use only letters, numbers, dots, dashes and underscores, up to 64", field: "name"))
        }
        if !email.isEmpty, !AlertAddress.isValid(email) {
            errors.append(FieldError(text: "Enter an email address like name@school.example, or leave it empty", field: "email"))
        }
        let role = roleText.flatMap(Role.init(rawValue:)).flatMap { RoleApprovalPolicy.givenOnline.contains($0) ? $0 : nil }
        if role == nil { errors.append(FieldError(text: "Choose the person's role", field: "role-staff")) }
        let firstSchool = "school-" + (principal.schools.sorted().first ?? "")
        if schools.isEmpty { errors.append(FieldError(text: "Choose at least one school", field: firstSchool)) }
        if !schools.allSatisfy(principal.schools.contains) {
            errors.append(FieldError(text: "Choose only schools you administer", field: firstSchool))
        }
        guard errors.isEmpty, let role else {
            return try pages.render("people-add", AddPersonPage(principal, name: name, email: email, role: roleText, schools: Set(schools),
                                                                errors: errors),
                                    status: .badRequest)
        }
        let change = "/people/add?" + (request.uri.query ?? "")
        return try pages.render("people-check", CheckPersonPage(principal, name: name, role: role, schools: schools, email: email, changeHref: change))
    }

    @Sendable func removePerson(_ request: Request, context: StrongroomContext) async throws -> Response {
        guard let (caller, principal) = try await administrator(request) else { return console.signInFirst(request) }
        let account = context.parameters.get("account") ?? ""
        let vault = self.vault
        let people = try await pool.run { try vault.people.list(by: caller) }
        guard let person = people.first(where: { $0.account == account && $0.state != .revoked && $0.state != .declined }) else {
            throw ReadingRoutes.notFound
        }
        guard person.account != principal.account else {
            throw Problem(status: .forbidden, slug: "forbidden", title: "You cannot remove your own access",
                          detail: "ask another administrator of your school, or the operator")
        }
        return try pages.render("people-remove", RemovePersonPage(principal, person: person))
    }

    /// A DSL or an administrator (who decide roles), or the sign-in page, or "not allowed".
    private func approver(_ request: Request) async throws -> (Caller, Principal)? {
        guard let (caller, principal, _) = try await console.person(request) else { return nil }
        guard RoleApprovalPolicy.approvers.contains(principal.role) else { throw Self.approversOnly }
        return (caller, principal)
    }

    @Sendable func approvals(_ request: Request, context: StrongroomContext) async throws -> Response {
        guard let (caller, principal) = try await approver(request) else { return console.signInFirst(request) }
        let vault = self.vault
        let list = try await pool.run { try vault.people.approvals(by: caller) }
        let notice: String? = switch request.uri.queryParameters.get("done") {
        case "approved": "Approved. The person's link now works for 72 hours."
        case "declined": "Declined. The person's account has been closed and their link will never work."
        default: nil
        }
        return try pages.render("people-approvals", ApprovalsPage(principal, approvals: list, notice: notice))
    }

    @Sendable func approval(_ request: Request, context: StrongroomContext) async throws -> Response {
        guard let (caller, principal) = try await approver(request) else { return console.signInFirst(request) }
        let account = context.parameters.get("account") ?? ""
        let vault = self.vault
        let list = try await pool.run { try vault.people.approvals(by: caller) }
        guard let found = list.first(where: { $0.account == account }) else { throw ReadingRoutes.notFound }
        guard !found.askedByViewer else {
            throw Problem(status: .forbidden, slug: "forbidden", title: "Someone else must decide this",
                          detail: "you asked for this role, so a DSL or another administrator of the school must approve it")
        }
        return try pages.render("people-approval", ApprovalPage(principal, approval: found))
    }
}
