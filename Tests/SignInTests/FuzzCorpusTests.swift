import Foundation
import XCTest
@testable import SignIn

/// Every input in the fuzzing corpus (the seeds, and any input that once crashed a parser) goes
/// through every parser again: each returns or throws a `SignInError`, never anything else.
final class FuzzCorpusTests: XCTestCase {
    func testEveryCorpusInputIsParsedOrRefusedWithASignInError() throws {
        let folder = try XCTUnwrap(Bundle.module.url(forResource: "FuzzCorpus", withExtension: nil))
        let files = try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
        XCTAssertGreaterThanOrEqual(files.count, 10, "the corpus has its seeds")
        let verifier = try WebAuthnVerifier(relyingPartyID: "example.org", origin: "https://example.org")
        let v = PublishedVectors.packedES256
        let credential = PasskeyCredential(
            credentialID: v.credentialID,
            publicKey: try XCTUnwrap(AttestationObject(v.attestationObject).authenticatorData.attestedCredential).publicKeyCBOR,
            signCount: 0, userHandle: [1])
        var parsed = 0
        for file in files {
            let input = Array(try Data(contentsOf: file))
            let attempts: [() throws -> Void] = [
                { _ = try CBOR.decode(input) }, { _ = try COSEKey(cbor: input) }, { _ = try AuthenticatorData(input) },
                { _ = try AttestationObject(input) }, { _ = try ClientData(json: input) },
                {
                    _ = try verifier.verifyRegistration(
                        clientDataJSON: v.registrationClientDataJSON, attestationObject: input,
                        expectedChallenge: v.registrationChallenge, userHandle: [1])
                },
                {
                    _ = try verifier.verifyAuthentication(
                        credentialID: v.credentialID, clientDataJSON: v.authenticationClientDataJSON, authenticatorData: input,
                        signature: v.signature, userHandle: nil, expectedChallenge: v.authenticationChallenge, credential: credential)
                },
            ]
            for attempt in attempts {
                do { try attempt(); parsed += 1 } catch is SignInError {} catch {
                    XCTFail("\(file.lastPathComponent): \(error) is not a SignInError")
                }
            }
        }
        XCTAssertGreaterThan(parsed, 0, "some seeds are valid")
    }
}
