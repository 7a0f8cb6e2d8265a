import HTTPTypes
import Hummingbird

/// Adds `Strict-Transport-Security` to every response of the HTTPS listener, problem documents
/// included: a browser that once reached the vault over HTTPS never again tries plain HTTP for
/// it (where a network attacker could strip TLS). Not installed on a plain-HTTP listener.
struct StrictTransportSecurity: RouterMiddleware {
    typealias Context = StrongroomContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            response = try error.response(from: request, context: context)
        }
        response.headers[HTTPField.Name("Strict-Transport-Security")!] = TLSPolicy.strictTransportSecurity
        return response
    }
}
