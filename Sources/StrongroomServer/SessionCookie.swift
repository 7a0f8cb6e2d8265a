import Hummingbird
import SignIn
import Vault

/// The session cookie: `__Host-` (so it is Secure, Path=/ and bound to this host, no Domain),
/// HttpOnly (no script reads it), SameSite=Strict (no other site's page sends it).
enum SessionCookie {
    static let name = "__Host-strongroom-session"

    static func set(_ token: String, maxAge: Int) -> String {
        "\(name)=\(token); Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=\(maxAge)"
    }

    static let clear = "\(name)=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0"

    /// The session token from the request's Cookie headers, if there is exactly one well-formed one.
    static func token(in request: Request) -> String? {
        var found: [String] = []
        for header in request.headers[values: .cookie] {
            for pair in header.split(separator: ";") {
                let trimmed = pair.drop { $0 == " " }
                guard trimmed.hasPrefix(name + "=") else { continue }
                found.append(String(trimmed.dropFirst(name.count + 1)))
            }
        }
        // Two session cookies (one planted by a sibling subdomain, say) are refused, not guessed between.
        guard found.count == 1, let token = found.first, token.utf8.count == 43 else { return nil }
        return token
    }
}

/// Where the service says it lives: the configured public URL, or, without one, localhost on
/// the port the request came to. State changes made with the session cookie, sign-in and
/// enrolment are accepted only with an `Origin` header equal to it; passkeys are scoped to its host.
struct ServiceOrigin: Sendable {
    let configured: (origin: String, host: String)?
    let tls: Bool

    init(configured: (origin: String, host: String)?, tls: Bool) {
        self.configured = configured
        self.tls = tls
    }

    init(configuration: ServerConfiguration) throws {
        configured = try configuration.publicOrigin()
        tls = configuration.tlsCert != nil
    }

    /// The origin this request should carry, or nil when the service has no public URL and was
    /// not reached as localhost.
    func expected(for request: Request) -> (origin: String, host: String)? {
        if let configured { return configured }
        guard let authority = request.head.authority?.lowercased() else { return nil }
        let host = authority.split(separator: ":", maxSplits: 1).first.map(String.init) ?? ""
        guard host == "localhost", authority.utf8.count <= 16,
              authority == "localhost" || Int(authority.dropFirst("localhost:".count)) != nil else { return nil }
        return ((tls ? "https://" : "http://") + authority, host)
    }

    /// Whether the request's `Origin` is this service's (a missing Origin is not).
    func matches(_ request: Request) -> Bool {
        guard let expected = expected(for: request), let origin = request.headers[.origin] else { return false }
        return ConstantTime.equal(Array(origin.utf8), Array(expected.origin.utf8))
    }

    /// Refuses a request that says it comes from another site. Clients that are not browsers
    /// may leave Origin out; browsers always send it with a POST.
    func requireNotCrossSite(_ request: Request) throws {
        if request.headers[.origin] != nil, !matches(request) { throw Problem.crossSite }
    }

    func relyingParty(for request: Request) throws -> RelyingParty {
        guard let expected = expected(for: request) else {
            throw Problem(status: .misdirectedRequest, slug: "no-public-url", title: "Sign-in is not set up for this address",
                          detail: "open the service at the address its operator configured (serve --public-url), or at http://localhost:PORT")
        }
        return RelyingParty(id: expected.host, origin: expected.origin)
    }
}

extension HTTPRequest.Method {
    /// Methods that change state: they need the CSRF token when made with the session cookie.
    var changesState: Bool { !(self == .get || self == .head || self == .options) }
}
