import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import SignIn
import Storage
import Vault

/// Enrolment, sign-in, step-up and sessions for people (docs/openapi.yaml, docs/signin.md).
/// These routes sit outside the /v1 authentication middleware: enrolment and sign-in have no
/// session yet, and the rest check the session cookie themselves, with the CSRF token and the
/// service's Origin on every state change.
struct SessionRoutes {
    static let maxJSONBytes = 64 * 1024
    let vault: Vault
    let pool: BlockingPool
    let origin: ServiceOrigin
    let sessionMaxSeconds: Int

    func register(on router: Router<StrongroomContext>) {
        router.get("v1/enrolment/:token", use: enrolment)
        router.post("v1/enrolment/:token/passphrase", use: enrolPassphrase)
        router.post("v1/enrolment/:token/totp", use: enrolTOTP)
        router.get("v1/enrolment/:token/totp-qr.png", use: enrolmentQRCode)
        router.post("v1/enrolment/:token/passkey/begin", use: enrolPasskeyBegin)
        router.post("v1/enrolment/:token/passkey/finish", use: enrolPasskeyFinish)
        router.post("v1/session", use: signIn)
        router.get("v1/session", use: whoAmI)
        router.delete("v1/session", use: signOut)
        router.post("v1/session/passkey/begin", use: passkeyBegin)
        router.post("v1/session/passkey/finish", use: passkeyFinish)
        router.post("v1/session/step-up", use: stepUp)
        router.post("v1/session/step-up/passkey/begin", use: stepUpPasskeyBegin)
        router.post("v1/session/step-up/passkey/finish", use: stepUpPasskeyFinish)
        router.get("v1/sessions", use: listSessions)
        router.delete("v1/sessions", use: signOutEverywhere)
        router.delete("v1/sessions/:id", use: endSession)
    }

    // MARK: enrolment

    struct EnrolmentJSON: Encodable {
        var name, role: String
        var schools: [String]
        var expiresAt: String
    }

    @Sendable func enrolment(_ request: Request, context: StrongroomContext) async throws -> Response {
        let token = context.parameters.get("token") ?? ""
        let view = try await enrolling(context) { try $0.users.enrolment(token: token) }
        return try jsonResponse(EnrolmentJSON(name: view.name, role: view.role, schools: view.schools, expiresAt: Self.iso(view.expiresAt)))
    }

    struct PassphraseBody: Decodable { var passphrase: String }
    struct TOTPEnrolmentJSON: Encodable { var totpSecret, otpauthUri, qrCode: String }

    @Sendable func enrolPassphrase(_ request: Request, context: StrongroomContext) async throws -> Response {
        try origin.requireNotCrossSite(request)
        let token = context.parameters.get("token") ?? ""
        let body = try await Self.decode(PassphraseBody.self, request)
        let totp = try await enrolling(context) { try $0.users.setEnrolmentPassphrase(token: token, passphrase: body.passphrase) }
        return try jsonResponse(TOTPEnrolmentJSON(
            totpSecret: totp.secretBase32, otpauthUri: totp.otpauthURI, qrCode: "/v1/enrolment/\(token)/totp-qr.png"))
    }

    struct CodeBody: Decodable {
        var code: String?
        var recoveryCode: String?
    }
    struct RecoveryCodesJSON: Encodable { var recoveryCodes: [String] }

    @Sendable func enrolTOTP(_ request: Request, context: StrongroomContext) async throws -> Response {
        try origin.requireNotCrossSite(request)
        let token = context.parameters.get("token") ?? ""
        let body = try await Self.decode(CodeBody.self, request)
        let codes = try await enrolling(context) { try $0.users.confirmEnrolmentTOTP(token: token, code: body.code ?? "") }
        return try jsonResponse(RecoveryCodesJSON(recoveryCodes: codes))
    }

    /// The waiting authenticator secret as a QR code. The image carries the secret: no-store,
    /// and never logged.
    @Sendable func enrolmentQRCode(_ request: Request, context: StrongroomContext) async throws -> Response {
        let token = context.parameters.get("token") ?? ""
        guard let uri = try await enrolling(context, { try $0.users.pendingOTPAuthURI(token: token) }) else {
            throw Problem(status: .notFound, slug: "not-found", title: "No authenticator waiting",
                          detail: "this link has no authenticator secret waiting: set a passphrase first")
        }
        let png = try QRCodePNG(text: uri).png
        return Response(status: .ok, headers: [.contentType: "image/png", .cacheControl: "no-store", HTTPField.Name("X-Content-Type-Options")!: "nosniff"],
                        body: .init(byteBuffer: ByteBuffer(bytes: png)))
    }

