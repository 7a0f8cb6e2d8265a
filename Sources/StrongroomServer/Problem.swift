import Foundation
import Hummingbird
import KeyManagement
import Storage
import Vault

/// An RFC 9457 problem document. `type` is stable per error (docs/openapi.yaml lists them);
/// `detail` says what to do. No detail carries file content, a filename, a token or a path.
struct Problem: HTTPResponseError {
    let status: HTTPResponse.Status
    /// The stable part of the type URI: urn:strongroom:problem:<slug>.
    let slug: String
    let title: String
    let detail: String
    /// Close the connection after answering (a request body we will not read).
    var closeConnection = false
    /// The methods a path does answer, for 405.
    var allow: [String] = []
    /// Seconds to wait, for 429.
    var retryAfter: Int?

    var type: String { "urn:strongroom:problem:" + slug }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var object: [String: Any] = ["type": type, "title": title, "status": Int(status.code), "detail": detail]
        // The request id names the log line an operator looks for (absent if the log handler keeps no metadata).
        if let id = context.logger[metadataKey: "hb.request.id"] { object["instance"] = "urn:strongroom:request:\(id)" }
        let body = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        var headers: HTTPFields = [.contentType: "application/problem+json", .cacheControl: "no-store"]
        if status == .unauthorized { headers[.wwwAuthenticate] = "Bearer realm=\"strongroom\"" }
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        if closeConnection { headers[.connection] = "close" }
        if !allow.isEmpty { headers[.allow] = allow.joined(separator: ", ") }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    static let unauthenticated = Problem(
        status: .unauthorized, slug: "unauthenticated", title: "Not signed in",
        detail: "sign in (the session cookie), or send a valid bearer token in the Authorization header (an operator issues one with strongroom user add --api-token)")

    /// The store's disk is full: the server's failure, not the request's, and one an operator
    /// fixes by freeing space, after which the same request succeeds. The connection closes so a
    /// client stops sending an upload that cannot be stored.
    /// The catalog's database (PostgreSQL) did not answer: nothing was done, and retrying is right.
    static let databaseUnavailable = Problem(
        status: .serviceUnavailable, slug: "metadata-unavailable", title: "Database unavailable",
        detail: "the database holding the catalog did not answer, so nothing was done; try again, or ask an operator")

    static let storageFull = Problem(
        status: .init(code: 507, reasonPhrase: "Insufficient Storage"), slug: "storage-full", title: "Storage full",
        detail: "the server's disk is full, so nothing was stored or done; an operator has been told: try again later",
        closeConnection: true)

    /// A state change with the session cookie, without the CSRF token or from another origin.
    static let crossSite = Problem(
        status: .forbidden, slug: "csrf", title: "Refused: not from this service",
        detail: "a change made with the session cookie must come from this service's own pages, with its X-CSRF-Token header")

    static func signIn(_ refusal: SignInRefusal) -> Problem {
        let why = refusal.description
        switch refusal {
        case .enrolmentUnusable: return Problem(status: .notFound, slug: "enrolment-unusable", title: "Enrolment link unusable", detail: why)
        case .enrolmentAwaitingApproval:
            return Problem(status: .conflict, slug: "enrolment-waiting", title: "Waiting for approval", detail: why)
        case .weakPassphrase: return Problem(status: .badRequest, slug: "weak-passphrase", title: "Choose another passphrase", detail: why)
        case .wrongCode: return Problem(status: .badRequest, slug: "wrong-code", title: "Wrong code", detail: why)
        case .passkeyRefused: return Problem(status: .badRequest, slug: "passkey-refused", title: "Passkey not registered", detail: why)
        case .failed: return Problem(status: .unauthorized, slug: "sign-in-failed", title: "Sign-in failed", detail: why)
        case .slowDown(let seconds):
            return Problem(status: .tooManyRequests, slug: "slow-down", title: "Too many attempts", detail: why, retryAfter: seconds)
        case .sessionEnded: return Problem(status: .unauthorized, slug: "unauthenticated", title: "Not signed in", detail: why)
        }
    }

