import Foundation
import SignIn
import TestSupport
import XCTest
@testable import Vault

/// Passkeys over HTTP with a software authenticator: one person's passkey never signs in
/// another, each challenge is answered once, a cloned authenticator is caught by its counter,
/// and an authenticator that did not verify the person (no PIN, no fingerprint) is refused.
final class PasskeyRouteTests: XCTestCase {
    var f: SignInFixture!

    override func setUp() async throws { f = try await SignInFixture() }
    override func tearDown() async throws { try await f.stop() }

    func testAPasskeyEnrolsAndSignsInItsPerson() async throws {
        var authenticator = f.newAuthenticator()
        let handle = try await f.enrolledPasskey("jo", authenticator)
        let reply = try await f.passkeySignIn(&authenticator, userHandle: handle)
        let session = try f.session(from: reply)
        XCTAssertEqual(reply.object["name"] as? String, "jo")
        let me = try await f.whoAmI(session)
        XCTAssertEqual(me.status, 200)
        let event = try XCTUnwrap(f.events("sign-in").first)
        XCTAssertTrue(event.reason?.contains("passkey \(Vault.credentialLabel(authenticator.credentialID))") ?? false, event.reason ?? "")
    }

    func testOnePersonsPasskeyNeverSignsInAnother() async throws {
        var joKey = f.newAuthenticator()
        let samKey = f.newAuthenticator()
        let joHandle = try await f.enrolledPasskey("jo", joKey)
        let samHandle = try await f.enrolledPasskey("sam", samKey)
        XCTAssertNotEqual(joHandle, samHandle)
        let asSam = try await f.passkeySignIn(&joKey, userHandle: samHandle)
        XCTAssertEqual(asSam.status, 401, "jo's passkey with sam's user handle")
        // Jo's key signing for sam's credential id: the signature is not sam's key's.
        var forged = joKey
        forged.credentialID = samKey.credentialID
        let forgedReply = try await f.passkeySignIn(&forged, userHandle: samHandle)
        XCTAssertEqual(forgedReply.status, 401, "sam's credential id signed by jo's key")
        XCTAssertEqual(f.events("sign-in").count, 0)
        // Without a user handle the credential decides, and it is jo's.
        let asJo = try await f.passkeySignIn(&joKey, userHandle: nil)
        XCTAssertEqual(asJo.object["name"] as? String, "jo", asJo.text)
    }

