import Foundation
import SignIn
import TestSupport
import XCTest
@testable import StrongroomServer
@testable import Vault

/// Signing in with a passphrase and a code over HTTP: the cookie and the answer, one refusal
/// for every wrong part, codes and recovery codes that work once, and a session value the
/// server always chooses itself.
final class SessionRouteTests: XCTestCase {
    var f: SignInFixture!

    override func setUp() async throws { f = try await SignInFixture() }
    override func tearDown() async throws { try await f.stop() }

    /// A /v1 route a signed-in DSL may read.
    static let chronology = "/v1/children/C1/attachments?school=S1"

    func testSignInSetsAHostOnlySecureStrictCookieAndAnswersWhoAndTheCSRFToken() async throws {
        let jo = try await f.enrol("jo", .dsl, schools: ["S2", "S1"])
        let reply = try await f.signIn(name: "jo", passphrase: jo.passphrase, code: f.nextCode(jo))
        XCTAssertEqual(reply.status, 201, reply.text)
        let setCookie = try XCTUnwrap(reply.headers["set-cookie"])
        let parts = setCookie.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        XCTAssertTrue(parts[0].hasPrefix("__Host-strongroom-session="))
        XCTAssertEqual(parts[0].count, "__Host-strongroom-session=".count + 43, "32 random bytes in base64url")
        let attributes = Set(parts.dropFirst().map { $0.lowercased() })
        XCTAssertTrue(attributes.isSuperset(of: ["secure", "httponly", "samesite=strict", "path=/"]), setCookie)
        XCTAssertFalse(attributes.contains { $0.hasPrefix("domain") }, setCookie)
        XCTAssertTrue(attributes.contains("max-age=\(12 * 3600)"), setCookie)

        XCTAssertEqual(reply.object["name"] as? String, "jo")
        XCTAssertEqual(reply.object["role"] as? String, "dsl")
        XCTAssertEqual(reply.object["schools"] as? [String], ["S1", "S2"])
        let session = try f.session(from: reply)
        XCTAssertEqual(session.csrfToken, Vault.csrfToken(forSession: session.token))
        XCTAssertNotEqual(session.csrfToken, session.token)

        let me = try await f.whoAmI(session)
        XCTAssertEqual(me.status, 200, me.text)
        XCTAssertEqual(me.object["name"] as? String, "jo")
        XCTAssertEqual(me.object["csrfToken"] as? String, session.csrfToken)
        let chronology = try await f.call("GET", Self.chronology, session)
        XCTAssertEqual(chronology.status, 200, chronology.text)
        XCTAssertEqual(f.events("sign-in").count, 1)
    }

    func testWrongNameWrongPassphraseAndWrongCodeGiveTheSameAnswer() async throws {
        let jo = try await f.enrol("jo")
        let code = f.nextCode(jo)
        let wrongCode = String(format: "%06d", (Int(code)! + 500_000) % 1_000_000)
        let answers = [
            try await f.signIn(name: "nobody", passphrase: jo.passphrase, code: code),
            try await f.signIn(name: "jo", passphrase: jo.passphrase + "x", code: code),
            try await f.signIn(name: "jo", passphrase: jo.passphrase, code: wrongCode),
        ]
        for reply in answers {
            XCTAssertEqual(reply.status, 401)
            XCTAssertEqual(reply.problemType, "urn:strongroom:problem:sign-in-failed")
            XCTAssertEqual(reply.object["title"] as? String, answers[0].object["title"] as? String)
            XCTAssertEqual(reply.detail, answers[0].detail)
            XCTAssertNil(reply.headers["set-cookie"])
        }
        XCTAssertEqual(answers.map(\.body.count), Array(repeating: answers[0].body.count, count: 3))
    }

