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

    /// A new authenticator with a credential id of its own.
    func newAuthenticator() -> TestAuthenticator {
        var authenticator = TestAuthenticator.es256()
        authenticator.credentialID = randomBytes(16)
        return authenticator
    }

    /// Adds `name` and enrols them with `authenticator`'s passkey; returns their user handle.
    func enrolPasskey(_ name: String, _ authenticator: TestAuthenticator, flags: UInt8 = TestAuthenticator.upUV) async throws -> (HTTPReply, [UInt8]) {
        let token = try f.addPerson(name)
        let begin = try await f.postJSON("/v1/enrolment/\(token)/passkey/begin", [:])
        XCTAssertEqual(begin.status, 200, begin.text)
        let options = try XCTUnwrap(begin.object["publicKey"] as? [String: Any])
        let challenge = try Base64URL.decode(try XCTUnwrap(options["challenge"] as? String))
        let userHandle = try Base64URL.decode(try XCTUnwrap((options["user"] as? [String: Any])?["id"] as? String))
        XCTAssertEqual(options["attestation"] as? String, "none")
        XCTAssertEqual((options["authenticatorSelection"] as? [String: Any])?["userVerification"] as? String, "required")
        let registration = authenticator.register(challenge: challenge, flags: flags)
        let finish = try await f.postJSON("/v1/enrolment/\(token)/passkey/finish", [
            "id": Base64URL.encode(authenticator.credentialID), "clientDataJSON": Base64URL.encode(registration.clientDataJSON),
            "attestationObject": Base64URL.encode(registration.attestationObject),
        ])
        return (finish, userHandle)
    }

    func enrolledPasskey(_ name: String, _ authenticator: TestAuthenticator) async throws -> [UInt8] {
        let (reply, handle) = try await enrolPasskey(name, authenticator)
        XCTAssertEqual(reply.status, 200, reply.text)
        return handle
    }

    /// Begins a passkey sign-in: the ceremony id and the challenge.
    func begin() async throws -> (ceremony: String, challenge: [UInt8]) {
        let reply = try await f.postJSON("/v1/session/passkey/begin", [:])
        XCTAssertEqual(reply.status, 200, reply.text)
        let challenge = try XCTUnwrap((reply.object["publicKey"] as? [String: Any])?["challenge"] as? String)
        return (try XCTUnwrap(reply.object["ceremony"] as? String), try Base64URL.decode(challenge))
    }

    func assertionBody(ceremony: String, credentialID: [UInt8], _ answer: (clientDataJSON: [UInt8], authenticatorData: [UInt8], signature: [UInt8]),
                       userHandle: [UInt8]?) -> [String: Any] {
        var body: [String: Any] = [
            "ceremony": ceremony, "id": Base64URL.encode(credentialID), "clientDataJSON": Base64URL.encode(answer.clientDataJSON),
            "authenticatorData": Base64URL.encode(answer.authenticatorData), "signature": Base64URL.encode(answer.signature),
        ]
        if let userHandle { body["userHandle"] = Base64URL.encode(userHandle) }
        return body
    }

    /// A whole passkey sign-in with `authenticator` (its counter moves).
    func passkeySignIn(_ authenticator: inout TestAuthenticator, userHandle: [UInt8]?, flags: UInt8 = TestAuthenticator.upUV) async throws -> HTTPReply {
        let (ceremony, challenge) = try await begin()
        let answer = authenticator.assert(challenge: challenge, authenticatorData: authenticator.authenticatorData(flags: flags, signCount: authenticator.signCount + 1))
        return try await f.postJSON("/v1/session/passkey/finish", assertionBody(ceremony: ceremony, credentialID: authenticator.credentialID, answer, userHandle: userHandle))
    }

    func testAPasskeyEnrolsAndSignsInItsPerson() async throws {
        var authenticator = newAuthenticator()
        let handle = try await enrolledPasskey("jo", authenticator)
        let reply = try await passkeySignIn(&authenticator, userHandle: handle)
        let session = try f.session(from: reply)
        XCTAssertEqual(reply.object["name"] as? String, "jo")
        let me = try await f.whoAmI(session)
        XCTAssertEqual(me.status, 200)
        let event = try XCTUnwrap(f.events("sign-in").first)
        XCTAssertTrue(event.reason?.contains("passkey \(Vault.credentialLabel(authenticator.credentialID))") ?? false, event.reason ?? "")
    }

    func testOnePersonsPasskeyNeverSignsInAnother() async throws {
        var joKey = newAuthenticator()
        let samKey = newAuthenticator()
        let joHandle = try await enrolledPasskey("jo", joKey)
        let samHandle = try await enrolledPasskey("sam", samKey)
        XCTAssertNotEqual(joHandle, samHandle)
        let asSam = try await passkeySignIn(&joKey, userHandle: samHandle)
        XCTAssertEqual(asSam.status, 401, "jo's passkey with sam's user handle")
        // Jo's key signing for sam's credential id: the signature is not sam's key's.
        var forged = joKey
        forged.credentialID = samKey.credentialID
        let forgedReply = try await passkeySignIn(&forged, userHandle: samHandle)
        XCTAssertEqual(forgedReply.status, 401, "sam's credential id signed by jo's key")
        XCTAssertEqual(f.events("sign-in").count, 0)
        // Without a user handle the credential decides, and it is jo's.
        let asJo = try await passkeySignIn(&joKey, userHandle: nil)
        XCTAssertEqual(asJo.object["name"] as? String, "jo", asJo.text)
    }

    func testAPasskeyCannotConfirmAnotherPersonsSession() async throws {
        var joKey = newAuthenticator(), samKey = newAuthenticator()
        let joHandle = try await enrolledPasskey("jo", joKey)
        let samHandle = try await enrolledPasskey("sam", samKey)
        let samSession = try f.session(from: try await passkeySignIn(&samKey, userHandle: samHandle))
        f.clock.advance(10 * 60)
        let begin = try await f.call("POST", "/v1/session/step-up/passkey/begin", samSession, json: [:])
        XCTAssertEqual(begin.status, 200, begin.text)
        let options = try XCTUnwrap(begin.object["publicKey"] as? [String: Any])
        let allowed = (options["allowCredentials"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
        XCTAssertEqual(allowed, [Base64URL.encode(samKey.credentialID)], "only sam's own passkeys are asked for")
        let challenge = try Base64URL.decode(try XCTUnwrap(options["challenge"] as? String))
        let answer = joKey.assert(challenge: challenge)
        let finish = try await f.call("POST", "/v1/session/step-up/passkey/finish", samSession, json: assertionBody(
            ceremony: "", credentialID: joKey.credentialID, answer, userHandle: joHandle))
        XCTAssertEqual(finish.status, 401, finish.text)
        XCTAssertEqual(f.events("step-up").count, 0)
    }

    func testAPasskeyStepUpMovesTheWindow() async throws {
        var key = newAuthenticator()
        let handle = try await enrolledPasskey("jo", key)
        let session = try f.session(from: try await passkeySignIn(&key, userHandle: handle))
        f.clock.advance(10 * 60)
        let begin = try await f.call("POST", "/v1/session/step-up/passkey/begin", session, json: [:])
        let challenge = try Base64URL.decode(try XCTUnwrap((begin.object["publicKey"] as? [String: Any])?["challenge"] as? String))
        let finish = try await f.call("POST", "/v1/session/step-up/passkey/finish", session, json: assertionBody(
            ceremony: "", credentialID: key.credentialID, key.assert(challenge: challenge), userHandle: handle))
        XCTAssertEqual(finish.status, 200, finish.text)
        XCTAssertEqual(finish.object["stepUpUntil"] as? String, ISO8601DateFormatter().string(from: f.clock.now.addingTimeInterval(300)))
    }

    func testAnAnswerToAChallengeAlreadyUsedIsRefused() async throws {
        var key = newAuthenticator()
        let handle = try await enrolledPasskey("jo", key)
        let (ceremony, challenge) = try await begin()
        let answer = key.assert(challenge: challenge)
        let body = assertionBody(ceremony: ceremony, credentialID: key.credentialID, answer, userHandle: handle)
        let first = try await f.postJSON("/v1/session/passkey/finish", body)
        XCTAssertEqual(first.status, 201, first.text)
        let replay = try await f.postJSON("/v1/session/passkey/finish", body)
        XCTAssertEqual(replay.status, 401, "the same answer again")
        let (fresh, _) = try await begin()
        var moved = body
        moved["ceremony"] = fresh
        let onNewCeremony = try await f.postJSON("/v1/session/passkey/finish", moved)
        XCTAssertEqual(onNewCeremony.status, 401, "the old answer on a new ceremony")
        XCTAssertEqual(f.events("sign-in").count, 1)
    }

    func testAChallengeIsTakenEvenWhenTheAnswerFails() async throws {
        var key = newAuthenticator()
        let handle = try await enrolledPasskey("jo", key)
        let (ceremony, challenge) = try await begin()
        var bad = key.assert(challenge: challenge)
        bad.signature[bad.signature.count - 1] ^= 1
        let refused = try await f.postJSON("/v1/session/passkey/finish", assertionBody(ceremony: ceremony, credentialID: key.credentialID, bad, userHandle: handle))
        XCTAssertEqual(refused.status, 401)
        let good = key.assert(challenge: challenge)
        let late = try await f.postJSON("/v1/session/passkey/finish", assertionBody(ceremony: ceremony, credentialID: key.credentialID, good, userHandle: handle))
        XCTAssertEqual(late.status, 401, "one try per challenge")
    }

    func testAClonedAuthenticatorIsCaughtByItsCounter() async throws {
        var key = newAuthenticator()
        let handle = try await enrolledPasskey("jo", key)
        var clone = key
        key.signCount = 5
        let real = try await passkeySignIn(&key, userHandle: handle)
        XCTAssertEqual(real.status, 201, real.text)
        let cloned = try await passkeySignIn(&clone, userHandle: handle)
        XCTAssertEqual(cloned.status, 401, "counter 1 after 6")
        clone.signCount = 5
        let same = try await passkeySignIn(&clone, userHandle: handle)
        XCTAssertEqual(same.status, 401, "counter 6 again")
        XCTAssertEqual(f.events("sign-in").count, 1)
        // The refusal did not reset the stored counter: the real authenticator goes on.
        let next = try await passkeySignIn(&key, userHandle: handle)
        XCTAssertEqual(next.status, 201, next.text)
    }

    func testAnAuthenticatorThatDidNotVerifyThePersonIsRefused() async throws {
        let (enrolment, _) = try await enrolPasskey("sam", newAuthenticator(), flags: 0x01)
        XCTAssertEqual(enrolment.status, 400)
        XCTAssertEqual(enrolment.problemType, "urn:strongroom:problem:passkey-refused")
        XCTAssertTrue(enrolment.detail?.contains("PIN or fingerprint") ?? false, enrolment.detail ?? "")

        var key = newAuthenticator()
        let handle = try await enrolledPasskey("jo", key)
        let presenceOnly = try await passkeySignIn(&key, userHandle: handle, flags: 0x01)
        XCTAssertEqual(presenceOnly.status, 401)
        XCTAssertEqual(presenceOnly.problemType, "urn:strongroom:problem:sign-in-failed")
    }

    func testAnAnswerMadeForAnotherSiteIsRefused() async throws {
        var key = newAuthenticator()
        let handle = try await enrolledPasskey("jo", key)
        let (ceremony, challenge) = try await begin()
        let phished = key.assert(challenge: challenge, clientDataJSON: TestAuthenticator.clientDataJSON(
            type: "webauthn.get", challenge: challenge, origin: "https://vault.school.example.evil.example"))
        let reply = try await f.postJSON("/v1/session/passkey/finish", assertionBody(ceremony: ceremony, credentialID: key.credentialID, phished, userHandle: handle))
        XCTAssertEqual(reply.status, 401)
        let (ceremony2, challenge2) = try await begin()
        let otherRP = key.assert(challenge: challenge2, authenticatorData: key.authenticatorData(rpID: "evil.example", signCount: key.signCount + 1))
        let reply2 = try await f.postJSON("/v1/session/passkey/finish", assertionBody(ceremony: ceremony2, credentialID: key.credentialID, otherRP, userHandle: handle))
        XCTAssertEqual(reply2.status, 401)
    }

    func testACredentialIdAlreadyRegisteredCannotBeRegisteredAgain() async throws {
        var joKey = newAuthenticator()
        let joHandle = try await enrolledPasskey("jo", joKey)
        var thief = TestAuthenticator.es256()
        thief.credentialID = joKey.credentialID
        let (reply, _) = try await enrolPasskey("sam", thief)
        XCTAssertTrue((400..<500).contains(reply.status), "\(reply.status) \(reply.text)")
        let jo = try await passkeySignIn(&joKey, userHandle: joHandle)
        XCTAssertEqual(jo.object["name"] as? String, "jo", jo.text)
    }
}
