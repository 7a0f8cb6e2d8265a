import Foundation
import Logging
import SignIn
import Storage
@testable import StrongroomServer
import TestSupport
import XCTest
@testable import Vault

/// A person enrolled over HTTP, with what they know and hold: their passphrase, their
/// authenticator app and their recovery codes.
struct EnrolledPerson {
    let name: String
    let passphrase: String
    let app: TestAuthenticatorApp
    let totpSecret: String
    let recoveryCodes: [String]
    let enrolmentToken: String
}

/// A browser's session: the cookie value and the CSRF token the sign-in answer gave.
struct BrowserSession {
    let token: String
    let csrfToken: String

    /// The Cookie header alone: what another site's page makes a browser send.
    var cookie: [String: String] { ["Cookie": "\(SessionCookie.name)=\(token)"] }

    /// What the service's own pages send with a state change: cookie, CSRF token and Origin.
    var stateChange: [String: String] {
        cookie.merging(["X-CSRF-Token": csrfToken, "Origin": SignInFixture.origin]) { $1 }
    }
}

/// A server at https://vault.school.example (its public URL) whose vault runs on a clock the
/// test moves, with people enrolled and signed in through the real routes.
final class SignInFixture: @unchecked Sendable {
    static let origin = "https://vault.school.example"
    static let otherSite = "https://evil.example"

    let clock: MovableClock
    let server: ServerFixture
    private let options: Vault.Options
    private let configuration: ServerConfiguration
    private var enrolled = 0

    init(policy: SessionPolicy = SessionPolicy(), logger: Logger = ServerFixture.quietLogger,
         configure: (inout ServerConfiguration) -> Void = { _ in }) async throws {
        let clock = MovableClock()
        self.clock = clock
        var options = Vault.Options()
        options.clock = { clock.now }
        options.sessionPolicy = policy
        // Argon2id's lighter limits: the tests hash many passphrases; the rules are the same.
        options.passphraseLimits = .interactive
        var configuration = ServerConfiguration()
        configuration.publicURL = Self.origin
        configure(&configuration)
        self.options = options
        self.configuration = configuration
        server = try await ServerFixture(configuration: configuration, options: options, logger: logger)
    }

    /// A second node serving the same store, on the same clock and settings (shared backends
    /// only): requests name its port to go through it.
    func secondNode() async throws -> ServerFixture {
        try await ServerFixture(nodeOf: server, configuration: configuration, options: options)
    }

    var vault: Vault { server.vault }

    func stop() async throws { try await server.stop() }

    // MARK: enrolment

    /// Adds a person as the operator does and returns their enrolment link's token.
    func addPerson(_ name: String, _ role: Role = .dsl, schools: [String] = ["S1"]) throws -> String {
        try vault.users.addPerson(name: name, role: role, schools: schools, by: .operator("test")).token
    }

    /// A passphrase that keeps every rule, different for each person.
    func newPassphrase() -> String {
        enrolled += 1
        return "violet anchor marble drift \(enrolled)"
    }

    func postJSON(_ path: String, _ object: [String: Any], headers: [String: String] = ["Origin": origin], port: Int? = nil) async throws -> HTTPReply {
        try await server.request("POST", path, headers: headers.merging(["Content-Type": "application/json"]) { $1 },
                                 body: Array(try JSONSerialization.data(withJSONObject: object)), port: port)
    }

    /// Adds `name` and enrols them over HTTP with a passphrase and an authenticator app.
    func enrol(_ name: String, _ role: Role = .dsl, schools: [String] = ["S1"],
               file: StaticString = #filePath, line: UInt = #line) async throws -> EnrolledPerson {
        let token = try addPerson(name, role, schools: schools)
        let passphrase = newPassphrase()
        let set = try await postJSON("/v1/enrolment/\(token)/passphrase", ["passphrase": passphrase])
        XCTAssertEqual(set.status, 200, set.text, file: file, line: line)
        let secret = try XCTUnwrap((set.json as? [String: Any])?["totpSecret"] as? String, file: file, line: line)
        let app = try TestAuthenticatorApp(base32: secret)
        let confirmed = try await postJSON("/v1/enrolment/\(token)/totp", ["code": app.code(at: clock.now)])
        XCTAssertEqual(confirmed.status, 200, confirmed.text, file: file, line: line)
        let codes = try XCTUnwrap((confirmed.json as? [String: Any])?["recoveryCodes"] as? [String], file: file, line: line)
        return EnrolledPerson(name: name, passphrase: passphrase, app: app, totpSecret: secret, recoveryCodes: codes, enrolmentToken: token)
    }

