import Crypto
import XCTest
@testable import SignIn
import TestSupport

/// Authenticator data is read field by field, big-endian, and refused when any part is missing,
/// too long, inconsistent with its flags, or followed by anything.
final class AuthenticatorDataTests: XCTestCase {
    let authenticator = TestAuthenticator.es256()

    func assertMalformed(_ bytes: [UInt8], _ reason: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try AuthenticatorData(bytes), file: file, line: line) { error in
            guard case SignInError.malformed(let message) = error else { return XCTFail("\(error)", file: file, line: line) }
            XCTAssertTrue(message.contains(reason), "\"\(message)\" does not say \"\(reason)\"", file: file, line: line)
        }
    }

    func testFieldsAreRead() throws {
        let data = try AuthenticatorData(authenticator.authenticatorData(flags: 0x1d, signCount: 0x0102_0304, attested: true))
        XCTAssertEqual(data.rpIDHash, Array(SHA256.hash(data: Array(TestAuthenticator.rpID.utf8))))
        XCTAssertEqual(data.flags, [.userPresent, .userVerified, .backupEligible, .backedUp, .attestedCredentialData])
        XCTAssertEqual(data.signCount, 0x0102_0304)
        XCTAssertEqual(data.attestedCredential?.aaguid, authenticator.aaguid)
        XCTAssertEqual(data.attestedCredential?.credentialID, authenticator.credentialID)
        XCTAssertEqual(data.attestedCredential?.publicKeyCBOR, authenticator.coseKey.encoded)
        XCTAssertNil(data.extensions)
    }

    func testCredentialIDLengthIsOneTo1023Bytes() throws {
        var a = authenticator
        a.credentialID = [UInt8](repeating: 7, count: 1023)
        XCTAssertEqual(try AuthenticatorData(a.authenticatorData(attested: true)).attestedCredential?.credentialID.count, 1023)
        a.credentialID = [UInt8](repeating: 7, count: 1024)
        assertMalformed(a.authenticatorData(attested: true), "credential id length")
        a.credentialID = []
        assertMalformed(a.authenticatorData(attested: true), "credential id length")
        a.credentialID = [UInt8](repeating: 7, count: 0xffff)
        assertMalformed(a.authenticatorData(attested: true), "credential id length")
    }

    func testTruncatedPartsAreRefused() {
        let full = authenticator.authenticatorData(attested: true)
        assertMalformed([], "shorter than 37")
        assertMalformed(Array(full.prefix(36)), "shorter than 37")
        assertMalformed(Array(full.prefix(37 + 17)), "attested credential data is truncated")
        assertMalformed(Array(full.prefix(37 + 18 + 15)), "credential id is truncated")
        assertMalformed(Array(full.prefix(full.count - 1)), "CBOR")
        var noKey = Array(full.prefix(37 + 18 + 16))
        noKey[32] |= 0x40
        assertMalformed(noKey, "CBOR")
    }

    func testBackedUpWithoutBackupEligibleIsRefused() {
        assertMalformed(authenticator.authenticatorData(flags: 0x15), "backed up but not backup eligible")
    }

    func testTheCredentialKeyIsOneBoundedCBORItem() {
        let deep = TestCBOR.raw([UInt8](repeating: 0x81, count: 40) + [0x00])
        assertMalformed(authenticator.authenticatorData(attested: true, coseKey: deep), "nested deeper")
        let indefinite = TestCBOR.raw([0xbf, 0x01, 0x02, 0xff])
        assertMalformed(authenticator.authenticatorData(attested: true, coseKey: indefinite), "indefinite")
    }
}
