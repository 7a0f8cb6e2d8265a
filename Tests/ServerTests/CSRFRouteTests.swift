import Foundation
import TestSupport
import XCTest
@testable import Vault

/// Another site's page can make a browser send the session cookie, but cannot read the CSRF
/// token or forge the Origin: every state change made with the cookie needs both, every
/// refusal is audited, no GET changes anything, and bearer-token clients are not asked.
final class CSRFRouteTests: XCTestCase {
    var f: SignInFixture!
    var jo: EnrolledPerson!
    var session: BrowserSession!

    override func setUp() async throws {
        f = try await SignInFixture()
        jo = try await f.enrol("jo")
        session = try await f.signedIn(jo)
    }

    override func tearDown() async throws { try await f.stop() }

    static let uploadPath = "/v1/attachments?school=S1&child=C1&concern=K1&kind=disclosure&filename=note.txt"

    func upload(_ headers: [String: String]) async throws -> HTTPReply {
        try await f.server.request("POST", Self.uploadPath, headers: headers.merging(["Content-Type": "text/plain"]) { $1 },
                                   body: Array("what the child said".utf8))
    }

    func testAStateChangeWithTheCookieAndItsTokenFromThisOriginWorks() async throws {
        let reply = try await upload(session.stateChange)
        XCTAssertEqual(reply.status, 201, reply.text)
        XCTAssertEqual(f.server.records.count, 1)
    }

    func testEveryWayOfMissingTheTokenOrTheOriginIsRefusedAndAudited() async throws {
        var forged: [(String, [String: String])] = [
            ("no token", session.cookie.merging(["Origin": SignInFixture.origin]) { $1 }),
            ("wrong token", session.cookie.merging(["Origin": SignInFixture.origin, "X-CSRF-Token": Vault.csrfToken(forSession: "x")]) { $1 }),
            ("the cookie as token", session.cookie.merging(["Origin": SignInFixture.origin, "X-CSRF-Token": session.token]) { $1 }),
            ("another site", session.stateChange.merging(["Origin": SignInFixture.otherSite]) { $1 }),
            ("the origin over http", session.stateChange.merging(["Origin": "http://vault.school.example"]) { $1 }),
            ("a sibling subdomain", session.stateChange.merging(["Origin": "https://evil.vault.school.example"]) { $1 }),
            ("null origin", session.stateChange.merging(["Origin": "null"]) { $1 }),
        ]
        var noOrigin = session.stateChange
        noOrigin["Origin"] = nil
        forged.append(("no origin", noOrigin))
        for (what, headers) in forged {
            let reply = try await upload(headers)
            XCTAssertEqual(reply.status, 403, what)
            XCTAssertEqual(reply.problemType, "urn:strongroom:problem:csrf", what)
        }
        XCTAssertEqual(f.server.records.count, 0, "nothing was stored")
        XCTAssertEqual(try f.refusalsCounted("csrf"), forged.count)
        let first = try XCTUnwrap(f.events("csrf").first)
        XCTAssertTrue(first.reason?.contains("POST /v1/attachments") ?? false, first.reason ?? "")
    }

    func testSessionChangesFromAnotherSiteAreRefused() async throws {
        let second = try await f.signedIn(jo)
        let list = try await f.call("GET", "/v1/sessions", session)
        let handle = try XCTUnwrap((list.object["sessions"] as? [[String: Any]])?.first { $0["current"] as? Bool == false }?["id"] as? String)
        let crossSite = session.cookie.merging(["Origin": SignInFixture.otherSite]) { $1 }
        for (method, path) in [("DELETE", "/v1/session"), ("DELETE", "/v1/sessions"), ("DELETE", "/v1/sessions/\(handle)"),
                               ("POST", "/v1/session/step-up")] {
            let reply = try await f.call(method, path, session, json: method == "POST" ? ["code": jo.app.code(at: f.clock.now + 30)] : nil,
                                         headers: crossSite)
            XCTAssertEqual(reply.status, 403, "\(method) \(path)")
            XCTAssertEqual(reply.problemType, "urn:strongroom:problem:csrf")
        }
        for s in [session!, second] {
            let me = try await f.whoAmI(s)
            XCTAssertEqual(me.status, 200, "both sessions still live")
        }
        XCTAssertEqual(f.events("step-up").count, 0)
        XCTAssertEqual(try f.refusalsCounted("csrf"), 4)
    }

    func testNoGETChangesAnythingEvenFromAnotherSite() async throws {
        let crossSite = session.cookie.merging(["Origin": SignInFixture.otherSite]) { $1 }
        let before = try f.vault.catalog.sessions(account: try account("jo")).map(\.idHash)
        let signOuts = f.events("sign-out").count
        for path in ["/v1/session", "/v1/sessions", "/v1/children/C1/attachments?school=S1"] {
            let reply = try await f.call("GET", path, session, headers: crossSite)
            XCTAssertEqual(reply.status, 200, path)
        }
        // A method override is not a method.
        let overridden = try await f.call("GET", "/v1/session", session,
                                          headers: crossSite.merging(["X-HTTP-Method-Override": "DELETE"]) { $1 })
        XCTAssertEqual(overridden.status, 200)
        for path in ["/v1/session/step-up", "/v1/sessions/\(String(before[0].prefix(8).map { String(format: "%02x", $0) }.joined()))"] {
            let reply = try await f.call("GET", path, session, headers: crossSite)
            XCTAssertEqual(reply.status, 405, path)
        }
        XCTAssertEqual(try f.vault.catalog.sessions(account: try account("jo")).map(\.idHash), before)
        XCTAssertEqual(f.events("sign-out").count, signOuts)
        XCTAssertEqual(f.events("session-end").count, 0)
        XCTAssertEqual(f.events("step-up").count, 0)
        let me = try await f.whoAmI(session)
        XCTAssertEqual(me.status, 200)
    }

    func testBearerTokenRequestsNeedNoCSRFToken() async throws {
        try f.server.addUser("feed", .dsl)
        let reply = try await f.server.upload(Array("from the MIS".utf8), user: "feed", type: "text/plain", kind: "disclosure")
        XCTAssertEqual(reply.status, 201, reply.text)
        let withOrigin = try await f.server.request(
            "POST", Self.uploadPath, user: "feed", headers: ["Content-Type": "text/plain", "Origin": SignInFixture.otherSite],
            body: Array("from the MIS".utf8))
        XCTAssertEqual(withOrigin.status, 201, "a bearer token is never sent by a browser on its own")
    }

    func testSignInFromAnotherSitesPageIsRefused() async throws {
        let reply = try await f.signIn(name: "jo", passphrase: jo.passphrase, code: f.nextCode(jo), headers: ["Origin": SignInFixture.otherSite])
        XCTAssertEqual(reply.status, 403)
        XCTAssertEqual(reply.problemType, "urn:strongroom:problem:csrf")
        XCTAssertNil(reply.headers["set-cookie"])
    }

    func account(_ name: String) throws -> String {
        try XCTUnwrap(try f.vault.catalog.users().first { $0.name == name }?.id)
    }
}