    func testAPasskeyCannotConfirmAnotherPersonsSession() async throws {
        var joKey = f.newAuthenticator(), samKey = f.newAuthenticator()
        let joHandle = try await f.enrolledPasskey("jo", joKey)
        let samHandle = try await f.enrolledPasskey("sam", samKey)
        let samSession = try f.session(from: try await f.passkeySignIn(&samKey, userHandle: samHandle))
        f.clock.advance(10 * 60)
        let begin = try await f.call("POST", "/v1/session/step-up/passkey/begin", samSession, json: [:])
        XCTAssertEqual(begin.status, 200, begin.text)
        let options = try XCTUnwrap(begin.object["publicKey"] as? [String: Any])
        let allowed = (options["allowCredentials"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
        XCTAssertEqual(allowed, [Base64URL.encode(samKey.credentialID)], "only sam's own passkeys are asked for")
        let challenge = try Base64URL.decode(try XCTUnwrap(options["challenge"] as? String))
        let answer = joKey.assert(challenge: challenge)
        let finish = try await f.call("POST", "/v1/session/step-up/passkey/finish", samSession, json: f.assertionBody(
            ceremony: "", credentialID: joKey.credentialID, answer, userHandle: joHandle))
        XCTAssertEqual(finish.status, 401, finish.text)
        XCTAssertEqual(f.events("step-up").count, 0)
    }

    func testAPasskeyStepUpMovesTheWindow() async throws {
        var key = f.newAuthenticator()
        let handle = try await f.enrolledPasskey("jo", key)
        let session = try f.session(from: try await f.passkeySignIn(&key, userHandle: handle))
        f.clock.advance(10 * 60)
        let begin = try await f.call("POST", "/v1/session/step-up/passkey/begin", session, json: [:])
        let challenge = try Base64URL.decode(try XCTUnwrap((begin.object["publicKey"] as? [String: Any])?["challenge"] as? String))
        let finish = try await f.call("POST", "/v1/session/step-up/passkey/finish", session, json: f.assertionBody(
            ceremony: "", credentialID: key.credentialID, key.assert(challenge: challenge), userHandle: handle))
        XCTAssertEqual(finish.status, 200, finish.text)
        XCTAssertEqual(finish.object["stepUpUntil"] as? String, ISO8601DateFormatter().string(from: f.clock.now.addingTimeInterval(300)))
    }

    func testAnAnswerToAChallengeAlreadyUsedIsRefused() async throws {
        var key = f.newAuthenticator()
        let handle = try await f.enrolledPasskey("jo", key)
        let (ceremony, challenge) = try await f.beginPasskeySignIn()
        let answer = key.assert(challenge: challenge)
        let body = f.assertionBody(ceremony: ceremony, credentialID: key.credentialID, answer, userHandle: handle)
        let first = try await f.postJSON("/v1/session/passkey/finish", body)
        XCTAssertEqual(first.status, 201, first.text)
        let replay = try await f.postJSON("/v1/session/passkey/finish", body)
        XCTAssertEqual(replay.status, 401, "the same answer again")
        let (fresh, _) = try await f.beginPasskeySignIn()
        var moved = body
        moved["ceremony"] = fresh
        let onNewCeremony = try await f.postJSON("/v1/session/passkey/finish", moved)
        XCTAssertEqual(onNewCeremony.status, 401, "the old answer on a new ceremony")
        XCTAssertEqual(f.events("sign-in").count, 1)
    }

    func testAChallengeIsTakenEvenWhenTheAnswerFails() async throws {
        var key = f.newAuthenticator()
        let handle = try await f.enrolledPasskey("jo", key)
        let (ceremony, challenge) = try await f.beginPasskeySignIn()
        var bad = key.assert(challenge: challenge)
        bad.signature[bad.signature.count - 1] ^= 1
        let refused = try await f.postJSON("/v1/session/passkey/finish", f.assertionBody(ceremony: ceremony, credentialID: key.credentialID, bad, userHandle: handle))
        XCTAssertEqual(refused.status, 401)
        let good = key.assert(challenge: challenge)
        let late = try await f.postJSON("/v1/session/passkey/finish", f.assertionBody(ceremony: ceremony, credentialID: key.credentialID, good, userHandle: handle))
        XCTAssertEqual(late.status, 401, "one try per challenge")
    }

    func testAClonedAuthenticatorIsCaughtByItsCounter() async throws {
        var key = f.newAuthenticator()
        let handle = try await f.enrolledPasskey("jo", key)
        var clone = key
        key.signCount = 5
        let real = try await f.passkeySignIn(&key, userHandle: handle)
        XCTAssertEqual(real.status, 201, real.text)
        let cloned = try await f.passkeySignIn(&clone, userHandle: handle)
        XCTAssertEqual(cloned.status, 401, "counter 1 after 6")
        clone.signCount = 5
        let same = try await f.passkeySignIn(&clone, userHandle: handle)
        XCTAssertEqual(same.status, 401, "counter 6 again")
        XCTAssertEqual(f.events("sign-in").count, 1)
        // The refusal did not reset the stored counter: the real authenticator goes on.
        let next = try await f.passkeySignIn(&key, userHandle: handle)
        XCTAssertEqual(next.status, 201, next.text)
    }

    func testAnAuthenticatorThatDidNotVerifyThePersonIsRefused() async throws {
        let (enrolment, _) = try await f.enrolPasskey("sam", f.newAuthenticator(), flags: 0x01)
        XCTAssertEqual(enrolment.status, 400)
        XCTAssertEqual(enrolment.problemType, "urn:strongroom:problem:passkey-refused")
        XCTAssertTrue(enrolment.detail?.contains("PIN or fingerprint") ?? false, enrolment.detail ?? "")

        var key = f.newAuthenticator()
        let handle = try await f.enrolledPasskey("jo", key)
        let presenceOnly = try await f.passkeySignIn(&key, userHandle: handle, flags: 0x01)
        XCTAssertEqual(presenceOnly.status, 401)
        XCTAssertEqual(presenceOnly.problemType, "urn:strongroom:problem:sign-in-failed")
    }

    func testAnAnswerMadeForAnotherSiteIsRefused() async throws {
        var key = f.newAuthenticator()
        let handle = try await f.enrolledPasskey("jo", key)
        let (ceremony, challenge) = try await f.beginPasskeySignIn()
        let phished = key.assert(challenge: challenge, clientDataJSON: TestAuthenticator.clientDataJSON(
            type: "webauthn.get", challenge: challenge, origin: "https://vault.school.example.evil.example"))
        let reply = try await f.postJSON("/v1/session/passkey/finish", f.assertionBody(ceremony: ceremony, credentialID: key.credentialID, phished, userHandle: handle))
        XCTAssertEqual(reply.status, 401)
        let (ceremony2, challenge2) = try await f.beginPasskeySignIn()
        let otherRP = key.assert(challenge: challenge2, authenticatorData: key.authenticatorData(rpID: "evil.example", signCount: key.signCount + 1))
        let reply2 = try await f.postJSON("/v1/session/passkey/finish", f.assertionBody(ceremony: ceremony2, credentialID: key.credentialID, otherRP, userHandle: handle))
        XCTAssertEqual(reply2.status, 401)
    }

    func testACredentialIdAlreadyRegisteredCannotBeRegisteredAgain() async throws {
        var joKey = f.newAuthenticator()
        let joHandle = try await f.enrolledPasskey("jo", joKey)
        var thief = TestAuthenticator.es256()
        thief.credentialID = joKey.credentialID
        let (reply, _) = try await f.enrolPasskey("sam", thief)
        XCTAssertTrue((400..<500).contains(reply.status), "\(reply.status) \(reply.text)")
        let jo = try await f.passkeySignIn(&joKey, userHandle: joHandle)
        XCTAssertEqual(jo.object["name"] as? String, "jo", jo.text)
    }
}
