import Foundation
import SignIn
import TestSupport
import XCTest
@testable import Vault

/// Two nodes serving one store on the shared backends: sign-in's passing state is the store's,
/// not a node's. A passkey ceremony begun through one finishes through the other, a challenge
/// is used once wherever it is presented, and wrong guesses slow the next attempt through any
/// node; the database holds no name or address that was tried.
final class SharedSignInStateTests: XCTestCase {
    var f: SignInFixture!
    var second: ServerFixture!

    override func setUp() async throws {
        try TestBackend.requireShared("two nodes serve one store")
        f = try await SignInFixture()
        second = try await f.secondNode()
    }

    override func tearDown() async throws {
        try await second?.stop()
        try await f?.stop()
    }

    func testAPasskeyCeremonyBegunThroughOneNodeFinishesThroughTheOther() async throws {
        var authenticator = f.newAuthenticator()
        let handle = try await f.enrolledPasskey("jo", authenticator)
        let (ceremony, challenge) = try await f.beginPasskeySignIn()
        let answer = authenticator.assert(challenge: challenge, authenticatorData: authenticator.authenticatorData(
            flags: TestAuthenticator.upUV, signCount: authenticator.signCount + 1))
        authenticator.signCount += 1
        let body = f.assertionBody(ceremony: ceremony, credentialID: authenticator.credentialID, answer, userHandle: handle)
        let finished = try await f.postJSON("/v1/session/passkey/finish", body, port: second.port)
        XCTAssertEqual(finished.status, 201, finished.text)
        let replayed = try await f.postJSON("/v1/session/passkey/finish", body)
        XCTAssertEqual(replayed.status, 401, "the challenge was used through the other node: \(replayed.text)")
    }

    func testAPasskeyEnrolmentBegunThroughOneNodeFinishesThroughTheOther() async throws {
        let authenticator = f.newAuthenticator()
        let token = try f.addPerson("ali")
        let begin = try await f.postJSON("/v1/enrolment/\(token)/passkey/begin", [:])
        XCTAssertEqual(begin.status, 200, begin.text)
        let options = try XCTUnwrap(begin.object["publicKey"] as? [String: Any])
        let challenge = try Base64URL.decode(try XCTUnwrap(options["challenge"] as? String))
        let registration = authenticator.register(challenge: challenge, flags: TestAuthenticator.upUV)
        let finish = try await f.postJSON("/v1/enrolment/\(token)/passkey/finish", [
            "id": Base64URL.encode(authenticator.credentialID), "clientDataJSON": Base64URL.encode(registration.clientDataJSON),
            "attestationObject": Base64URL.encode(registration.attestationObject),
        ], port: second.port)
        XCTAssertEqual(finish.status, 200, finish.text)
    }

    func testWrongGuessesThroughOneNodeSlowTheRightAnswerThroughTheOther() async throws {
        let jo = try await f.enrol("jo")
        f.clock.advance(30)
        for _ in 0..<3 {
            let wrong = try await f.signIn(name: "jo", passphrase: "not jo's passphrase at all", code: "000000")
            XCTAssertEqual(wrong.status, 401)
        }
        let right = try await f.signIn(name: "jo", passphrase: jo.passphrase, code: jo.app.code(at: f.clock.now), port: second.port)
        XCTAssertEqual(right.status, 429, right.text)
        XCTAssertEqual(right.headers["retry-after"], "1")
        f.clock.advance(1)
        let later = try await f.signIn(name: "jo", passphrase: jo.passphrase, code: jo.app.code(at: f.clock.now), port: second.port)
        XCTAssertEqual(later.status, 201, later.text)
        // The success through the second node cleared the name for the first as well.
        let slip = try await f.signIn(name: "jo", passphrase: "a slip of the finger", code: "000000")
        XCTAssertEqual(slip.status, 401, "the next mistake is free again on every node: \(slip.text)")
    }

    func testTheDatabaseHoldsNoNameOrAddressThatWasTried() async throws {
        _ = try await f.enrol("jo")
        let tried = "amelia.hartley-child"
        _ = try await f.signIn(name: tried, passphrase: "violet anchor marble drift", code: "000000")
        _ = try await f.signIn(name: tried, passphrase: "violet anchor marble drift", code: "000000", port: second.port)
        let database = try XCTUnwrap(f.server.store.database)
        let rows = try database.psql("SELECT encode(key, 'escape') || ' ' || failures FROM sign_in_failures")
        XCTAssertFalse(rows.isEmpty, "the failures were counted")
        XCTAssertTrue(rows.contains(" 2"), "both nodes' failures in one count: \(rows)")
        for secret in [tried, "127.0.0.1", "hartley"] {
            XCTAssertFalse(rows.contains(secret), "\(secret) in the clear")
        }
        // A passkey ceremony begun keeps its challenge with its source, as a digest too.
        _ = try await f.beginPasskeySignIn()
        let challenges = try database.psql("SELECT context || ' ' || source FROM sign_in_challenges")
        XCTAssertTrue(challenges.hasPrefix("sign-in:"), challenges)
        XCTAssertFalse(challenges.contains("127.0.0.1"), challenges)
    }
}
