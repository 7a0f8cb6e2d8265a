import XCTest
@testable import SignIn

/// Base32 matches RFC 4648's vectors, round-trips, and refuses every other spelling; the
/// otpauth URI carries the secret and a safely percent-encoded account name.
final class Base32Tests: XCTestCase {
    static let rfc4648: [(String, String)] = [
        ("", ""), ("f", "MY"), ("fo", "MZXQ"), ("foo", "MZXW6"), ("foob", "MZXW6YQ"), ("fooba", "MZXW6YTB"), ("foobar", "MZXW6YTBOI"),
    ]

    func testRFC4648VectorsEncodeWithoutPaddingAndDecode() throws {
        for (plain, encoded) in Self.rfc4648 {
            XCTAssertEqual(Base32.encode(Array(plain.utf8)), encoded)
            XCTAssertEqual(try Base32.decode(encoded), Array(plain.utf8))
            XCTAssertEqual(try Base32.decode(encoded.lowercased()), Array(plain.utf8), "lower case is accepted")
        }
        XCTAssertEqual(Base32.encode(Array("12345678901234567890".utf8)), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ")
    }

    func testEveryByteValueRoundTrips() throws {
        for length in 0...41 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            XCTAssertEqual(try Base32.decode(Base32.encode(bytes)), bytes)
        }
        let all = (0...255).map { UInt8($0) }
        XCTAssertEqual(try Base32.decode(Base32.encode(all)), all)
    }

    func testOtherSpellingsAreRefused() {
        for text in ["MY======", "MZXQ====", "MY=", "M", "MZX", "MZXW6Y", "MZ", "MZXR", "MZXW6YTBOJ", "MZ XW6", " MY",
                     "MY\n", "MZXW1", "MZXW8", "MZXW@", "MÝ", "MZXW6\u{0}"] {
            XCTAssertThrowsError(try Base32.decode(text), "\(text.debugDescription) was accepted") { error in
                guard case SignInError.malformed = error else { return XCTFail("\(error)") }
            }
        }
    }

    func testOTPAuthURIHasTheSecretIssuerAndParameters() throws {
        let secret = try TOTPTests.rfcSecret()
        XCTAssertEqual(
            try OTPAuthURI.make(accountName: "j.smith", secret: secret),
            "otpauth://totp/Strongroom:j.smith?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Strongroom&algorithm=SHA1&digits=6&period=30")
    }

    func testAccountNamesArePercentEncodedSoTheyCannotChangeTheURI() throws {
        let secret = try TOTPTests.rfcSecret()
        let uri = try OTPAuthURI.make(accountName: "Jo Bloggs:x&secret=AAAA?y#z/é~_-.", secret: secret)
        XCTAssertTrue(uri.hasPrefix("otpauth://totp/Strongroom:Jo%20Bloggs%3Ax%26secret%3DAAAA%3Fy%23z%2F%C3%A9~_-.?secret=GEZD"), uri)
        XCTAssertEqual(uri.components(separatedBy: "secret=").count, 2, "the name cannot add a second secret parameter")
        let control = try OTPAuthURI.make(accountName: "a\nb%", secret: secret)
        XCTAssertTrue(control.hasPrefix("otpauth://totp/Strongroom:a%0Ab%25?"), control)
    }

    func testEmptyAndOverlongAccountNamesAreRefused() throws {
        let secret = try TOTPTests.rfcSecret()
        XCTAssertThrowsError(try OTPAuthURI.make(accountName: "", secret: secret)) { XCTAssertEqual($0 as? SignInError, .invalidAccountName) }
        XCTAssertThrowsError(try OTPAuthURI.make(accountName: String(repeating: "é", count: 129), secret: secret)) {
            XCTAssertEqual($0 as? SignInError, .invalidAccountName)
        }
        XCTAssertNoThrow(try OTPAuthURI.make(accountName: String(repeating: "é", count: 128), secret: secret))
    }
}
