import Hummingbird
import Vault

/// Resolves the bearer token to a user on every request (a revoked token stops working on the
/// next one). A missing or unknown token is refused with 401, and the refusal is audited,
/// coalesced per source (`Vault.recordAnonymousRefusal`): a flood costs one event per source
/// and minute, not an fsync and an event per request.
struct BearerAuthentication: RouterMiddleware {
    typealias Context = StrongroomContext
    let vault: Vault
    let pool: BlockingPool

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let vault = self.vault
        // Method and route template only: the raw path is the caller's to make as long as it
        // likes, and the query can hold a filename.
        let what = "\(request.method) \(context.endpointPath ?? "unmatched")"
        let source = context.refusalSource
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") else {
            try await pool.run { try vault.recordAnonymousRefusal(.noToken, request: what, from: source) }
            throw Problem.unauthenticated
        }
        let token = String(header.dropFirst("bearer ".count)).trimmingCharacters(in: .whitespaces)
        // A read of one indexed row under WAL: short enough to do here, without a thread hop.
        guard let principal = try vault.authenticate(token: token) else {
            try await pool.run { try vault.recordAnonymousRefusal(.unknownToken, request: what, from: source) }
            throw Problem.unauthenticated
        }
        var context = context
        context.principal = principal
        context.logger[metadataKey: "user"] = .string(principal.name)
        return try await next(request, context)
    }
}
