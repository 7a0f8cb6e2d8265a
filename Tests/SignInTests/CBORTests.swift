import XCTest
@testable import SignIn
import TestSupport

/// The decoder reads RFC 8949 Appendix A's examples of the kinds it supports, and refuses every
/// other kind, every malformed item of Appendix F, and every non-strict encoding, with an error
/// and without crashing.
final class CBORTests: XCTestCase {
    func decode(_ text: String) throws -> CBORValue { try CBOR.decode(hex(text)) }

    func assertRefused(_ text: String, _ reason: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try decode(text), "\(text) was accepted", file: file, line: line) { error in
            guard case SignInError.malformed(let message) = error else {
                return XCTFail("\(text): \(error) is not .malformed", file: file, line: line)
            }
            XCTAssertTrue(message.contains(reason), "\(text): \"\(message)\" does not say \"\(reason)\"", file: file, line: line)
        }
    }

    func testRFC8949AppendixAIntegersDecode() throws {
        let vectors: [(String, CBORValue)] = [
            ("00", .unsigned(0)), ("01", .unsigned(1)), ("0a", .unsigned(10)), ("17", .unsigned(23)),
            ("1818", .unsigned(24)), ("1819", .unsigned(25)), ("1864", .unsigned(100)), ("1903e8", .unsigned(1000)),
            ("1a000f4240", .unsigned(1_000_000)), ("1b000000e8d4a51000", .unsigned(1_000_000_000_000)),
            ("1bffffffffffffffff", .unsigned(UInt64.max)), ("3bffffffffffffffff", .negative(UInt64.max)),
            ("20", .negative(0)), ("29", .negative(9)), ("3863", .negative(99)), ("3903e7", .negative(999)),
        ]
        for (encoded, expected) in vectors { XCTAssertEqual(try decode(encoded), expected, encoded) }
        XCTAssertEqual(try decode("3903e7").int, -1000)
        XCTAssertEqual(try decode("29").int, -10)
        XCTAssertEqual(try decode("1bffffffffffffffff").int, nil, "beyond Int64 has no Int64 value")
        XCTAssertEqual(try decode("3bffffffffffffffff").int, nil, "-2^64 has no Int64 value")
    }

    func testRFC8949AppendixASimpleValuesAndStringsDecode() throws {
        let vectors: [(String, CBORValue)] = [
            ("f4", .bool(false)), ("f5", .bool(true)), ("f6", .null),
            ("40", .bytes([])), ("4401020304", .bytes([1, 2, 3, 4])),
            ("60", .text("")), ("6161", .text("a")), ("6449455446", .text("IETF")), ("62225c", .text("\"\\")),
            ("62c3bc", .text("\u{00fc}")), ("63e6b0b4", .text("\u{6c34}")), ("64f0908591", .text("\u{10151}")),
        ]
        for (encoded, expected) in vectors { XCTAssertEqual(try decode(encoded), expected, encoded) }
    }

    func testRFC8949AppendixAArraysAndMapsDecode() throws {
        let vectors: [(String, CBORValue)] = [
            ("80", .array([])),
            ("83010203", .array([.unsigned(1), .unsigned(2), .unsigned(3)])),
            ("8301820203820405", .array([.unsigned(1), .array([.unsigned(2), .unsigned(3)]), .array([.unsigned(4), .unsigned(5)])])),
            ("98190102030405060708090a0b0c0d0e0f101112131415161718181819", .array((1...25).map { .unsigned($0) })),
            ("a0", .map([:])),
            ("a201020304", .map([.unsigned(1): .unsigned(2), .unsigned(3): .unsigned(4)])),
            ("a26161016162820203", .map([.text("a"): .unsigned(1), .text("b"): .array([.unsigned(2), .unsigned(3)])])),
            ("826161a161626163", .array([.text("a"), .map([.text("b"): .text("c")])])),
            ("a56161614161626142616361436164614461656145", .map([
                .text("a"): .text("A"), .text("b"): .text("B"), .text("c"): .text("C"), .text("d"): .text("D"), .text("e"): .text("E"),
            ])),
        ]
        for (encoded, expected) in vectors { XCTAssertEqual(try decode(encoded), expected, encoded) }
    }

    func testRFC8949AppendixAItemsOfUnsupportedKindsAreRefused() {
        // Bignums and other tags, floats, undefined and other simple values.
        assertRefused("c249010000000000000000", "tags")
        assertRefused("c349010000000000000000", "tags")
        assertRefused("c074323031332d30332d32315432303a30343a30305a", "tags")
        assertRefused("d74401020304", "tags")
        for float in ["f90000", "f98000", "f93c00", "fb3ff199999999999a", "f97bff", "fa47c35000", "f97c00", "fb7ff8000000000000"] {
            assertRefused(float, "floating-point")
        }
        assertRefused("f7", "simple value")
        assertRefused("f0", "simple value")
        assertRefused("f8ff", "simple value")
    }

    func testIndefiniteLengthsAreRefused() {
        for item in ["5f42010243030405ff", "7f657374726561646d696e67ff", "9fff", "9f018202039f0405ffff",
                     "bf61610161629f0203ffff", "826161bf61626163ff"] {
            assertRefused(item, "indefinite")
        }
    }

    func testRFC8949AppendixFMalformedItemsAreRefused() {
        let truncated = ["", "18", "19", "1901", "1a010203", "1b01020304050607", "38", "58", "78", "98", "9a01ff00",
                         "b8", "d8", "f8", "f900", "fa0000", "fb000000", "41", "61", "5affffffff00",
                         "5bffffffffffffffff010203", "7affffffff00", "7b7fffffffffffffff010203", "81", "818181818181818181",
                         "8200", "a1", "a20102", "a100", "a2000000"]
        for item in truncated {
            XCTAssertThrowsError(try decode(item), "\(item) was accepted") { error in
                guard case SignInError.malformed = error else { return XCTFail("\(item): \(error)") }
            }
        }
        for reserved in ["1c", "1d", "1e", "3c", "3d", "3e", "5c", "5d", "5e", "7c", "7d", "7e", "9c", "9d", "9e", "bc", "bd", "be"] {
            assertRefused(reserved, "reserved")
        }
        assertRefused("ff", "break")
        assertRefused("f818", "simple value")
    }

    func testIntegersAndLengthsNotInShortestFormAreRefused() {
        for item in ["1817", "1800", "190017", "1900ff", "1a00000017", "1a0000ffff", "1b00000000ffffffff", "3817",
                     "580100", "5900020102", "780161", "9800", "990000", "b800"] {
            assertRefused(item, "shortest")
        }
        XCTAssertEqual(try decode("190100"), .unsigned(256), "the smallest two-byte value is shortest")
        XCTAssertEqual(try decode("1a00010000"), .unsigned(65536))
        XCTAssertEqual(try decode("1b0000000100000000"), .unsigned(1 << 32))
    }

    func testDuplicateMapKeysAreRefused() {
        assertRefused("a201020103", "duplicate")
        assertRefused("a2616101616102", "duplicate")
        assertRefused("a2820102008201020f", "duplicate")
        XCTAssertNoThrow(try decode("a201022003"), "1 and -1 (0x20) are different keys")
    }

    func testTextKeysDifferingOnlyInUnicodeNormalisationAreDifferentKeys() throws {
        // "é" precomposed and decomposed are equal as Swift strings but not as CBOR keys.
        let composed = TestCBOR.text("\u{e9}"), decomposed = TestCBOR.text("e\u{301}")
        let value = try CBOR.decode(TestCBOR.map([(composed, .uint(1)), (decomposed, .uint(2))]).encoded)
        guard case .map(let map) = value else { return XCTFail("not a map") }
        XCTAssertEqual(map.count, 2)
        XCTAssertEqual(map[.text("\u{e9}")], .unsigned(1))
        XCTAssertEqual(map[.text("e\u{301}")], .unsigned(2))
        XCTAssertNotEqual(CBORValue.text("\u{212a}"), CBORValue.text("K"), "Kelvin sign is not K")
    }

    func testTextThatIsNotUTF8IsRefused() {
        assertRefused("62c328", "UTF-8")
        assertRefused("61ff", "UTF-8")
        assertRefused("63eda080", "UTF-8") // an encoded surrogate
    }

    func testTrailingBytesAfterTheItemAreRefused() {
        assertRefused("0000", "after")
        assertRefused("a0ff", "after")
        XCTAssertEqual(try CBOR.decodeItem(in: hex("a0ff"), at: 0).end, 1, "decodeItem stops after the item")
    }

    func testNestingIsBoundedAtMaxDepth() throws {
        let deepest = [UInt8](repeating: 0x81, count: CBOR.maxDepth) + [0x00]
        XCTAssertNoThrow(try CBOR.decode(deepest))
        let tooDeep = [UInt8](repeating: 0x81, count: CBOR.maxDepth + 1) + [0x00]
        XCTAssertThrowsError(try CBOR.decode(tooDeep)) { XCTAssertEqual($0 as? SignInError, .malformed("CBOR: nested deeper than 16")) }
        let mapsDeepest = Array([[UInt8]](repeating: [0xa1, 0x00], count: CBOR.maxDepth).joined()) + [0x00]
        XCTAssertNoThrow(try CBOR.decode(mapsDeepest))
        XCTAssertThrowsError(try CBOR.decode([0xa1, 0x00] + mapsDeepest))
        // A million nested arrays are refused after 17, without exhausting the stack.
        XCTAssertThrowsError(try CBOR.decode([UInt8](repeating: 0x81, count: 1_000_000)))
    }

    func testHugeLengthsAreRefusedBeforeAllocating() {
        for item in ["5b7fffffffffffffff", "7bffffffffffffffff00", "9bffffffffffffffff", "bbffffffffffffffff",
                     "9a7fffffff00", "ba0001000000", "5a00010000" + String(repeating: "00", count: 100)] {
            assertRefused(item, "beyond the end")
        }
        // A map of n entries needs at least 2n bytes.
        assertRefused("a30102030405", "beyond the end")
    }
}
