import HTTPTypes
import Hummingbird
import SignIn
import Vault

/// Resolves who is calling on every request to /v1: a bearer token (an integration) or the
/// session cookie (a person). A revoked token or person stops working on the next request. A
/// missing or unknown credential is refused with 401, audited and coalesced per source
/// (`Vault.recordAnonymousRefusal`). With the cookie, a state change also needs the session's
/// CSRF token in `X-CSRF-Token` and this service's `Origin`, else 403 (audited, coalesced).
struct Authentication: RouterMiddleware {
    typealias Context = StrongroomContext
    let vault: Vault
    let pool: BlockingPool
    let origin: ServiceOrigin

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let vault = self.vault
        // Method and route template only: the raw path is the caller's to make as long as it
        // likes, and the query can hold a filename.
        let what = "\(request.method) \(context.endpointPath ?? "unmatched")"
        let source = context.refusalSource
        var context = context
        if let header = request.headers[.authorization] {
            guard header.lowercased().hasPrefix("bearer ") else {
                try await pool.run { try vault.audit.recordAnonymousRefusal(.noToken, request: what, from: source) }
                throw Problem.unauthenticated
            }
            let token = String(header.dropFirst("bearer ".count)).trimmingCharacters(in: .whitespaces)
            // A read of one indexed row under WAL: short enough to do here, without a thread hop.
            guard let principal = try vault.users.authenticate(token: token) else {
                try await pool.run { try vault.audit.recordAnonymousRefusal(.unknownToken, request: what, from: source) }
                throw Problem.unauthenticated
            }
            context.caller = .integration(principal)
        } else if let token = SessionCookie.token(in: request) {
            // The header's count of what waits polls by itself: that is not the person using
            // Strongroom, so it must not keep an unattended session from timing out.
            let touching = !WaitingRoute.isPoll(request, context)
            guard let caller = try await pool.run({ try vault.users.resolveSession(token: token, touching: touching) }) else {
                try await pool.run { try vault.audit.recordAnonymousRefusal(.unknownToken, request: what, from: source) }
                throw Problem.unauthenticated
            }
            if request.method.changesState {
                let csrf = request.headers[.csrfToken] ?? ""
                guard ConstantTime.equal(Array(csrf.utf8), Array(Vault.csrfToken(forSession: token).utf8)), origin.matches(request) else {
                    try await pool.run { try vault.audit.recordAnonymousRefusal(.crossSite, request: "\(what) as \(caller.actor)", from: source) }
                    throw Problem.crossSite
                }
            }
            context.caller = caller
            context.sessionToken = token
        } else {
            try await pool.run { try vault.audit.recordAnonymousRefusal(.noToken, request: what, from: source) }
            throw Problem.unauthenticated
        }
        context.logger[metadataKey: "user"] = .string(context.caller?.principal?.name ?? "")
        return try await next(request, context)
    }
}

extension HTTPField.Name {
    static let csrfToken = Self("X-CSRF-Token")!
}