    @Sendable func enrolPasskeyBegin(_ request: Request, context: StrongroomContext) async throws -> Response {
        try origin.requireNotCrossSite(request)
        let token = context.parameters.get("token") ?? ""
        let party = try origin.relyingParty(for: request)
        let options = try await enrolling(context) { try $0.users.beginEnrolmentPasskey(token: token, relyingParty: party) }
        return try jsonResponse(CreationJSON(options))
    }

    struct RegistrationBody: Decodable { var id, clientDataJSON, attestationObject: String }
    struct EnrolledJSON: Encodable { var enrolled: String }

    @Sendable func enrolPasskeyFinish(_ request: Request, context: StrongroomContext) async throws -> Response {
        try origin.requireNotCrossSite(request)
        let token = context.parameters.get("token") ?? ""
        let party = try origin.relyingParty(for: request)
        let body = try await Self.decode(RegistrationBody.self, request)
        let id = try Self.bytes(body.id, "id"), clientData = try Self.bytes(body.clientDataJSON, "clientDataJSON")
        let attestation = try Self.bytes(body.attestationObject, "attestationObject")
        try await enrolling(context) {
            try $0.users.finishEnrolmentPasskey(token: token, credentialID: id, clientDataJSON: clientData, attestationObject: attestation, relyingParty: party)
        }
        return try jsonResponse(EnrolledJSON(enrolled: "passkey"))
    }

    /// Runs enrolment work; an unusable link is audited like an unknown download link
    /// (coalesced per source), since anyone can send one.
    func enrolling<T: Sendable>(_ context: StrongroomContext, _ body: @escaping @Sendable (Vault) throws -> T) async throws -> T {
        let vault = self.vault, source = context.refusalSource, what = context.endpointPath ?? "enrolment"
        return try await pool.run {
            do { return try body(vault) } catch VaultError.signIn(.enrolmentUnusable) {
                try vault.audit.recordAnonymousRefusal(.unusableEnrolment, request: what, from: source)
                throw VaultError.signIn(.enrolmentUnusable)
            }
        }
    }

    // MARK: signing in

    struct SignInBody: Decodable {
        var name: String
        var passphrase: String
        var code: String?
        var recoveryCode: String?
    }

    struct SessionJSON: Encodable {
        var name, role: String
        var schools: [String]
        var csrfToken: String
        var stepUpUntil: String
    }

    @Sendable func signIn(_ request: Request, context: StrongroomContext) async throws -> Response {
        try origin.requireNotCrossSite(request)
        let body = try await Self.decode(SignInBody.self, request)
        let client = Self.client(request, context)
        let vault = self.vault
        let started = try await pool.run {
            try vault.users.signIn(name: body.name, passphrase: body.passphrase, code: body.code, recoveryCode: body.recoveryCode, from: client)
        }
        return try sessionResponse(started)
    }

    @Sendable func passkeyBegin(_ request: Request, context: StrongroomContext) async throws -> Response {
        try origin.requireNotCrossSite(request)
        let party = try origin.relyingParty(for: request)
        let vault = self.vault, client = Self.client(request, context)
        let options = try await pool.run { try vault.users.beginPasskeySignIn(relyingParty: party, from: client) }
        return try jsonResponse(RequestJSON(options))
    }

    struct AssertionBody: Decodable {
        var ceremony: String?
        var id, clientDataJSON, authenticatorData, signature: String
        var userHandle: String?

        func assertion() throws -> PasskeyAssertion {
            PasskeyAssertion(
                credentialID: try SessionRoutes.bytes(id, "id"), clientDataJSON: try SessionRoutes.bytes(clientDataJSON, "clientDataJSON"),
                authenticatorData: try SessionRoutes.bytes(authenticatorData, "authenticatorData"),
                signature: try SessionRoutes.bytes(signature, "signature"),
                userHandle: try userHandle.flatMap { $0.isEmpty ? nil : try SessionRoutes.bytes($0, "userHandle") })
        }
    }

    @Sendable func passkeyFinish(_ request: Request, context: StrongroomContext) async throws -> Response {
        try origin.requireNotCrossSite(request)
        let party = try origin.relyingParty(for: request)
        let body = try await Self.decode(AssertionBody.self, request)
        let assertion = try body.assertion()
        let client = Self.client(request, context)
        let vault = self.vault
        let started = try await pool.run {
            try vault.users.finishPasskeySignIn(ceremony: body.ceremony ?? "", assertion: assertion, relyingParty: party, from: client)
        }
        return try sessionResponse(started)
    }

