import Foundation
import KeyManagement
import XCTest
@testable import Storage

/// SigV4 against AWS's signing test suite and the S3 documentation's worked examples
/// (Vectors/sigv4/README.md says where each came from).
final class SigV4Tests: XCTestCase {
    var vectors: URL { Bundle.module.url(forResource: "Vectors/sigv4", withExtension: nil)! }

    struct Context: Decodable {
        struct Credentials: Decodable {
            let access_key_id: String
            let secret_access_key: String
        }
        let credentials: Credentials
        let region: String
        let service: String
        let sign_body: Bool
        let timestamp: String
    }

    /// A suite `request.txt`: request line, `Name:value` headers, blank line, body. The path and
    /// query come raw (UTF-8, spaces); query items are percent-decoded here and encoded by the signer.
    func parseRequest(_ text: String) -> SigV4.Request {
        let (head, body) = text.range(of: "\n\n").map { (String(text[..<$0.lowerBound]), String(text[$0.upperBound...])) } ?? (text, "")
        var lines = head.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var requestLine = lines.removeFirst()
        requestLine = String(requestLine.dropLast(" HTTP/1.1".count))
        let space = requestLine.firstIndex(of: " ")!
        let method = String(requestLine[..<space])
        let target = String(requestLine[requestLine.index(after: space)...])
        let (path, queryText) = target.firstIndex(of: "?").map { (String(target[..<$0]), String(target[target.index(after: $0)...])) } ?? (target, "")
        let query: [(name: String, value: String)] = queryText.isEmpty ? [] : queryText.split(separator: "&").map { item in
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map { String($0).removingPercentEncoding! }
            return (parts[0], parts.count > 1 ? parts[1] : "")
        }
        let headers: [(name: String, value: String)] = lines.filter { !$0.isEmpty }.map { line in
            let colon = line.firstIndex(of: ":")!
            return (String(line[..<colon]), String(line[line.index(after: colon)...]))
        }
        let payloadHash = Hex.encode(SHA256Hasher.hash(Array(body.utf8)))
        return SigV4.Request(method: method, path: path, query: query, headers: headers, payloadHash: payloadHash)
    }

    func date(_ iso: String) -> Date { ISO8601DateFormatter().date(from: iso)! }

    func testSigningSuiteCanonicalRequestsStringsToSignAndSignatures() throws {
        let suite = vectors.appendingPathComponent("suite")
        let cases = try FileManager.default.contentsOfDirectory(atPath: suite.path).sorted()
        XCTAssertGreaterThanOrEqual(cases.count, 25)
        for name in cases {
            let dir = suite.appendingPathComponent(name)
            func file(_ f: String) throws -> String { try String(contentsOf: dir.appendingPathComponent(f), encoding: .utf8) }
            let context = try JSONDecoder().decode(Context.self, from: Data(try file("context.json").utf8))
            let credentials = try S3Credentials(accessKeyID: context.credentials.access_key_id,
                                                secretAccessKey: context.credentials.secret_access_key)
            let signed = SigV4.sign(parseRequest(try file("request.txt")), credentials: credentials, region: context.region,
                                    service: context.service, date: date(context.timestamp), contentHashHeader: context.sign_body)
            XCTAssertEqual(signed.canonicalRequest, try file("header-canonical-request.txt"), name)
            XCTAssertEqual(signed.stringToSign, try file("header-string-to-sign.txt"), name)
            XCTAssertEqual(signed.signature, try file("header-signature.txt"), name)
        }
    }

    func testS3DocumentationExamplesSignAsPublished() throws {
        struct Examples: Decodable {
            struct Example: Decodable {
                let name, method, path: String
                let query, headers: [[String]]
                let payload: String
                let payload_hash: String?
                let canonical_request_hash: String?
                let signed_headers, signature: String
            }
            let credentials: Context.Credentials
            let region, service, timestamp, host: String
            let examples: [Example]
        }
        let data = try Data(contentsOf: vectors.appendingPathComponent("s3-examples.json"))
        let doc = try JSONDecoder().decode(Examples.self, from: data)
        let credentials = try S3Credentials(accessKeyID: doc.credentials.access_key_id, secretAccessKey: doc.credentials.secret_access_key)
        XCTAssertEqual(doc.examples.count, 4)
        for e in doc.examples {
            let hash = Hex.encode(SHA256Hasher.hash(Array(e.payload.utf8)))
            if let expected = e.payload_hash { XCTAssertEqual(hash, expected, e.name) }
            let request = SigV4.Request(method: e.method, path: e.path, query: e.query.map { ($0[0], $0[1]) },
                                        headers: [("Host", doc.host)] + e.headers.map { ($0[0], $0[1]) }, payloadHash: hash)
            let signed = SigV4.sign(request, credentials: credentials, region: doc.region, service: doc.service, date: date(doc.timestamp))
            XCTAssertEqual(signed.signature, e.signature, e.name)
            XCTAssertTrue(signed.authorization.contains("SignedHeaders=\(e.signed_headers),"), e.name)
            XCTAssertTrue(signed.authorization.hasPrefix("AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request"))
            if let expected = e.canonical_request_hash {
                XCTAssertEqual(Hex.encode(SHA256Hasher.hash(Array(signed.canonicalRequest.utf8))), expected, e.name)
            }
        }
    }

