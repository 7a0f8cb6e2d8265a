import Foundation
import Hummingbird
import Vault

/// The web console's pages, on the root router outside /v1, each behind `ConsoleMiddleware`
/// (security headers, HTML error pages). They are GETs and change nothing: each page's script
/// calls the JSON routes (SessionRoutes) with fetch, with the CSRF token on every change.
///
/// - `/`: to /account when signed in, else /sign-in.
/// - `/sign-in?next=PATH`: a passkey, or name, passphrase and a code (or a recovery code).
/// - `/enrol/TOKEN`: a passkey, or a passphrase, an authenticator app and recovery codes.
/// - `/account`: who you are, your sessions (end one, or all), sign out.
/// - `/confirm?next=PATH`: step-up with a passkey or a code, then on to PATH.
/// - the reading pages (`/children`, `/records/{id}`, `/uploads`): see `ReadingRoutes`.
struct ConsoleRoutes {
    /// The console's routes as docs/openapi.yaml would write them: pages, not API, so the
    /// document leaves them out.
    static let paths: Set<String> = Set(["GET /", "GET /sign-in", "GET /enrol/{token}", "GET /account", "GET /confirm", "GET /assets/{name}",
                                         "GET /attach", "GET /body-map"])
        .union(ReadingRoutes.paths)
        .union(PeoplePageRoutes.paths)
        .union(RecipientPageRoutes.paths)
        .union(BundlePages.paths)
        .union(RetentionRoutes.paths)
        .union(OversightPages.paths)
        .union(TransferPages.paths)

    let vault: Vault
    let pool: BlockingPool
    let pages = ConsolePages()

    func register(on router: Router<StrongroomContext>) {
        let console = router.group().add(middleware: ConsoleMiddleware(pages: pages))
        console.get("/", use: home)
        console.get("sign-in", use: signIn)
        console.get("enrol/:token", use: enrol)
        console.get("account", use: account)
        console.get("confirm", use: confirm)
        console.get("assets/:name", use: asset)
        AttachRoutes(console: self).register(on: console)
        ReadingRoutes(console: self).register(on: console)
        PeoplePageRoutes(console: self).register(on: console)
        RecipientPageRoutes(console: self).register(on: console)
        BundlePages(console: self).register(on: console)
        RetentionRoutes(console: self).register(on: console)
        OversightPages(console: self).register(on: console)
        TransferPages(console: self).register(on: console)
    }

    /// The signed-in person the cookie names, or nil (no cookie, or a session that has ended).
    func person(_ request: Request) async throws -> (caller: Caller, principal: Principal, facts: SessionFacts)? {
        guard let token = SessionCookie.token(in: request) else { return nil }
        let vault = self.vault
        guard case .person(let principal, let facts)? = try await pool.run({ try vault.users.resolveSession(token: token) }) else { return nil }
        return (.person(principal, session: facts), principal, facts)
    }

    /// To the sign-in page, coming back to `next` afterwards; says the session ended when the
    /// browser still sent a cookie.
    /// Sends someone without a session to sign in, and back to this very page (path and query) after.
    func signInFirst(_ request: Request) -> Response {
        let here = request.uri.query.map { request.uri.path + "?" + $0 } ?? request.uri.path
        return signInFirst(request, next: NextPath(here).path)
    }

    func signInFirst(_ request: Request, next: String) -> Response {
        var query = "next=" + (next.addingPercentEncoding(withAllowedCharacters: Self.queryValue) ?? NextPath.fallback)
        if SessionCookie.token(in: request) != nil { query += "&ended=1" }
        return ConsolePages.redirect(to: "/sign-in?" + query)
    }

    static let queryValue = CharacterSet.urlQueryAllowed.subtracting(CharacterSet(charactersIn: "&=+#?"))

    @Sendable func home(_ request: Request, context: StrongroomContext) async throws -> Response {
        ConsolePages.redirect(to: try await person(request) == nil ? "/sign-in" : "/account")
    }

    @Sendable func signIn(_ request: Request, context: StrongroomContext) async throws -> Response {
        let query = request.uri.queryParameters
        return try pages.render("sign-in", SignInPage(next: NextPath(query.get("next")).path, ended: query.get("ended") == "1"))
    }

    @Sendable func enrol(_ request: Request, context: StrongroomContext) async throws -> Response {
        let token = context.parameters.get("token") ?? ""
        let vault = self.vault, source = context.refusalSource
        let view = try await pool.run { () throws -> EnrolmentView in
            do { return try vault.users.enrolment(token: token) } catch VaultError.signIn(.enrolmentUnusable) {
                // Anyone can try a link: audited like the API's refusal, coalesced per source.
                try vault.audit.recordAnonymousRefusal(.unusableEnrolment, request: "GET /enrol/{token}", from: source)
                throw VaultError.signIn(.enrolmentUnusable)
            }
        }
        return try pages.render("enrol", EnrolPage(view))
    }

    @Sendable func account(_ request: Request, context: StrongroomContext) async throws -> Response {
        guard let (caller, principal, facts) = try await person(request) else { return signInFirst(request, next: "/account") }
        let vault = self.vault
        let sessions = try await pool.run { try vault.users.sessions(by: caller) }
        return try pages.render("account", AccountPage(principal, sessions: sessions, current: facts.handle))
    }

    @Sendable func confirm(_ request: Request, context: StrongroomContext) async throws -> Response {
        let next = NextPath(request.uri.queryParameters.get("next")).path
        guard let (_, principal, _) = try await person(request) else {
            let back = "/confirm?next=" + (next.addingPercentEncoding(withAllowedCharacters: Self.queryValue) ?? NextPath.fallback)
            return signInFirst(request, next: back)
        }
        return try pages.render("confirm", ConfirmPage(next: next, signedInName: principal.name,
                                                       navigation: ConsoleNavigation(principal, current: .none)))
    }

    @Sendable func asset(_ request: Request, context: StrongroomContext) async throws -> Response {
        try ConsoleAssets.response(named: context.parameters.get("name") ?? "", acceptEncoding: request.headers[.acceptEncoding])
    }
}