    func testAPassphraseAloneNeverSignsIn() async throws {
        let jo = try await f.enrol("jo")
        let alone = try await f.signIn(name: "jo", passphrase: jo.passphrase)
        XCTAssertEqual(alone.status, 401)
        let empty = try await f.signIn(name: "jo", passphrase: jo.passphrase, code: "")
        XCTAssertEqual(empty.status, 401)
        let both = try await f.signIn(name: "jo", passphrase: jo.passphrase, code: f.nextCode(jo), recoveryCode: jo.recoveryCodes[0])
        XCTAssertEqual(both.status, 401, "a code and a recovery code together are refused, not one of them picked")
        XCTAssertEqual(f.events("sign-in").count, 0)
    }

    func testARecoveryCodeSignsInOnceAndNeverAgain() async throws {
        let jo = try await f.enrol("jo")
        let first = try await f.signIn(name: "jo", passphrase: jo.passphrase, recoveryCode: jo.recoveryCodes[3])
        _ = try f.session(from: first)
        let again = try await f.signIn(name: "jo", passphrase: jo.passphrase, recoveryCode: jo.recoveryCodes[3])
        XCTAssertEqual(again.status, 401)
        // Typed in capitals or without its dashes it is still the same, spent, code.
        let retyped = jo.recoveryCodes[3].uppercased().replacingOccurrences(of: "-", with: "")
        let third = try await f.signIn(name: "jo", passphrase: jo.passphrase, recoveryCode: retyped)
        XCTAssertEqual(third.status, 401)
        let other = try await f.signIn(name: "jo", passphrase: jo.passphrase, recoveryCode: jo.recoveryCodes[4])
        XCTAssertEqual(other.status, 201, other.text)
        XCTAssertEqual(try f.vault.users.signInSummaries().values.first { $0.kind == .person }?.recoveryCodesLeft, 8)
    }

    func testAnotherPersonsRecoveryCodeDoesNotSignIn() async throws {
        let kim = try await f.enrol("kim")
        let sam = try await f.enrol("sam", .staff)
        let reply = try await f.signIn(name: "sam", passphrase: sam.passphrase, recoveryCode: kim.recoveryCodes[0])
        XCTAssertEqual(reply.status, 401)
    }

    func testACodeUsedToSignInIsRefusedTheNextTimeAndForStepUp() async throws {
        let jo = try await f.enrol("jo")
        let code = f.nextCode(jo)
        let first = try await f.signIn(name: "jo", passphrase: jo.passphrase, code: code)
        let session = try f.session(from: first)
        let replay = try await f.signIn(name: "jo", passphrase: jo.passphrase, code: code)
        XCTAssertEqual(replay.status, 401, "the same code twice")
        let stepUp = try await f.call("POST", "/v1/session/step-up", session, json: ["code": code])
        XCTAssertEqual(stepUp.status, 401, stepUp.text)
        // The previous step's code, still within the app's drift, is older than the one used.
        let older = jo.app.code(at: f.clock.now - 30)
        let olderReply = try await f.signIn(name: "jo", passphrase: jo.passphrase, code: older)
        XCTAssertEqual(olderReply.status, 401, "an older code after a newer one")
        // The next step's code works.
        _ = try await f.signedIn(jo)
    }

    func testACookieChosenBeforeSignInIsNeverHonoured() async throws {
        let jo = try await f.enrol("jo")
        let planted = Base64URL.encode((0..<32).map { _ in UInt8.random(in: 0...255) })
        let reply = try await f.signIn(name: "jo", passphrase: jo.passphrase, code: f.nextCode(jo),
                                       headers: ["Origin": SignInFixture.origin, "Cookie": "\(SessionCookie.name)=\(planted)"])
        let session = try f.session(from: reply)
        XCTAssertNotEqual(session.token, planted)
        let plantedSession = BrowserSession(token: planted, csrfToken: Vault.csrfToken(forSession: planted))
        let me = try await f.whoAmI(plantedSession)
        XCTAssertEqual(me.status, 401)
        let read = try await f.call("GET", Self.chronology, plantedSession)
        XCTAssertEqual(read.status, 401)
    }

