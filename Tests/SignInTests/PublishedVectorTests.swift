import Crypto
import XCTest
@testable import SignIn

/// The W3C WebAuthn Level 3 test vectors: our parsers read the exact published bytes, the
/// published signatures verify with the keys we parse, the ones with user verification sign
/// in end to end, and each of the others is refused for exactly the reason the vector gives
/// (no UV flag, a cross-origin frame, an attestation format we do not verify).
final class PublishedVectorTests: XCTestCase {
    let verifier = try! WebAuthnVerifier(relyingPartyID: "example.org", origin: "https://example.org")
    let handle: [UInt8] = [1]

    func register(_ v: PublishedVector) throws -> PasskeyCredential {
        try verifier.verifyRegistration(
            clientDataJSON: v.registrationClientDataJSON, attestationObject: v.attestationObject,
            expectedChallenge: v.registrationChallenge, userHandle: handle)
    }

    /// The credential as parsed from the attestation object, for vectors the verifier refuses to
    /// register (so that their authentication half can still be checked).
    func parsedCredential(_ v: PublishedVector) throws -> PasskeyCredential {
        let attested = try XCTUnwrap(AttestationObject(v.attestationObject).authenticatorData.attestedCredential)
        return PasskeyCredential(credentialID: attested.credentialID, publicKey: attested.publicKeyCBOR, signCount: 0, userHandle: handle)
    }

    func authenticate(_ v: PublishedVector, _ credential: PasskeyCredential) throws -> PasskeyCredential {
        try verifier.verifyAuthentication(
            credentialID: v.credentialID, clientDataJSON: v.authenticationClientDataJSON, authenticatorData: v.authenticatorData,
            signature: v.signature, userHandle: nil, expectedChallenge: v.authenticationChallenge, credential: credential)
    }

    func assertRefused<T>(_ expected: SignInError, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> T) {
        XCTAssertThrowsError(try body(), file: file, line: line) { XCTAssertEqual($0 as? SignInError, expected, file: file, line: line) }
    }

    func testEveryVectorParsesToItsPublishedCredentialAndItsSignatureVerifies() throws {
        for v in PublishedVectors.all {
            let object = try AttestationObject(v.attestationObject)
            let attested = try XCTUnwrap(object.authenticatorData.attestedCredential, v.name)
            XCTAssertEqual(attested.credentialID, v.credentialID, v.name)
            XCTAssertEqual(object.authenticatorData.rpIDHash, Array(SHA256.hash(data: Array("example.org".utf8))), v.name)
            let key = try COSEKey(cbor: attested.publicKeyCBOR)
            // The COSE key is the public half of the published private key.
            switch key.algorithm {
            case .es256:
                let expected = try P256.Signing.PrivateKey(rawRepresentation: v.credentialPrivateKey).publicKey.x963Representation
                guard case .map(let map) = attested.publicKey, case .bytes(let x)? = map[.negative(1)], case .bytes(let y)? = map[.negative(2)]
                else { return XCTFail(v.name) }
                XCTAssertEqual([0x04] + x + y, Array(expected), v.name)
            case .ed25519:
                let expected = try Curve25519.Signing.PrivateKey(rawRepresentation: v.credentialPrivateKey).publicKey.rawRepresentation
                guard case .map(let map) = attested.publicKey, case .bytes(let x)? = map[.negative(1)] else { return XCTFail(v.name) }
                XCTAssertEqual(x, Array(expected), v.name)
            }
            let signed = v.authenticatorData + Array(SHA256.hash(data: v.authenticationClientDataJSON))
            XCTAssertTrue(key.isValidSignature(v.signature, for: signed), v.name)
            XCTAssertFalse(key.isValidSignature(v.signature, for: signed + [0]), v.name)
            let client = try ClientData(json: v.authenticationClientDataJSON)
            XCTAssertEqual(client.challenge, v.authenticationChallenge, v.name)
            XCTAssertEqual(client.origin, "https://example.org", v.name)
        }
    }

    func testLongCredentialIDVectorSignsInEndToEndWithA1023ByteID() throws {
        let v = PublishedVectors.noneES256LongCredentialID
        XCTAssertEqual(v.credentialID.count, AuthenticatorData.maxCredentialIDLength)
        // Its registration has no UV flag, which Strongroom requires; its authentication has it.
        assertRefused(.userNotVerified) { try register(v) }
        let updated = try authenticate(v, parsedCredential(v))
        XCTAssertEqual(updated.signCount, 0)
        XCTAssertEqual(updated.credentialID, v.credentialID)
    }

    func testPackedES256VectorIsNotRegisteredButItsCredentialSignsIn() throws {
        let v = PublishedVectors.packedES256
        assertRefused(.unsupportedAttestationFormat) { try register(v) }
        XCTAssertNoThrow(try authenticate(v, parsedCredential(v)))
        // The same published assertion for another challenge, origin or RP is refused.
        let elsewhere = try WebAuthnVerifier(relyingPartyID: "example.com", origin: "https://example.org")
        assertRefused(.rpIDMismatch) {
            try elsewhere.verifyAuthentication(
                credentialID: v.credentialID, clientDataJSON: v.authenticationClientDataJSON, authenticatorData: v.authenticatorData,
                signature: v.signature, userHandle: nil, expectedChallenge: v.authenticationChallenge, credential: parsedCredential(v))
        }
        assertRefused(.challengeMismatch) {
            try verifier.verifyAuthentication(
                credentialID: v.credentialID, clientDataJSON: v.authenticationClientDataJSON, authenticatorData: v.authenticatorData,
                signature: v.signature, userHandle: nil, expectedChallenge: v.registrationChallenge, credential: parsedCredential(v))
        }
    }

    func testNoneES256VectorWithoutUserVerificationIsRefusedForThatAlone() throws {
        let v = PublishedVectors.noneES256
        assertRefused(.userNotVerified) { try register(v) }
        assertRefused(.userNotVerified) { try authenticate(v, parsedCredential(v)) }
    }

    func testEd25519VectorWithoutUserVerificationIsRefusedForThatAlone() throws {
        let v = PublishedVectors.packedEd25519
        XCTAssertEqual(try COSEKey(cbor: parsedCredential(v).publicKey).algorithm, .ed25519)
        assertRefused(.userNotVerified) { try authenticate(v, parsedCredential(v)) }
    }

    func testCrossOriginVectorsAreRefused() throws {
        for v in [PublishedVectors.noneES256CrossOrigin, PublishedVectors.noneES256TopOrigin] {
            assertRefused(.crossOriginNotAllowed) { try register(v) }
            assertRefused(.crossOriginNotAllowed) { try authenticate(v, parsedCredential(v)) }
        }
    }
}
