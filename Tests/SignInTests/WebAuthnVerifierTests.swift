import Crypto
import XCTest
@testable import SignIn
import TestSupport

/// Registrations and assertions built by a real key are accepted, and every way one can be
/// wrong is refused with the error a caller can act on.
final class WebAuthnVerifierTests: XCTestCase {
    let verifier = try! WebAuthnVerifier(relyingPartyID: TestAuthenticator.rpID, origin: TestAuthenticator.origin)
    let challenge = (0..<32).map { UInt8($0 * 7 & 0xff) }
    let userHandle: [UInt8] = Array("user-0001".utf8)

    func assertRefused<T>(
        _ expected: SignInError, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> T
    ) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            XCTAssertEqual(error as? SignInError, expected, file: file, line: line)
        }
    }

    func assertMalformed<T>(file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> T) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            guard case SignInError.malformed = error else { return XCTFail("\(error) is not .malformed", file: file, line: line) }
        }
    }

    func register(_ authenticator: TestAuthenticator) throws -> PasskeyCredential {
        let response = authenticator.register(challenge: challenge)
        return try verifier.verifyRegistration(
            clientDataJSON: response.clientDataJSON, attestationObject: response.attestationObject,
            expectedChallenge: challenge, userHandle: userHandle)
    }

    func verifyRegistration(clientDataJSON: [UInt8]? = nil, attestationObject: [UInt8]) throws -> PasskeyCredential {
        try verifier.verifyRegistration(
            clientDataJSON: clientDataJSON ?? TestAuthenticator.clientDataJSON(type: "webauthn.create", challenge: challenge),
            attestationObject: attestationObject, expectedChallenge: challenge, userHandle: userHandle)
    }

    func authenticate(
        _ response: (clientDataJSON: [UInt8], authenticatorData: [UInt8], signature: [UInt8]),
        credential: PasskeyCredential, credentialID: [UInt8]? = nil, userHandle: [UInt8]? = nil, expectedChallenge: [UInt8]? = nil
    ) throws -> PasskeyCredential {
        try verifier.verifyAuthentication(
            credentialID: credentialID ?? credential.credentialID, clientDataJSON: response.clientDataJSON,
            authenticatorData: response.authenticatorData, signature: response.signature,
            userHandle: userHandle, expectedChallenge: expectedChallenge ?? challenge, credential: credential)
    }

    // MARK: registration

    func testES256RegistrationIsAcceptedAndReturnsTheCredentialToStore() throws {
        let authenticator = TestAuthenticator.es256()
        let credential = try register(authenticator)
        XCTAssertEqual(credential.credentialID, authenticator.credentialID)
        XCTAssertEqual(credential.publicKey, authenticator.coseKey.encoded)
        XCTAssertEqual(credential.signCount, 0)
        XCTAssertEqual(credential.userHandle, userHandle)
        XCTAssertEqual(try COSEKey(cbor: credential.publicKey).algorithm, .es256)
    }

    func testEd25519RegistrationIsAccepted() throws {
        let authenticator = TestAuthenticator.ed25519()
        let credential = try register(authenticator)
        XCTAssertEqual(credential.credentialID, authenticator.credentialID)
        XCTAssertEqual(try COSEKey(cbor: credential.publicKey).algorithm, .ed25519)
    }

    func testRegistrationForAnotherChallengeIsRefused() {
        let response = TestAuthenticator.es256().register(challenge: challenge)
        var other = challenge
        other[31] ^= 1
        assertRefused(.challengeMismatch) {
            try verifier.verifyRegistration(
                clientDataJSON: response.clientDataJSON, attestationObject: response.attestationObject,
                expectedChallenge: other, userHandle: userHandle)
        }
        assertRefused(.challengeMismatch) {
            try verifier.verifyRegistration(
                clientDataJSON: response.clientDataJSON, attestationObject: response.attestationObject,
                expectedChallenge: Array(challenge.prefix(31)), userHandle: userHandle)
        }
    }

    func testRegistrationFromAnyOtherOriginIsRefused() {
        let authData = TestAuthenticator.es256().authenticatorData(attested: true)
        for origin in ["https://evil.example", "http://vault.school.example", "https://vault.school.example:443",
                       "https://vault.school.example/", "https://vault.school.example.", "https://VAULT.school.example",
                       "https://sub.vault.school.example", "https://vault.school.example.evil.example",
                       "https://vault.school.exampl\u{0435}", ""] {
            let client = TestAuthenticator.clientDataJSON(type: "webauthn.create", challenge: challenge, origin: origin)
            assertRefused(.originMismatch) {
                try verifyRegistration(clientDataJSON: client, attestationObject: TestAuthenticator.attestationObject(authData: authData))
            }
        }
    }

    func testRegistrationForAnotherRelyingPartyIsRefused() {
        let authData = TestAuthenticator.es256().authenticatorData(rpID: "evil.example", attested: true)
        assertRefused(.rpIDMismatch) { try verifyRegistration(attestationObject: TestAuthenticator.attestationObject(authData: authData)) }
    }

    func testRegistrationWithoutUserVerificationOrPresenceIsRefused() {
        let authenticator = TestAuthenticator.es256()
        for (flags, error) in [(UInt8(0x01), SignInError.userNotVerified), (0x04, .userNotPresent), (0x00, .userNotPresent)] {
            let response = authenticator.register(challenge: challenge, flags: flags)
            assertRefused(error) { try verifyRegistration(clientDataJSON: response.clientDataJSON, attestationObject: response.attestationObject) }
        }
    }

    func testRegistrationThatIsAnotherCeremonyIsRefused() {
        let response = TestAuthenticator.es256().register(challenge: challenge)
        for type in ["webauthn.get", "webauthn.create ", "WEBAUTHN.CREATE", "payment.get", ""] {
            let client = TestAuthenticator.clientDataJSON(type: type, challenge: challenge)
            assertRefused(.wrongCeremony) { try verifyRegistration(clientDataJSON: client, attestationObject: response.attestationObject) }
        }
    }

    func testRegistrationInACrossOriginFrameIsRefused() {
        let response = TestAuthenticator.es256().register(challenge: challenge)
        let framed = TestAuthenticator.clientDataJSON(type: "webauthn.create", challenge: challenge, crossOrigin: true)
        assertRefused(.crossOriginNotAllowed) { try verifyRegistration(clientDataJSON: framed, attestationObject: response.attestationObject) }
        let topOrigin = TestAuthenticator.clientDataJSON(
            type: "webauthn.create", challenge: challenge, crossOrigin: nil, extra: ",\"topOrigin\":\"https://evil.example\"")
        assertRefused(.crossOriginNotAllowed) { try verifyRegistration(clientDataJSON: topOrigin, attestationObject: response.attestationObject) }
        let absent = TestAuthenticator.clientDataJSON(type: "webauthn.create", challenge: challenge, crossOrigin: nil)
        XCTAssertNoThrow(try verifyRegistration(clientDataJSON: absent, attestationObject: response.attestationObject))
    }

    func testAttestationFormatsOtherThanNoneAreRefused() {
        let authenticator = TestAuthenticator.es256()
        let authData = authenticator.authenticatorData(attested: true)
        let signature = authenticator.sign(authData + Array(SHA256.hash(data: TestAuthenticator.clientDataJSON(type: "webauthn.create", challenge: challenge))))
        let selfAttested = TestCBOR.map([(.text("alg"), .int(-7)), (.text("sig"), .bytes(signature))])
        for fmt in ["packed", "fido-u2f", "tpm", "android-key", "android-safetynet", "apple", "None", "none ", ""] {
            let object = TestAuthenticator.attestationObject(fmt: fmt, attStmt: selfAttested, authData: authData)
            assertRefused(.unsupportedAttestationFormat) { try verifyRegistration(attestationObject: object) }
        }
    }

    func testNoneAttestationWithAStatementIsRefused() {
        let authData = TestAuthenticator.es256().authenticatorData(attested: true)
        let object = TestAuthenticator.attestationObject(attStmt: .map([(.text("sig"), .bytes([1]))]), authData: authData)
        assertMalformed { try verifyRegistration(attestationObject: object) }
        let notAMap = TestAuthenticator.attestationObject(attStmt: .array([]), authData: authData)
        assertMalformed { try verifyRegistration(attestationObject: notAMap) }
    }

    func testCredentialsOfOtherAlgorithmsAreRefused() {
        let authenticator = TestAuthenticator.es256()
        let modulus = [UInt8](repeating: 0xc5, count: 256)
        let keys: [(TestCBOR, SignInError)] = [
            (.map([(.int(1), .int(3)), (.int(3), .int(-257)), (.int(-1), .bytes(modulus)), (.int(-2), .bytes([1, 0, 1]))]), .unsupportedAlgorithm(-257)),
            (.map([(.int(1), .int(2)), (.int(3), .int(-35)), (.int(-1), .int(2)), (.int(-2), .bytes([UInt8](repeating: 1, count: 48))),
                   (.int(-3), .bytes([UInt8](repeating: 1, count: 48)))]), .unsupportedAlgorithm(-35)),
            (.map([(.int(1), .int(1)), (.int(3), .int(-8)), (.int(-1), .int(7)), (.int(-2), .bytes([UInt8](repeating: 1, count: 57)))]),
             .malformed("COSE curve is not Ed25519 for EdDSA")),
            (.map([(.int(1), .int(2)), (.int(-1), .int(1))]), .unsupportedAlgorithm(nil)),
        ]
        for (key, error) in keys {
            let object = TestAuthenticator.attestationObject(authData: authenticator.authenticatorData(attested: true, coseKey: key))
            assertRefused(error) { try verifyRegistration(attestationObject: object) }
        }
    }

    func testRegistrationWithoutACredentialIsRefused() {
        let object = TestAuthenticator.attestationObject(authData: TestAuthenticator.es256().authenticatorData())
        assertRefused(.malformed("registration without attested credential data")) { try verifyRegistration(attestationObject: object) }
    }

    func testTrailingBytesAnywhereInARegistrationAreRefused() {
        let authenticator = TestAuthenticator.es256()
        let response = authenticator.register(challenge: challenge)
        assertMalformed { try verifyRegistration(attestationObject: response.attestationObject + [0x00]) }
        let longAuthData = authenticator.authenticatorData(attested: true) + [0x00]
        assertMalformed { try verifyRegistration(attestationObject: TestAuthenticator.attestationObject(authData: longAuthData)) }
        assertMalformed { try verifyRegistration(clientDataJSON: response.clientDataJSON + Array("x".utf8), attestationObject: response.attestationObject) }
        let extraKey = TestCBOR.map([(.text("fmt"), .text("none")), (.text("attStmt"), .map([])),
                                     (.text("authData"), .bytes(authenticator.authenticatorData(attested: true))), (.text("x"), .null)]).encoded
        assertMalformed { try verifyRegistration(attestationObject: extraKey) }
    }

    func testAuthenticatorExtensionsAreReadOnlyWhenFlagged() throws {
        let authenticator = TestAuthenticator.es256()
        let withExtensions = authenticator.authenticatorData(attested: true, extensions: .map([(.text("credProtect"), .uint(2))]))
        XCTAssertNoThrow(try verifyRegistration(attestationObject: TestAuthenticator.attestationObject(authData: withExtensions)))
        let parsed = try AuthenticatorData(withExtensions)
        XCTAssertEqual(parsed.extensions, .map([.text("credProtect"): .unsigned(2)]))
        // ED set with nothing after the key; extension bytes without ED; extensions that are not a map.
        var flaggedOnly = authenticator.authenticatorData(attested: true)
        flaggedOnly[32] |= 0x80
        assertMalformed { try AuthenticatorData(flaggedOnly) }
        assertMalformed { try AuthenticatorData(authenticator.authenticatorData(attested: true) + TestCBOR.map([]).encoded) }
        var notAMap = authenticator.authenticatorData(attested: true) + TestCBOR.array([]).encoded
        notAMap[32] |= 0x80
        assertMalformed { try AuthenticatorData(notAMap) }
    }

    // MARK: authentication

    func testES256AssertionIsAcceptedAndReturnsTheNewCounter() throws {
        var authenticator = TestAuthenticator.es256()
        let credential = try register(authenticator)
        let updated = try authenticate(authenticator.assert(challenge: challenge), credential: credential, userHandle: userHandle)
        XCTAssertEqual(updated.signCount, 1)
        XCTAssertEqual(updated.credentialID, credential.credentialID)
        XCTAssertEqual(try authenticate(authenticator.assert(challenge: challenge), credential: updated).signCount, 2)
    }

    func testEd25519AssertionIsAccepted() throws {
        var authenticator = TestAuthenticator.ed25519()
        let credential = try register(authenticator)
        XCTAssertEqual(try authenticate(authenticator.assert(challenge: challenge), credential: credential).signCount, 1)
    }

    func testAssertionForAnotherChallengeIsRefused() throws {
        var authenticator = TestAuthenticator.es256()
        let credential = try register(authenticator)
        let response = authenticator.assert(challenge: challenge)
        var other = challenge
        other[0] ^= 0x80
        assertRefused(.challengeMismatch) { try authenticate(response, credential: credential, expectedChallenge: other) }
        assertRefused(.challengeMismatch) { try authenticate(response, credential: credential, expectedChallenge: challenge + [0]) }
    }

    func testAnEmptyOrShortExpectedChallengeMatchesNothing() throws {
        var authenticator = TestAuthenticator.es256()
        let credential = try register(authenticator)
        for short in [[UInt8](), [UInt8](repeating: 7, count: 15)] {
            let response = authenticator.assert(challenge: short)
            assertRefused(.challengeMismatch) { try authenticate(response, credential: credential, expectedChallenge: short) }
        }
    }

    func testAChallengeCanBeTakenFromTheStoreOnlyOnce() throws {
        var authenticator = TestAuthenticator.es256()
        let credential = try register(authenticator)
        let store = ChallengeStore()
        let issued = try store.issue(for: "login:user-0001")
        let response = authenticator.assert(challenge: issued)
        let expected = try XCTUnwrap(try store.take(for: "login:user-0001"))
        XCTAssertNoThrow(try authenticate(response, credential: credential, expectedChallenge: expected))
        XCTAssertNil(try store.take(for: "login:user-0001"), "the challenge is gone once taken")
        // Replaying the same assertion against the next challenge fails.
        let next = try store.issue(for: "login:user-0001")
        assertRefused(.challengeMismatch) { try authenticate(response, credential: credential, expectedChallenge: next) }
    }

    func testAssertionFromAnotherOriginIsRefused() throws {
        var authenticator = TestAuthenticator.es256()
        let credential = try register(authenticator)
        let client = TestAuthenticator.clientDataJSON(type: "webauthn.get", challenge: challenge, origin: "https://evil.example")
        assertRefused(.originMismatch) { try authenticate(authenticator.assert(challenge: challenge, clientDataJSON: client), credential: credential) }
        let framed = TestAuthenticator.clientDataJSON(type: "webauthn.get", challenge: challenge, crossOrigin: true)
        assertRefused(.crossOriginNotAllowed) { try authenticate(authenticator.assert(challenge: challenge, clientDataJSON: framed), credential: credential) }
    }

    func testAssertionForAnotherRelyingPartyIsRefused() throws {
        var authenticator = TestAuthenticator.es256()
        let credential = try register(authenticator)
        let authData = authenticator.authenticatorData(rpID: "vault.school.example.evil.example", signCount: 9)
        assertRefused(.rpIDMismatch) { try authenticate(authenticator.assert(challenge: challenge, authenticatorData: authData), credential: credential) }
    }

    func testAssertionWithoutUserVerificationOrPresenceIsRefused() throws {
        var authenticator = TestAuthenticator.es256()
        let credential = try register(authenticator)
        for (flags, error) in [(UInt8(0x01), SignInError.userNotVerified), (0x04, .userNotPresent), (0x19, .userNotVerified)] {
            let authData = authenticator.authenticatorData(flags: flags, signCount: 9)
            assertRefused(error) { try authenticate(authenticator.assert(challenge: challenge, authenticatorData: authData), credential: credential) }
        }
    }

    func testAssertionThatIsAnotherCeremonyIsRefused() throws {
        var authenticator = TestAuthenticator.es256()
        let credential = try register(authenticator)
        let client = TestAuthenticator.clientDataJSON(type: "webauthn.create", challenge: challenge)
        assertRefused(.wrongCeremony) { try authenticate(authenticator.assert(challenge: challenge, clientDataJSON: client), credential: credential) }
    }

    func testBadSignaturesAreRefused() throws {
        for var authenticator in [TestAuthenticator.es256(), TestAuthenticator.ed25519()] {
            let credential = try register(authenticator)
            let good = authenticator.assert(challenge: challenge)
            var flipped = good
            flipped.signature[flipped.signature.count - 5] ^= 0x01
            assertRefused(.badSignature) { try authenticate(flipped, credential: credential) }
            // Client data changed after signing (another challenge's signature reused).
            let otherChallenge = [UInt8](repeating: 9, count: 32)
            var swapped = authenticator.assert(challenge: otherChallenge)
            swapped.clientDataJSON = good.clientDataJSON
            assertRefused(.badSignature) { try authenticate(swapped, credential: credential) }
            // Authenticator data changed after signing (a higher counter claimed).
            var bumped = good
            bumped.authenticatorData[36] &+= 1
            assertRefused(.badSignature) { try authenticate(bumped, credential: credential) }
            // Signed by another key of the same kind.
            var impostor = authenticator
            impostor = TestAuthenticator(key: authenticator.key.isES256 ? TestAuthenticator.es256().key : TestAuthenticator.ed25519().key,
                                         credentialID: authenticator.credentialID, signCount: authenticator.signCount)
            assertRefused(.badSignature) { try authenticate(impostor.assert(challenge: challenge), credential: credential) }
            for garbage in [[UInt8](), [0x30, 0x00], [UInt8](repeating: 0, count: 64), [UInt8](repeating: 0xff, count: 72), good.signature + [0]] {
                var broken = good
                broken.signature = garbage
                assertRefused(.badSignature) { try authenticate(broken, credential: credential) }
            }
        }
    }

    func testACounterThatDidNotIncreaseIsRefusedAsAPossibleClone() throws {
        var authenticator = TestAuthenticator.es256()
        var credential = try register(authenticator)
        credential.signCount = 5
        for (received, error) in [(UInt32(5), SignInError.counterDidNotIncrease(stored: 5, received: 5)),
                                  (4, .counterDidNotIncrease(stored: 5, received: 4)), (0, .counterDidNotIncrease(stored: 5, received: 0))] {
            let authData = authenticator.authenticatorData(signCount: received)
            assertRefused(error) { try authenticate(authenticator.assert(challenge: challenge, authenticatorData: authData), credential: credential) }
        }
        let authData = authenticator.authenticatorData(signCount: 6)
        XCTAssertEqual(try authenticate(authenticator.assert(challenge: challenge, authenticatorData: authData), credential: credential).signCount, 6)
        let wrapped = authenticator.authenticatorData(signCount: UInt32.max)
        XCTAssertEqual(try authenticate(authenticator.assert(challenge: challenge, authenticatorData: wrapped), credential: credential).signCount, UInt32.max)
    }

    func testAuthenticatorsThatDoNotCountAreAcceptedWhileBothCountersAreZero() throws {
        var authenticator = TestAuthenticator.es256()
        let credential = try register(authenticator)
        let zero = authenticator.authenticatorData(signCount: 0)
        let first = try authenticate(authenticator.assert(challenge: challenge, authenticatorData: zero), credential: credential)
        XCTAssertEqual(first.signCount, 0)
        XCTAssertEqual(try authenticate(authenticator.assert(challenge: challenge, authenticatorData: zero), credential: first).signCount, 0)
    }

    func testAStoredCredentialOfAnUnsupportedAlgorithmIsRefused() throws {
        var authenticator = TestAuthenticator.es256()
        let rsa = TestCBOR.map([(.int(1), .int(3)), (.int(3), .int(-257)), (.int(-1), .bytes([UInt8](repeating: 0xc5, count: 256))),
                                (.int(-2), .bytes([1, 0, 1]))]).encoded
        let credential = PasskeyCredential(credentialID: authenticator.credentialID, publicKey: rsa, signCount: 0, userHandle: userHandle)
        assertRefused(.unsupportedAlgorithm(-257)) { try authenticate(authenticator.assert(challenge: challenge), credential: credential) }
    }

    func testACredentialOfAnotherUserCannotSignThisUserIn() throws {
        var mallory = TestAuthenticator.es256()
        mallory.credentialID = Array("mallory-credential".utf8)
        _ = try register(mallory)
        let alice = try register(TestAuthenticator.es256())
        // Mallory presents her own, valid, credential while signing in as Alice.
        let response = mallory.assert(challenge: challenge)
        assertRefused(.credentialMismatch) { try authenticate(response, credential: alice, credentialID: mallory.credentialID) }
        // Mallory claims Alice's credential id but signs with her own key.
        assertRefused(.badSignature) { try authenticate(response, credential: alice, credentialID: alice.credentialID) }
        // The authenticator returns another user's handle.
        var authenticator = TestAuthenticator.es256()
        let credential = try register(authenticator)
        assertRefused(.userHandleMismatch) {
            try authenticate(authenticator.assert(challenge: challenge), credential: credential, userHandle: Array("user-0002".utf8))
        }
    }

    func testAssertionsWithAttestedDataOrTrailingBytesAreRefused() throws {
        var authenticator = TestAuthenticator.es256()
        let credential = try register(authenticator)
        let attested = authenticator.authenticatorData(signCount: 3, attested: true)
        assertMalformed { try authenticate(authenticator.assert(challenge: challenge, authenticatorData: attested), credential: credential) }
        let trailing = authenticator.authenticatorData(signCount: 3) + [0xde, 0xad]
        assertMalformed { try authenticate(authenticator.assert(challenge: challenge, authenticatorData: trailing), credential: credential) }
        let short = Array(authenticator.authenticatorData(signCount: 3).prefix(36))
        assertMalformed { try authenticate(authenticator.assert(challenge: challenge, authenticatorData: short), credential: credential) }
        let trailingJSON = TestAuthenticator.clientDataJSON(type: "webauthn.get", challenge: challenge) + Array(" {}".utf8)
        assertMalformed { try authenticate(authenticator.assert(challenge: challenge, clientDataJSON: trailingJSON), credential: credential) }
    }

    func testOversizedInputsAreRefusedBeforeParsing() throws {
        var authenticator = TestAuthenticator.es256()
        let credential = try register(authenticator)
        var response = authenticator.assert(challenge: challenge)
        response.signature = [UInt8](repeating: 0x30, count: WebAuthnVerifier.maxSignatureLength + 1)
        assertRefused(.tooLarge(what: "signature", limit: WebAuthnVerifier.maxSignatureLength)) { try authenticate(response, credential: credential) }
        let huge = authenticator.authenticatorData(extensions: .map([(.text("x"), .bytes([UInt8](repeating: 0, count: 20_000)))]))
        assertRefused(.tooLarge(what: "authenticatorData", limit: WebAuthnVerifier.maxAuthenticatorDataLength)) {
            try authenticate(authenticator.assert(challenge: challenge, authenticatorData: huge), credential: credential)
        }
        let padding = ",\"x\":\"" + String(repeating: "a", count: ClientData.maxLength) + "\""
        let bigClient = TestAuthenticator.clientDataJSON(type: "webauthn.get", challenge: challenge, extra: padding)
        assertRefused(.tooLarge(what: "clientDataJSON", limit: ClientData.maxLength)) {
            try authenticate(authenticator.assert(challenge: challenge, clientDataJSON: bigClient), credential: credential)
        }
        let bigObject = TestAuthenticator.attestationObject(
            attStmt: .map([(.text("x"), .bytes([UInt8](repeating: 0, count: AttestationObject.maxLength)))]),
            authData: authenticator.authenticatorData(attested: true))
        assertRefused(.tooLarge(what: "attestationObject", limit: AttestationObject.maxLength)) { try verifyRegistration(attestationObject: bigObject) }
    }

    func testAVerifierWithoutRelyingPartyOrOriginCannotBeMade() {
        XCTAssertThrowsError(try WebAuthnVerifier(relyingPartyID: "", origin: "https://vault.school.example"))
        XCTAssertThrowsError(try WebAuthnVerifier(relyingPartyID: "vault.school.example", origin: ""))
    }
}

extension TestAuthenticator.Key {
    var isES256: Bool { if case .es256 = self { return true } else { return false } }
}
