import Foundation
import KeyManagement
import XCTest
@testable import SignIn

/// TOTP codes match RFC 6238's published SHA-1 vectors, are accepted for one step either side
/// of now and only once, and anything that is not exactly six ASCII digits is refused.
final class TOTPTests: XCTestCase {
    /// RFC 6238 Appendix B's SHA-1 secret: the ASCII bytes of "12345678901234567890".
    static func rfcSecret() throws -> TOTPSecret {
        try secret(Array("12345678901234567890".utf8))
    }

    static func secret(_ bytes: [UInt8]) throws -> TOTPSecret {
        let secret = try SecretBytes(count: bytes.count)
        secret.withUnsafeMutableBytes { $0.copyBytes(from: bytes) }
        return try TOTPSecret(secret)
    }

    static let rfcVectors: [(time: TimeInterval, code: String)] = [
        (59, "94287082"), (1_111_111_109, "07081804"), (1_111_111_111, "14050471"),
        (1_234_567_890, "89005924"), (2_000_000_000, "69279037"), (20_000_000_000, "65353130"),
    ]

    func date(_ seconds: TimeInterval) -> Date { Date(timeIntervalSince1970: seconds) }

    func code(_ totp: TOTP, at seconds: TimeInterval) -> String {
        String(decoding: totp.code(step: UInt64(seconds) / 30, digits: 6), as: UTF8.self)
    }

    func testRFC6238AppendixBSHA1VectorsAtEightDigits() throws {
        let totp = TOTP(secret: try Self.rfcSecret())
        for (time, expected) in Self.rfcVectors {
            let step = try XCTUnwrap(TOTP.step(at: date(time)))
            XCTAssertEqual(String(decoding: totp.code(step: step, digits: 8), as: UTF8.self), expected, "T=\(time)")
        }
    }

    func testSixDigitCodesAreTheRFCVectorsTruncatedAndAreAcceptedAtTheirTime() throws {
        let totp = TOTP(secret: try Self.rfcSecret())
        for (time, eightDigits) in Self.rfcVectors {
            let sixDigits = String(eightDigits.suffix(6))
            XCTAssertEqual(code(totp, at: time), sixDigits, "T=\(time)")
            XCTAssertEqual(totp.verify(code: sixDigits, at: date(time), lastUsedStep: nil), UInt64(time) / 30, "T=\(time)")
        }
        XCTAssertEqual(totp.verify(code: "287082", at: date(59), lastUsedStep: nil), 1)
    }

    func testOneStepOfDriftEitherSideIsAcceptedAndTwoAreNot() throws {
        let totp = TOTP(secret: try Self.rfcSecret())
        let now: TimeInterval = 1_234_567_890, step = UInt64(now) / 30
        XCTAssertEqual(totp.verify(code: code(totp, at: now - 30), at: date(now), lastUsedStep: nil), step - 1)
        XCTAssertEqual(totp.verify(code: code(totp, at: now + 30), at: date(now), lastUsedStep: nil), step + 1)
        XCTAssertNil(totp.verify(code: code(totp, at: now - 60), at: date(now), lastUsedStep: nil))
        XCTAssertNil(totp.verify(code: code(totp, at: now + 60), at: date(now), lastUsedStep: nil))
        // At step 0 there is no previous step to fall back to, and nothing wraps around.
        XCTAssertEqual(totp.verify(code: code(totp, at: 0), at: date(10), lastUsedStep: nil), 0)
        XCTAssertEqual(totp.verify(code: code(totp, at: 30), at: date(10), lastUsedStep: nil), 1)
    }

    func testACodeIsAcceptedOnceAndAnOlderOneNotAfterANewerOne() throws {
        let totp = TOTP(secret: try Self.rfcSecret())
        let now: TimeInterval = 1_234_567_890
        let current = code(totp, at: now)
        let used = try XCTUnwrap(totp.verify(code: current, at: date(now), lastUsedStep: nil))
        XCTAssertNil(totp.verify(code: current, at: date(now), lastUsedStep: used), "replay of the same code")
        XCTAssertNil(totp.verify(code: current, at: date(now + 20), lastUsedStep: used), "replay a little later")
        XCTAssertNil(totp.verify(code: code(totp, at: now - 30), at: date(now), lastUsedStep: used), "older step after a newer one")
        XCTAssertEqual(totp.verify(code: code(totp, at: now + 30), at: date(now + 30), lastUsedStep: used), used + 1)
    }

    func testCodesThatAreNotExactlySixASCIIDigitsAreRefused() throws {
        let totp = TOTP(secret: try Self.rfcSecret())
        let now: TimeInterval = 1_234_567_890
        let good = code(totp, at: now)
        XCTAssertNotNil(totp.verify(code: good, at: date(now), lastUsedStep: nil))
        let arabicIndic = String(good.unicodeScalars.map { Character(Unicode.Scalar(0x0660 + $0.value - 48)!) })
        let fullwidth = String(good.unicodeScalars.map { Character(Unicode.Scalar(0xFF10 + $0.value - 48)!) })
        let malformed: [String] = [
            "", "1", String(good.prefix(5)), good + "0", "0" + good, " " + good, good + " ", good + "\n", "\t" + good,
            String(good.prefix(3)) + " " + String(good.suffix(3)), arabicIndic, fullwidth,
            String(good.prefix(5)) + "\u{0663}", "+" + String(good.prefix(5)), "-" + String(good.prefix(5)),
            String(good.prefix(5)) + "\u{0}", good + "\u{301}", "abcdef", "12345a", "１２３４５６",
            String(repeating: "9", count: 10_000),
        ]
        for text in malformed {
            XCTAssertNil(totp.verify(code: text, at: date(now), lastUsedStep: nil), "\(text.debugDescription) was accepted")
        }
    }

    func testMomentsBeforeTheEpochOrNotANumberAreRefused() throws {
        let totp = TOTP(secret: try Self.rfcSecret())
        XCTAssertNil(TOTP.step(at: date(-1)))
        XCTAssertNil(TOTP.step(at: date(.nan)))
        XCTAssertNil(TOTP.step(at: date(.infinity)))
        XCTAssertNil(totp.verify(code: "000000", at: date(-31), lastUsedStep: nil))
        XCTAssertEqual(TOTP.step(at: date(29.999)), 0)
        XCTAssertEqual(TOTP.step(at: date(30)), 1)
    }

    func testSecretsAreTwentyFreshRandomBytesAndOtherLengthsAreRefused() throws {
        let a = try TOTPSecret.generate(), b = try TOTPSecret.generate()
        XCTAssertEqual(a.bytes.count, 20)
        XCTAssertFalse(a.bytes.isEqual(to: b.bytes))
        XCTAssertThrowsError(try Self.secret([UInt8](repeating: 1, count: 16)))
        XCTAssertThrowsError(try Self.secret([UInt8](repeating: 1, count: 32)))
        XCTAssertEqual(String(describing: a), "SignIn.TOTPSecret", "a secret prints nothing of itself")
        var dumped = ""
        dump(a, to: &dumped)
        XCTAssertFalse(dumped.contains(a.base32()), dumped)
    }
}
