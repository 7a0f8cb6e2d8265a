import Foundation
import SignIn
import TestSupport
import XCTest

/// Passkey ceremonies through the real routes, with the software authenticator.
extension SignInFixture {
    /// A new authenticator with a credential id of its own.
    func newAuthenticator() -> TestAuthenticator {
        var authenticator = TestAuthenticator.es256()
        authenticator.credentialID = randomBytes(16)
        return authenticator
    }

    /// Adds `name` and enrols them with `authenticator`'s passkey; returns their user handle.
    func enrolPasskey(_ name: String, _ authenticator: TestAuthenticator, flags: UInt8 = TestAuthenticator.upUV) async throws -> (HTTPReply, [UInt8]) {
        let token = try addPerson(name)
        let begin = try await postJSON("/v1/enrolment/\(token)/passkey/begin", [:])
        XCTAssertEqual(begin.status, 200, begin.text)
        let options = try XCTUnwrap(begin.object["publicKey"] as? [String: Any])
        let challenge = try Base64URL.decode(try XCTUnwrap(options["challenge"] as? String))
        let userHandle = try Base64URL.decode(try XCTUnwrap((options["user"] as? [String: Any])?["id"] as? String))
        XCTAssertEqual(options["attestation"] as? String, "none")
        XCTAssertEqual((options["authenticatorSelection"] as? [String: Any])?["userVerification"] as? String, "required")
        let registration = authenticator.register(challenge: challenge, flags: flags)
        let finish = try await postJSON("/v1/enrolment/\(token)/passkey/finish", [
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
    func beginPasskeySignIn(port: Int? = nil) async throws -> (ceremony: String, challenge: [UInt8]) {
        let reply = try await postJSON("/v1/session/passkey/begin", [:], port: port)
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
        let (ceremony, challenge) = try await beginPasskeySignIn()
        let answer = authenticator.assert(challenge: challenge, authenticatorData: authenticator.authenticatorData(flags: flags, signCount: authenticator.signCount + 1))
        return try await postJSON("/v1/session/passkey/finish", assertionBody(ceremony: ceremony, credentialID: authenticator.credentialID, answer, userHandle: userHandle))
    }
}