    /// The one place vault errors become HTTP statuses.
    static func from(_ error: Error) -> Problem {
        if let problem = error as? Problem { return problem }
        if let http = error as? any HTTPResponseError, !(error is VaultError) {
            // Hummingbird's own answers (no such route, method not allowed): keep their status.
            let slug: String
            switch http.status {
            case .notFound: slug = "no-such-route"
            case .methodNotAllowed: slug = "method-not-allowed"
            default: slug = http.status.code < 500 ? "bad-request" : "internal"
            }
            return Problem(status: http.status, slug: slug, title: http.status.reasonPhrase,
                           detail: http.status.code < 500 ? "see /openapi.yaml for the routes and methods this service answers" : "the server failed")
        }
        // A storage or key error that reached here unwrapped is mapped as the vault's would be.
        let wrapped = (error as? StorageError).map(VaultError.storage) ?? (error as? KeyManagementError).map(VaultError.key)
        guard let vault = error as? VaultError ?? wrapped else {
            return Problem(status: .internalServerError, slug: "internal", title: "Internal error",
                           detail: "the server failed; the request id identifies it in the server's log")
        }
        if vault.isOutOfSpace { return .storageFull }
        switch vault {
        case .refused(let refusal):
            switch refusal.reason {
            case .tooLarge:
                return Problem(status: .contentTooLarge, slug: "too-large", title: "File too large", detail: "refused: \(refusal)",
                               closeConnection: true)
            case .empty:
                return Problem(status: .badRequest, slug: "empty", title: "Empty file", detail: "refused: \(refusal)")
            default:
                return Problem(status: .unsupportedMediaType, slug: refusal.code, title: "File type refused", detail: "refused: \(refusal)")
            }
        case .unknownKind:
            return Problem(status: .badRequest, slug: "unknown-kind", title: "Unknown kind", detail: vault.description)
        case .invalidArgument(let why):
            return Problem(status: .badRequest, slug: "invalid-argument", title: "Invalid request", detail: why)
        case .notFound:
            return Problem(status: .notFound, slug: "not-found", title: "No such record",
                           detail: "there is no record with this id that you may see")
        case .forbidden(let why):
            return Problem(status: .forbidden, slug: "forbidden", title: "Not allowed", detail: why)
        case .signIn(let refusal):
            return signIn(refusal)
        case .stepUpRequired(let why):
            return Problem(status: .forbidden, slug: "step-up-required", title: "Confirm it is you", detail: why)
        case .conflict(let why):
            return Problem(status: .conflict, slug: "conflict", title: "Refused in this state", detail: why)
        case .busy(let why):
            return Problem(status: .serviceUnavailable, slug: "busy", title: "Busy", detail: why)
        case .linkUnusable(let why):
            return Problem(status: .gone, slug: "link-unusable", title: "Link no longer usable", detail: why)
        case .noPreview(let why):
            return Problem(status: .unsupportedMediaType, slug: "no-preview", title: "No preview", detail: why)
        case .cannotRedact(let why):
            return Problem(status: .unprocessableContent, slug: "cannot-redact", title: "Cannot redact", detail: why)
        case .transferRefused(let why):
            return Problem(status: .unprocessableContent, slug: "transfer-refused", title: "Transfer package refused",
                           detail: "nothing was stored: \(why)")
        case .key(.unavailable):
            return .databaseUnavailable
        case .storage(let storage):
            switch storage {
            case .invalidIdentifier:
                return Problem(status: .badRequest, slug: "invalid-identifier", title: "Invalid identifier", detail: storage.description)
            case .auditUnavailable, .auditRewritten:
                return Problem(status: .serviceUnavailable, slug: "audit-unavailable", title: "Audit log unavailable",
                               detail: "the audit log cannot be written, so nothing was done; an operator must check the store")
            case .blobDamaged(_, let damage):
                return Problem(status: .internalServerError, slug: "record-damaged", title: "Record damaged",
                               detail: "the stored evidence failed its integrity check (\(damage.kind)); an operator must run strongroom verify")
            case .lifecycleNotFound(let what, _):
                return Problem(status: .notFound, slug: "not-found", title: "Not found", detail: "there is no \(what) with this id that you may see")
            case .recordsMoved:
                return Problem(status: .serviceUnavailable, slug: "busy", title: "Busy", detail: storage.description)
            case .objectStore:
                return Problem(status: .serviceUnavailable, slug: "object-store-unavailable", title: "Object store unavailable",
                               detail: "the object store holding the evidence did not answer or refused, so nothing was done; try again, or ask an operator")
            case .databaseUnavailable:
                return .databaseUnavailable
            case .recordsHeld, .lifecycleConflict:
                return Problem(status: .conflict, slug: "conflict", title: "Refused in this state", detail: storage.description)
            case .blobMissing:
                return Problem(status: .internalServerError, slug: "record-damaged", title: "Record damaged",
                               detail: "the stored evidence is missing; an operator must run strongroom verify")
            default:
                break
            }
        default:
            break
        }
        return Problem(status: .internalServerError, slug: "internal", title: "Internal error",
                       detail: "the server failed; the request id identifies it in the server's log")
    }
}

/// Turns every error a route throws into a problem document, and counts refusals.
struct ProblemMiddleware: RouterMiddleware {
    typealias Context = StrongroomContext
    /// The routes, as (method, path segments with ":name" captures), to tell 405 from 404.
    let routes: @Sendable () -> [(method: String, segments: [String])]

    func methods(answering path: String) -> [String] {
        let parts = path.split(separator: "/").map(String.init)
        return routes().filter { route in
            route.segments.count == parts.count
                && zip(route.segments, parts).allSatisfy { $0.hasPrefix(":") || $0.hasPrefix("{") || $0 == $1 }
        }.map(\.method).sorted()
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            var problem = Problem.from(error)
            if problem.status == .notFound, problem.slug == "no-such-route" {
                let allowed = methods(answering: request.uri.path)
                if !allowed.isEmpty {
                    problem = Problem(status: .methodNotAllowed, slug: "method-not-allowed", title: "Method not allowed",
                                      detail: "this path answers \(allowed.joined(separator: ", ")) only", allow: allowed)
                }
            }
            if case .refused(let refusal) = error as? VaultError {
                ServerMetrics.refusals(refusal.code).increment()
            }
            if problem.slug == Problem.storageFull.slug {
                ServerMetrics.storageFull.increment()
                // What the operator must do; no path, record or content.
                context.logger.error("the disk holding the store is full: requests that write are refused until space is freed",
                                     metadata: ["problem": .string(problem.slug)])
            } else if problem.status.code >= 500 {
                // The error's description names no file content, filename or token.
                context.logger.error("request failed", metadata: ["problem": .string(problem.slug), "error": .string("\(error)")])
            }
            throw problem
        }
    }
}
