import Foundation
import Hummingbird
import Vault

/// People administration (docs/people.md, docs/openapi.yaml): administrators list, add and
/// revoke the people of their schools; DSLs and administrators decide the roles that wait for
/// a second person. Every change needs a person signed in with a recent second factor.
struct PeopleRoutes {
    let vault: Vault
    let pool: BlockingPool

    func register(on group: RouterGroup<StrongroomContext>) {
        group.get("people", use: list)
        group.post("people", use: add)
        group.delete("people/:account", use: revoke)
        group.get("people/approvals", use: approvals)
        group.post("people/:account/approve") { try await decide(approve: true, $0, $1) }
        group.post("people/:account/decline") { try await decide(approve: false, $0, $1) }
    }

    struct NewPersonBody: Decodable {
        var name: String
        var role: String
        var schools: [String]
        var email: String?
    }

    /// The new person and their link, shown once: `enrolmentPath` holds the token.
    struct AddedPersonJSON: Encodable {
        var account, name, role: String
        var schools: [String]
        var waitsForApproval: Bool
        var enrolmentPath: String
    }

    struct PersonJSON: Encodable {
        var account, name, role, state, addedAt: String
        var schools, factors: [String]
        var recoveryCodesLeft: Int
        var lastSignIn: String?
        init(_ p: PersonEntry) {
            account = p.account; name = p.name; role = p.role; state = p.state.rawValue; schools = p.schools
            factors = p.factors; recoveryCodesLeft = p.recoveryCodesLeft
            lastSignIn = p.lastSignIn.map(iso8601); addedAt = iso8601(p.addedAt)
        }
    }

    struct ApprovalJSON: Encodable {
        var account, name, role, requestedBy, requestedAt: String
        var schools: [String]
        var askedByYou: Bool
        init(_ a: PendingApproval) {
            account = a.account; name = a.name; role = a.role; requestedBy = a.requestedBy
            requestedAt = iso8601(a.requestedAt); schools = a.schools; askedByYou = a.askedByViewer
        }
    }

    @Sendable func list(_ request: Request, context: StrongroomContext) async throws -> Response {
        let caller = try context.requireCaller()
        let vault = self.vault
        let people = try await pool.run { try vault.people.list(by: caller) }
        return try jsonResponse(people.map(PersonJSON.init))
    }

    @Sendable func add(_ request: Request, context: StrongroomContext) async throws -> Response {
        let caller = try context.requireCaller()
        let body = try await LifecycleRoutes.decode(NewPersonBody.self, request)
        guard let role = Role(rawValue: body.role) else {
            throw Problem(status: .badRequest, slug: "invalid-argument", title: "Invalid argument",
                          detail: "role must be one of \(RoleApprovalPolicy.givenOnline.map(\.rawValue).joined(separator: ", "))")
        }
        let vault = self.vault
        let added = try await pool.run { try vault.people.add(name: body.name, role: role, schools: body.schools, email: body.email, by: caller) }
        return try jsonResponse(AddedPersonJSON(
            account: added.user.id, name: added.user.name, role: added.user.role, schools: added.user.schools,
            waitsForApproval: added.waitsForApproval, enrolmentPath: "/enrol/" + added.token), status: .created)
    }

    @Sendable func revoke(_ request: Request, context: StrongroomContext) async throws -> Response {
        let caller = try context.requireCaller()
        let account = context.parameters.get("account") ?? ""
        let vault = self.vault
        try await pool.run { try vault.people.revoke(account: account, by: caller) }
        return Response(status: .noContent)
    }

    @Sendable func approvals(_ request: Request, context: StrongroomContext) async throws -> Response {
        let caller = try context.requireCaller()
        let vault = self.vault
        let list = try await pool.run { try vault.people.approvals(by: caller) }
        return try jsonResponse(list.map(ApprovalJSON.init))
    }

    func decide(approve: Bool, _ request: Request, _ context: StrongroomContext) async throws -> Response {
        let caller = try context.requireCaller()
        let account = context.parameters.get("account") ?? ""
        let vault = self.vault
        try await pool.run {
            if approve { try vault.people.approve(account: account, by: caller) } else { try vault.people.decline(account: account, by: caller) }
        }
        return Response(status: .noContent)
    }
}

/// What waits for the caller, counted: nothing in it names a child, a record or a person.
struct WaitingRoute {
    let vault: Vault
    let pool: BlockingPool

    func register(on group: RouterGroup<StrongroomContext>) {
        group.get("waiting", use: waiting)
    }

    /// Whether a request is the counts' background poll, which does not count as using a session.
    static func isPoll(_ request: Request, _ context: StrongroomContext) -> Bool {
        request.method == .get && context.endpointPath == "/v1/waiting"
    }

    struct WaitingJSON: Encodable {
        var bundlesToApprove, shredsToApprove, peopleToApprove, transfersToApprove, transfersOverdue, total: Int
    }

    @Sendable func waiting(_ request: Request, context: StrongroomContext) async throws -> Response {
        let caller = try context.requireCaller()
        let vault = self.vault
        let counts = try await pool.run { try vault.people.waiting(by: caller) }
        return try jsonResponse(WaitingJSON(bundlesToApprove: counts.bundlesToApprove, shredsToApprove: counts.shredsToApprove,
                                            peopleToApprove: counts.peopleToApprove, transfersToApprove: counts.transfersToApprove,
                                            transfersOverdue: counts.transfersOverdue, total: counts.total))
    }
}