    func testSigningInAgainWithALiveCookieIssuesAFreshValue() async throws {
        let jo = try await f.enrol("jo")
        let first = try await f.signedIn(jo)
        let reply = try await f.signIn(name: "jo", passphrase: jo.passphrase, code: f.nextCode(jo),
                                       headers: ["Origin": SignInFixture.origin].merging(first.cookie) { $1 })
        let second = try f.session(from: reply)
        XCTAssertNotEqual(second.token, first.token)
        XCTAssertNotEqual(second.csrfToken, first.csrfToken)
    }

    func testTwoSessionCookiesInOneRequestAreRefused() async throws {
        let jo = try await f.enrol("jo")
        let session = try await f.signedIn(jo)
        let planted = Base64URL.encode(Array(repeating: 7, count: 32))
        let both = try await f.server.request("GET", "/v1/session", headers: [
            "Cookie": "\(SessionCookie.name)=\(planted); \(SessionCookie.name)=\(session.token)",
        ])
        XCTAssertEqual(both.status, 401)
    }

    func testAStolenCookieIsDeadAfterSignOut() async throws {
        let jo = try await f.enrol("jo")
        let session = try await f.signedIn(jo)
        let out = try await f.call("DELETE", "/v1/session", session)
        XCTAssertEqual(out.status, 204, out.text)
        XCTAssertTrue(out.headers["set-cookie"]?.contains("Max-Age=0") ?? false)
        let me = try await f.whoAmI(session)
        XCTAssertEqual(me.status, 401)
        let read = try await f.call("GET", Self.chronology, session)
        XCTAssertEqual(read.status, 401)
        XCTAssertEqual(try f.vault.catalog.sessions(account: try account("jo")).count, 0, "the row is deleted")
        XCTAssertEqual(f.events("sign-out").count, 1)
    }

    func testSignOutEverywhereKillsEveryOtherSessionToo() async throws {
        let jo = try await f.enrol("jo")
        let laptop = try await f.signedIn(jo), phone = try await f.signedIn(jo), tablet = try await f.signedIn(jo)
        let sam = try await f.enrol("sam", .staff)
        let samSession = try await f.signedIn(sam)
        let out = try await f.call("DELETE", "/v1/sessions", phone)
        XCTAssertEqual(out.status, 204, out.text)
        for session in [laptop, phone, tablet] {
            let me = try await f.whoAmI(session)
            XCTAssertEqual(me.status, 401)
        }
        let other = try await f.whoAmI(samSession)
        XCTAssertEqual(other.status, 200, "another person's session is theirs")
    }

    func testEndingOneSessionByItsHandleEndsOnlyThatOne() async throws {
        let jo = try await f.enrol("jo")
        let laptop = try await f.signedIn(jo), phone = try await f.signedIn(jo)
        let list = try await f.call("GET", "/v1/sessions", laptop)
        XCTAssertEqual(list.status, 200, list.text)
        let items = try XCTUnwrap(list.object["sessions"] as? [[String: Any]])
        XCTAssertEqual(items.count, 2)
        let phoneItem = try XCTUnwrap(items.first { $0["current"] as? Bool == false })
        let handle = try XCTUnwrap(phoneItem["id"] as? String)
        XCTAssertEqual(handle.count, 16)
        XCTAssertFalse(list.text.contains(phone.token) || list.text.contains(laptop.token), "the list shows no cookie value")
        let end = try await f.call("DELETE", "/v1/sessions/\(handle)", laptop)
        XCTAssertEqual(end.status, 204, end.text)
        let phoneNow = try await f.whoAmI(phone)
        XCTAssertEqual(phoneNow.status, 401)
        let laptopNow = try await f.whoAmI(laptop)
        XCTAssertEqual(laptopNow.status, 200)
        XCTAssertEqual(f.events("session-end").count, 1)
    }

