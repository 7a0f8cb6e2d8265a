import Crypto
import XCTest
@testable import SignIn
import TestSupport

/// COSE keys are accepted only in the exact ES256 and Ed25519 forms, with a point on the curve;
/// every other algorithm, shape or extra parameter is refused.
final class COSEKeyTests: XCTestCase {
    func es256Map(x: [UInt8]? = nil, y: [UInt8]? = nil, extra: [(TestCBOR, TestCBOR)] = []) -> TestCBOR {
        let point = Array(P256.Signing.PrivateKey().publicKey.x963Representation)
        return .map([(.int(1), .int(2)), (.int(3), .int(-7)), (.int(-1), .int(1)),
                     (.int(-2), .bytes(x ?? Array(point[1..<33]))), (.int(-3), .bytes(y ?? Array(point[33..<65])))] + extra)
    }

    func testTheExactES256AndEd25519FormsAreAccepted() throws {
        XCTAssertEqual(try COSEKey(cbor: es256Map().encoded).algorithm, .es256)
        XCTAssertEqual(try COSEKey(cbor: TestAuthenticator.ed25519().coseKey.encoded).algorithm, .ed25519)
    }

    func testAPointOffTheCurveIsRefused() {
        var y = Array(P256.Signing.PrivateKey().publicKey.x963Representation[33..<65])
        y[31] ^= 1
        XCTAssertThrowsError(try COSEKey(cbor: es256Map(y: y).encoded)) {
            XCTAssertEqual($0 as? SignInError, .malformed("COSE EC2 key is not a point on P-256"))
        }
        XCTAssertThrowsError(try COSEKey(cbor: es256Map(x: [UInt8](repeating: 0, count: 32), y: [UInt8](repeating: 0, count: 32)).encoded))
    }

    func testOtherAlgorithmsAreUnsupported() {
        for alg in [Int64(-257), -37, -35, -36, -47, -65535, -9, 1, 0, Int64.min] {
            let key = TestCBOR.map([(.int(1), .int(2)), (.int(3), .int(alg)), (.int(-1), .int(1))])
            XCTAssertThrowsError(try COSEKey(cbor: key.encoded)) { XCTAssertEqual($0 as? SignInError, .unsupportedAlgorithm(alg)) }
        }
        XCTAssertThrowsError(try COSEKey(cbor: TestCBOR.map([(.int(1), .int(2))]).encoded)) {
            XCTAssertEqual($0 as? SignInError, .unsupportedAlgorithm(nil))
        }
    }

    func testMismatchedOrExtraParametersAreRefused() {
        let ed = TestAuthenticator.ed25519()
        guard case .map(let edPairs) = ed.coseKey else { return XCTFail() }
        let point = [UInt8](repeating: 1, count: 32)
        let keys: [TestCBOR] = [
            es256Map(extra: [(.int(-4), .bytes(point))]),                 // a private part
            es256Map(extra: [(.int(2), .bytes([1]))]),                    // a key id
            es256Map(x: Array(point.prefix(31))),                         // short coordinate
            es256Map(x: point + [0]),                                     // long coordinate
            .map([(.int(1), .int(1)), (.int(3), .int(-7)), (.int(-1), .int(1)), (.int(-2), .bytes(point)), (.int(-3), .bytes(point))]),
            .map([(.int(1), .int(2)), (.int(3), .int(-7)), (.int(-1), .int(2)), (.int(-2), .bytes(point)), (.int(-3), .bytes(point))]),
            .map([(.int(1), .int(2)), (.int(3), .int(-7)), (.int(-1), .int(1)), (.int(-2), .text("x")), (.int(-3), .bytes(point))]),
            .map([(.int(1), .int(2)), (.int(3), .int(-7)), (.int(-1), .int(1)), (.int(-2), .bytes(point)), (.int(-4), .bytes(point))]),
            .map([(.int(1), .int(2)), (.int(3), .int(-8)), (.int(-1), .int(6)), (.int(-2), .bytes(point))]),
            .map([(.int(1), .int(1)), (.int(3), .int(-8)), (.int(-1), .int(6)), (.int(-2), .bytes(point + point))]),
            .map(edPairs + [(.int(-3), .bytes(point))]),
            .map([(.int(1), .text("OKP")), (.int(3), .int(-8)), (.int(-1), .int(6)), (.int(-2), .bytes(point))]),
            .map([(.int(1), .int(1)), (.int(3), .text("EdDSA")), (.int(-1), .int(6)), (.int(-2), .bytes(point))]),
            .array([.int(1), .int(2)]),
        ]
        for key in keys {
            XCTAssertThrowsError(try COSEKey(cbor: key.encoded)) { error in
                guard case SignInError.malformed = error else { return XCTFail("\(error)") }
            }
        }
    }

    func testES256SignaturesAreDERAndEd25519SignaturesAreRaw() throws {
        let p256 = P256.Signing.PrivateKey()
        let cose = try COSEKey(cbor: TestAuthenticator(key: .es256(p256), credentialID: [1]).coseKey.encoded)
        let message = Array("message".utf8)
        let signature = try p256.signature(for: message)
        XCTAssertTrue(cose.isValidSignature(Array(signature.derRepresentation), for: message))
        XCTAssertFalse(cose.isValidSignature(Array(signature.rawRepresentation), for: message), "raw r||s is not the WebAuthn form")
        let ed = Curve25519.Signing.PrivateKey()
        let edCose = try COSEKey(cbor: TestAuthenticator(key: .ed25519(ed), credentialID: [1]).coseKey.encoded)
        let edSignature = Array(try ed.signature(for: message))
        XCTAssertTrue(edCose.isValidSignature(edSignature, for: message))
        XCTAssertFalse(edCose.isValidSignature(edSignature, for: message + [0]))
        XCTAssertFalse(edCose.isValidSignature(Array(edSignature.prefix(63)), for: message))
    }
}
