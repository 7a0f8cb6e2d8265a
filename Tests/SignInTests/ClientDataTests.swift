import XCTest
@testable import SignIn

/// clientDataJSON yields its type, challenge, origin and cross-origin flags, ignores members it
/// does not know, and refuses JSON without the required string members, a challenge that is not
/// strict base64url, and anything that is not a JSON object.
final class ClientDataTests: XCTestCase {
    func parse(_ json: String) throws -> ClientData { try ClientData(json: Array(json.utf8)) }

    func testFieldsAreReadAndUnknownMembersIgnored() throws {
        let data = try parse(#"{"type":"webauthn.get","challenge":"AAEC_-8","origin":"https://a.example","crossOrigin":false,"extraData":"x","other":{"a":[1,2]}}"#)
        XCTAssertEqual(data.type, "webauthn.get")
        XCTAssertEqual(data.challenge, [0x00, 0x01, 0x02, 0xff, 0xef])
        XCTAssertEqual(data.origin, "https://a.example")
        XCTAssertFalse(data.crossOrigin)
        XCTAssertNil(data.topOrigin)
        let framed = try parse(#"{"type":"t","challenge":"","origin":"o","crossOrigin":true,"topOrigin":"https://b.example"}"#)
        XCTAssertTrue(framed.crossOrigin)
        XCTAssertEqual(framed.topOrigin, "https://b.example")
        XCTAssertFalse(try parse(#"{"challenge":"","origin":"o","type":"t"}"#).crossOrigin, "members in any order; crossOrigin optional")
    }

    func testMissingOrMistypedMembersAreRefused() {
        for json in [#"{"challenge":"AA","origin":"o"}"#, #"{"type":"t","origin":"o"}"#, #"{"type":"t","challenge":"AA"}"#,
                     #"{"type":1,"challenge":"AA","origin":"o"}"#, #"{"type":"t","challenge":["AA"],"origin":"o"}"#,
                     #"{"type":"t","challenge":"AA","origin":null}"#, #"{"type":"t","challenge":"AA","origin":"o","crossOrigin":"false"}"#,
                     #"{"type":"t","challenge":"AA","origin":"o","crossOrigin":0}"#, #"{"type":"t","challenge":"AA","origin":"o","topOrigin":1}"#,
                     "[]", "null", "\"x\"", "", "{", #"{"type":"t","challenge":"AA","origin":"o"} x"#, #"{"type":"t","challenge":"AA","origin":"o",}"#] {
            XCTAssertThrowsError(try parse(json), json) { error in
                guard case SignInError.malformed = error else { return XCTFail("\(json): \(error)") }
            }
        }
        XCTAssertThrowsError(try ClientData(json: [0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]), "not UTF-8")
    }

    func testChallengesThatAreNotStrictBase64URLAreRefused() {
        for challenge in ["AA==", "AA=", "A", "AB", "a+b/", "AA AA", " AA", "AAB", "AAF", "ÀA"] {
            XCTAssertThrowsError(try parse(#"{"type":"t","challenge":"\#(challenge)","origin":"o"}"#), challenge) { error in
                guard case SignInError.malformed = error else { return XCTFail("\(challenge): \(error)") }
            }
        }
    }

    func testBase64URLRoundTripsEveryLength() throws {
        for length in 0...40 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 53 &+ 200) }
            XCTAssertEqual(try Base64URL.decode(Base64URL.encode(bytes)), bytes)
        }
        XCTAssertEqual(Base64URL.encode([0xfb, 0xff, 0xbf]), "-_-_")
    }

    func testJSONThatLenientParsersAcceptIsRefused() {
        let good = #""type":"t","challenge":"AA","origin":"o""#
        XCTAssertNoThrow(try parse("{" + good + "}"))
        XCTAssertNoThrow(try parse(" \r\n\t{" + good + #","n":-0.5e+10,"a":[1,{"b":null},true,"\ud83d\ude00\u00e9\n"]} "#))
        let refused: [String] = [
            "{" + good + #","origin":"https://evil.example"}"#,           // duplicate member: which origin?
            "{" + good + #","\u006frigin":"https://evil.example"}"#,     // the same name, escaped
            "{" + good + ",}", "{" + good + ",,\"x\":1}", "\u{feff}{" + good + "}",
            "{" + good + "/* c */}", "{" + good + ",'x':1}", "{" + good + ",x:1}",
            "{" + good + #","x":01}"#, "{" + good + #","x":1.}"#, "{" + good + #","x":.5}"#, "{" + good + #","x":+1}"#,
            "{" + good + #","x":-}"#, "{" + good + #","x":1e}"#, "{" + good + #","x":NaN}"#, "{" + good + #","x":tru}"#,
            "{" + good + #","x":"\ud800"}"#, "{" + good + #","x":"\udc00\ud800"}"#, "{" + good + #","x":"\ud800\u0041"}"#,
            "{" + good + #","x":"\x41"}"#, "{" + good + #","x":"\u12"}"#, "{" + good + ",\"x\":\"a\u{1}b\"}",
            "{" + good + ",\"x\":\"a\nb\"}", "{" + good + #","x":[1,]}"#, "{" + good + #","x":{"a":1,"a":2}}"#,
            "{" + good + #","x":"# + String(repeating: "[", count: 16) + String(repeating: "]", count: 16) + "}",
            "{" + good + "}}", "{" + good + "} {}", "{" + good, "{" + good + #","x""#,
        ]
        for json in refused {
            XCTAssertThrowsError(try parse(json), json.debugDescription) { error in
                guard case SignInError.malformed = error else { return XCTFail("\(json): \(error)") }
            }
        }
        XCTAssertNoThrow(try parse("{" + good + #","x":"# + String(repeating: "[", count: 15) + String(repeating: "]", count: 15) + "}"),
                         "15 arrays inside the top-level object are 16 levels")
        XCTAssertThrowsError(try parse("{" + good + #","x":"# + String(repeating: "[", count: 100_000) + "}"), "deep nesting")
    }
}