    func testAPersonCannotEndAnotherPersonsSession() async throws {
        let jo = try await f.enrol("jo"), sam = try await f.enrol("sam", .staff)
        let joSession = try await f.signedIn(jo), samSession = try await f.signedIn(sam)
        let list = try await f.call("GET", "/v1/sessions", joSession)
        let handle = try XCTUnwrap((list.object["sessions"] as? [[String: Any]])?.first?["id"] as? String)
        let attempt = try await f.call("DELETE", "/v1/sessions/\(handle)", samSession)
        XCTAssertEqual(attempt.status, 404, attempt.text)
        let joNow = try await f.whoAmI(joSession)
        XCTAssertEqual(joNow.status, 200)
        let samList = try await f.call("GET", "/v1/sessions", samSession)
        XCTAssertEqual((samList.object["sessions"] as? [[String: Any]])?.count, 1, "sam sees only sam's own session")
    }

    func testASessionUnusedPastTheIdleTimeoutEnds() async throws {
        let jo = try await f.enrol("jo")
        let session = try await f.signedIn(jo)
        f.clock.advance(29 * 60)
        let stillThere = try await f.whoAmI(session)
        XCTAssertEqual(stillThere.status, 200, "used within 30 minutes")
        f.clock.advance(29 * 60)
        let used = try await f.whoAmI(session)
        XCTAssertEqual(used.status, 200, "each use restarts the idle time")
        f.clock.advance(30 * 60 + 1)
        let idle = try await f.whoAmI(session)
        XCTAssertEqual(idle.status, 401)
        f.clock.advance(-(30 * 60 + 1))
        let back = try await f.whoAmI(session)
        XCTAssertEqual(back.status, 401, "the ended session's row is gone, not just out of time")
    }

    func testASessionInUseEndsAtItsAbsoluteLimit() async throws {
        let jo = try await f.enrol("jo")
        let session = try await f.signedIn(jo)
        for _ in 0..<35 {
            f.clock.advance(20 * 60)
            let me = try await f.whoAmI(session)
            XCTAssertEqual(me.status, 200)
        }
        f.clock.advance(20 * 60 + 1) // 12 hours and a second after sign-in, 20 minutes after last use
        let late = try await f.whoAmI(session)
        XCTAssertEqual(late.status, 401)
    }

    func testARevokedPersonsSessionDiesAtOnce() async throws {
        let jo = try await f.enrol("jo")
        let session = try await f.signedIn(jo)
        try f.vault.users.revoke(name: "jo", by: .operator("test"))
        let me = try await f.whoAmI(session)
        XCTAssertEqual(me.status, 401)
        let read = try await f.call("GET", Self.chronology, session)
        XCTAssertEqual(read.status, 401)
        let again = try await f.signIn(name: "jo", passphrase: jo.passphrase, code: f.nextCode(jo))
        XCTAssertEqual(again.status, 401)
    }

    func testAfterAResetTheOldFactorsAndSessionsNoLongerWork() async throws {
        let jo = try await f.enrol("jo")
        let session = try await f.signedIn(jo)
        let issued = try f.vault.users.resetPerson(name: "jo", by: .operator("test"))
        let me = try await f.whoAmI(session)
        XCTAssertEqual(me.status, 401, "the session ended")
        let old = try await f.signIn(name: "jo", passphrase: jo.passphrase, code: f.nextCode(jo))
        XCTAssertEqual(old.status, 401, "old passphrase and authenticator")
        let recovery = try await f.signIn(name: "jo", passphrase: jo.passphrase, recoveryCode: jo.recoveryCodes[0])
        XCTAssertEqual(recovery.status, 401, "old recovery code")
        let oldLink = try await f.server.request("GET", "/v1/enrolment/\(jo.enrolmentToken)")
        XCTAssertEqual(oldLink.status, 404)
        // The new link enrols the person again, with a new authenticator secret.
        let set = try await f.postJSON("/v1/enrolment/\(issued.token)/passphrase", ["passphrase": jo.passphrase])
        XCTAssertEqual(set.status, 200, set.text)
        XCTAssertNotEqual(set.object["totpSecret"] as? String, jo.totpSecret)
    }

    func account(_ name: String) throws -> String {
        try XCTUnwrap(try f.vault.catalog.users().first { $0.name == name }?.id)
    }
}