    // MARK: signing in

    /// The person's next code: the clock moves to the next 30-second step first, since each
    /// step's code is accepted once.
    func nextCode(_ person: EnrolledPerson) -> String {
        clock.advance(30)
        return person.app.code(at: clock.now)
    }

    func signIn(name: String, passphrase: String, code: String? = nil, recoveryCode: String? = nil,
                headers: [String: String] = ["Origin": origin], port: Int? = nil) async throws -> HTTPReply {
        var body: [String: Any] = ["name": name, "passphrase": passphrase]
        if let code { body["code"] = code }
        if let recoveryCode { body["recoveryCode"] = recoveryCode }
        return try await postJSON("/v1/session", body, headers: headers, port: port)
    }

    /// The session a sign-in answer began: its cookie value and CSRF token.
    func session(from reply: HTTPReply, file: StaticString = #filePath, line: UInt = #line) throws -> BrowserSession {
        XCTAssertEqual(reply.status, 201, reply.text, file: file, line: line)
        let setCookie = try XCTUnwrap(reply.headers["set-cookie"], "no Set-Cookie", file: file, line: line)
        let pair = try XCTUnwrap(setCookie.split(separator: ";").first, file: file, line: line)
        XCTAssertTrue(pair.hasPrefix(SessionCookie.name + "="), setCookie, file: file, line: line)
        let token = String(pair.dropFirst(SessionCookie.name.count + 1))
        let csrf = try XCTUnwrap((reply.json as? [String: Any])?["csrfToken"] as? String, file: file, line: line)
        return BrowserSession(token: token, csrfToken: csrf)
    }

    /// Signs `person` in with their passphrase and their app's next code.
    func signedIn(_ person: EnrolledPerson, file: StaticString = #filePath, line: UInt = #line) async throws -> BrowserSession {
        let reply = try await signIn(name: person.name, passphrase: person.passphrase, code: nextCode(person))
        return try session(from: reply, file: file, line: line)
    }

    /// GET /v1/session with the cookie: 200 while the session lives, 401 once it has ended.
    func whoAmI(_ session: BrowserSession) async throws -> HTTPReply {
        try await server.request("GET", "/v1/session", headers: session.cookie)
    }

    func call(_ method: String, _ path: String, _ session: BrowserSession, json: [String: Any]? = nil,
              headers: [String: String]? = nil) async throws -> HTTPReply {
        var all = headers ?? (method == "GET" ? session.cookie : session.stateChange)
        var body: [UInt8]?
        if let json {
            all["Content-Type"] = "application/json"
            body = Array(try JSONSerialization.data(withJSONObject: json))
        }
        return try await server.request(method, path, headers: all, body: body)
    }

    // MARK: reading what happened

    var events: [AuditEvent] { server.events }

    func events(_ action: String) -> [AuditEvent] { events.filter { $0.action == action } }

    /// How many refusals the `action` events count: 1 for one written at once, N for a
    /// window's summary ("N more ...").
    func refusalsCounted(_ action: String) throws -> Int {
        try vault.audit.flushAnonymousRefusals(all: true)
        return events(action).reduce(0) { total, event in
            guard let reason = event.reason, let more = reason.range(of: " more ") else { return total + 1 }
            return total + (Int(reason[..<more.lowerBound].split(separator: " ").last ?? "") ?? 0)
        }
    }

    /// The store's SQLite file, as an attacker with write access opens it.
    var databasePath: String { StoreLayout(root: server.root).metadata }
}

extension HTTPReply {
    var object: [String: Any] { (json as? [String: Any]) ?? [:] }
    var problemType: String? { object["type"] as? String }
    var detail: String? { object["detail"] as? String }
}