    func sessionResponse(_ started: StartedSession) throws -> Response {
        let until = started.facts.factorAt.addingTimeInterval(vault.sessionPolicy.stepUpWindow)
        return try jsonResponse(
            SessionJSON(name: started.principal.name, role: started.principal.role.rawValue, schools: started.principal.schools.sorted(),
                        csrfToken: started.csrfToken, stepUpUntil: Self.iso(until)),
            status: .created, extra: [.setCookie: SessionCookie.set(started.token, maxAge: sessionMaxSeconds)])
    }

    // MARK: the signed-in person

    /// The live session the cookie names; for a state change, also the CSRF token and Origin.
    func session(_ request: Request, _ context: StrongroomContext) async throws -> (token: String, caller: Caller) {
        let vault = self.vault, source = context.refusalSource, what = "\(request.method) \(context.endpointPath ?? "unmatched")"
        guard let token = SessionCookie.token(in: request), let caller = try await pool.run({ try vault.users.resolveSession(token: token) }) else {
            try await pool.run { try vault.audit.recordAnonymousRefusal(.noToken, request: what, from: source) }
            throw Problem.unauthenticated
        }
        if request.method.changesState {
            let csrf = request.headers[.csrfToken] ?? ""
            guard ConstantTime.equal(Array(csrf.utf8), Array(Vault.csrfToken(forSession: token).utf8)), origin.matches(request) else {
                try await pool.run { try vault.audit.recordAnonymousRefusal(.crossSite, request: "\(what) as \(caller.actor)", from: source) }
                throw Problem.crossSite
            }
        }
        return (token, caller)
    }

    @Sendable func whoAmI(_ request: Request, context: StrongroomContext) async throws -> Response {
        let (token, caller) = try await session(request, context)
        guard case .person(let principal, let facts) = caller else { throw Problem.unauthenticated }
        return try jsonResponse(SessionJSON(
            name: principal.name, role: principal.role.rawValue, schools: principal.schools.sorted(),
            csrfToken: Vault.csrfToken(forSession: token), stepUpUntil: Self.iso(facts.factorAt.addingTimeInterval(vault.sessionPolicy.stepUpWindow))))
    }

    @Sendable func signOut(_ request: Request, context: StrongroomContext) async throws -> Response {
        let (token, _) = try await session(request, context)
        let vault = self.vault
        try await pool.run { try vault.users.signOut(sessionToken: token) }
        return Response(status: .noContent, headers: [.setCookie: SessionCookie.clear, .cacheControl: "no-store"])
    }

    struct StepUpJSON: Encodable { var stepUpUntil: String }

    @Sendable func stepUp(_ request: Request, context: StrongroomContext) async throws -> Response {
        let (token, _) = try await session(request, context)
        let body = try await Self.decode(CodeBody.self, request)
        let client = Self.client(request, context)
        let vault = self.vault
        let facts = try await pool.run { try vault.users.stepUp(sessionToken: token, code: body.code, recoveryCode: body.recoveryCode, from: client) }
        return try jsonResponse(StepUpJSON(stepUpUntil: Self.iso(facts.factorAt.addingTimeInterval(vault.sessionPolicy.stepUpWindow))))
    }

    @Sendable func stepUpPasskeyBegin(_ request: Request, context: StrongroomContext) async throws -> Response {
        let (token, _) = try await session(request, context)
        let party = try origin.relyingParty(for: request)
        let vault = self.vault
        let options = try await pool.run { try vault.users.beginPasskeyStepUp(sessionToken: token, relyingParty: party) }
        return try jsonResponse(RequestJSON(options))
    }

    @Sendable func stepUpPasskeyFinish(_ request: Request, context: StrongroomContext) async throws -> Response {
        let (token, _) = try await session(request, context)
        let party = try origin.relyingParty(for: request)
        let assertion = try await Self.decode(AssertionBody.self, request).assertion()
        let client = Self.client(request, context)
        let vault = self.vault
        let facts = try await pool.run { try vault.users.finishPasskeyStepUp(sessionToken: token, assertion: assertion, relyingParty: party, from: client) }
        return try jsonResponse(StepUpJSON(stepUpUntil: Self.iso(facts.factorAt.addingTimeInterval(vault.sessionPolicy.stepUpWindow))))
    }

    struct SessionsJSON: Encodable {
        struct Item: Encodable {
            var id, createdAt, lastSeenAt, browser, address: String
            var current: Bool
        }
        var sessions: [Item]
    }