    func testPathIsEncodedOnceAndNeverNormalised() {
        XCTAssertEqual(SigV4.canonicalURI("/bucket/blobs/a b/../c//d"), "/bucket/blobs/a%20b/../c//d")
        XCTAssertEqual(SigV4.canonicalURI("/bucket/test$file.text"), "/bucket/test%24file.text")
        XCTAssertEqual(SigV4.canonicalURI(""), "/")
        XCTAssertEqual(SigV4.uriEncode("a/b+c=d", encodeSlash: true), "a%2Fb%2Bc%3Dd")
    }

    func testUnsignedPayloadIsSignedAsTheLiteralMarker() throws {
        let credentials = try S3Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "secret")
        let signed = SigV4.sign(SigV4.Request(method: "PUT", path: "/b/k", headers: [("Host", "h")], payloadHash: SigV4.unsignedPayload),
                                credentials: credentials, region: "us-east-1", date: Date(timeIntervalSince1970: 0))
        XCTAssertTrue(signed.canonicalRequest.hasSuffix("\nUNSIGNED-PAYLOAD"))
        XCTAssertTrue(signed.headers.contains { $0.name == "x-amz-content-sha256" && $0.value == "UNSIGNED-PAYLOAD" })
    }

    func testHMACMatchesRFC4231TestCase2() {
        // RFC 4231, test case 2: key "Jefe", data "what do ya want for nothing?".
        XCTAssertEqual(Hex.encode(HMACSHA256.mac(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8))),
                       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
        // Test case 6: a key longer than the block is hashed first.
        XCTAssertEqual(Hex.encode(HMACSHA256.mac(key: [UInt8](repeating: 0xaa, count: 131),
                                                 message: Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8))),
                       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
    }

    func testCredentialsNeverPrintTheSecret() throws {
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
        let c = try S3Credentials(accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: secret)
        for text in [String(describing: c), String(reflecting: c), "\(c)", String(describing: Mirror(reflecting: c).children.map { $0.value })] {
            XCTAssertFalse(text.contains(secret), text)
            XCTAssertFalse(text.contains("wJalr"), text)
        }
    }

    func testCredentialsFileProfileIsRead() throws {
        let text = "[other]\naws_access_key_id = NO\naws_secret_access_key = no\n\n[default]\naws_access_key_id = AKID\naws_secret_access_key = s3cr3t\n"
        XCTAssertEqual(try S3Credentials.parse(text, profile: "default").accessKeyID, "AKID")
        XCTAssertEqual(try S3Credentials.parse(text, profile: "other").accessKeyID, "NO")
        XCTAssertThrowsError(try S3Credentials.parse(text, profile: "missing"))
    }

    func testLocationIsParsedFromAnS3URL() throws {
        let l = try S3Location(parsing: "s3://evidence?endpoint=http://127.0.0.1:9000&region=eu-west-2&lock=compliance&lock-days=30")
        XCTAssertEqual(l.bucket, "evidence")
        XCTAssertEqual(l.endpoint.absoluteString, "http://127.0.0.1:9000")
        XCTAssertEqual(l.region, "eu-west-2")
        XCTAssertEqual(l.prefix, "blobs/")
        XCTAssertEqual(l.retention, S3Retention(mode: .compliance, days: 30))
        XCTAssertNil(try S3Location(parsing: "s3://evidence?endpoint=https://s3.example").retention)
        XCTAssertEqual(try S3Location(parsing: "s3://evidence?endpoint=https://s3.example:443/").endpoint.absoluteString, "https://s3.example",
                       "a default port is dropped, so the signed Host is the one sent")
        XCTAssertEqual(try S3Location(parsing: "s3://evidence?endpoint=http://h:80").endpoint.absoluteString, "http://h")
        for bad in ["s3://evidence", "http://evidence?endpoint=http://h", "s3://Evidence?endpoint=http://h",
                    "s3://evidence?endpoint=http://user:pw@h", "s3://evidence?endpoint=http://h&lock=forever&lock-days=1",
                    "s3://evidence?endpoint=http://h&lock=governance", "s3://evidence?endpoint=http://h&colour=red",
                    "s3://evidence?endpoint=http://h/s3", "s3://evidence?endpoint=ftp://h",
                    // Credentials never in the address; prefixes a client could normalise are refused.
                    "s3://KEY:SECRET@evidence?endpoint=http://h", "s3://evidence?endpoint=http://h&prefix=./",
                    "s3://evidence?endpoint=http://h&prefix=a//", "s3://evidence?endpoint=http://h&prefix=blobs",
                    "s3://evidence?endpoint=http://h&prefix=B%C3%A9/", "s3://evidence?endpoint=http://h&prefix=a/../"] {
            XCTAssertThrowsError(try S3Location(parsing: bad), bad)
        }
    }
}