    @Sendable func listSessions(_ request: Request, context: StrongroomContext) async throws -> Response {
        let (_, caller) = try await session(request, context)
        guard case .person(_, let facts) = caller else { throw Problem.unauthenticated }
        let vault = self.vault
        let sessions = try await pool.run { try vault.users.sessions(by: caller) }
        return try jsonResponse(SessionsJSON(sessions: sessions.map {
            .init(id: $0.handle, createdAt: Self.iso(Date(timeIntervalSince1970: Double($0.createdAtMillis) / 1000)),
                  lastSeenAt: Self.iso(Date(timeIntervalSince1970: Double($0.lastSeenAtMillis) / 1000)),
                  browser: $0.browser, address: $0.address, current: $0.handle == facts.handle)
        }))
    }

    @Sendable func signOutEverywhere(_ request: Request, context: StrongroomContext) async throws -> Response {
        let (_, caller) = try await session(request, context)
        let vault = self.vault
        try await pool.run { _ = try vault.users.signOutEverywhere(by: caller) }
        return Response(status: .noContent, headers: [.setCookie: SessionCookie.clear, .cacheControl: "no-store"])
    }

    @Sendable func endSession(_ request: Request, context: StrongroomContext) async throws -> Response {
        let (_, caller) = try await session(request, context)
        let id = context.parameters.get("id") ?? ""
        let vault = self.vault
        try await pool.run { try vault.users.endSession(handle: id, by: caller) }
        return Response(status: .noContent, headers: [.cacheControl: "no-store"])
    }

    // MARK: helpers

    static func client(_ request: Request, _ context: StrongroomContext) -> SignInClient {
        SignInClient(address: context.refusalSource, browser: request.headers[.userAgent] ?? "")
    }

    static func bytes(_ text: String, _ field: String) throws -> [UInt8] {
        guard text.utf8.count <= 64 * 1024, let bytes = try? Base64URL.decode(text) else {
            throw VaultError.invalidArgument("\(field) must be base64url without padding")
        }
        return bytes
    }

    static func iso(_ date: Date) -> String { ISO8601DateFormatter().string(from: date) }

    static func decode<T: Decodable>(_ type: T.Type, _ request: Request) async throws -> T {
        let buffer: ByteBuffer
        do { buffer = try await request.body.collect(upTo: maxJSONBytes) } catch {
            throw Problem(status: .contentTooLarge, slug: "too-large", title: "Body too large",
                          detail: "a JSON body here may be at most \(maxJSONBytes >> 10) KiB", closeConnection: true)
        }
        do { return try JSONDecoder().decode(T.self, from: Data(buffer: buffer)) } catch {
            throw Problem(status: .badRequest, slug: "invalid-json", title: "Invalid JSON body",
                          detail: "the body is not the JSON document this route takes (see /openapi.yaml)")
        }
    }
}

/// PublicKeyCredentialCreationOptions as JSON (bytes in base64url), under "publicKey".
struct CreationJSON: Encodable {
    struct Options: Encodable {
        struct RP: Encodable { var id, name: String }
        struct User: Encodable { var id, name, displayName: String }
        struct Param: Encodable {
            var type = "public-key"
            var alg: Int
        }
        struct Selection: Encodable {
            var residentKey = "required"
            var requireResidentKey = true
            var userVerification = "required"
        }
        var challenge: String
        var rp: RP
        var user: User
        var pubKeyCredParams = [Param(alg: -7), Param(alg: -8)]
        var authenticatorSelection = Selection()
        var attestation = "none"
        var timeout: Int
    }
    var publicKey: Options

    init(_ o: PasskeyCreationOptions) {
        publicKey = Options(
            challenge: Base64URL.encode(o.challenge), rp: .init(id: o.relyingParty.id, name: o.relyingParty.name),
            user: .init(id: Base64URL.encode(o.userID), name: o.userName, displayName: o.userName), timeout: o.timeoutMillis)
    }
}

/// PublicKeyCredentialRequestOptions as JSON, with the ceremony id that names it.
struct RequestJSON: Encodable {
    struct Options: Encodable {
        struct Allowed: Encodable {
            var type = "public-key"
            var id: String
        }
        var challenge, rpId: String
        var allowCredentials: [Allowed]
        var userVerification = "required"
        var timeout: Int
    }
    var ceremony: String
    var publicKey: Options

    init(_ o: PasskeyRequestOptions) {
        ceremony = o.ceremony
        publicKey = Options(challenge: Base64URL.encode(o.challenge), rpId: o.relyingPartyID,
                            allowCredentials: o.allowCredentials.map { .init(id: Base64URL.encode($0)) }, timeout: o.timeoutMillis)
    }
}
