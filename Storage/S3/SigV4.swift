import Foundation
import KeyManagement
#if canImport(Glibc)
import Glibc
#endif

/// AWS Signature Version 4 (header form), as S3 and S3-compatible stores check it: pure
/// functions, no I/O. Checked against AWS's published signing test suite and the S3 examples
/// (Tests/StorageTests/Vectors/sigv4/).
///
/// The path is encoded once and never normalised: S3 keys may hold `.`, `..` and `//`, and S3
/// signs the path as sent.
public enum SigV4 {
    /// The hash S3 accepts in place of a payload hash when the body is not hashed before sending
    /// (TLS or the blob's own authenticated encryption protects it).
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"
    /// SHA-256 of no bytes.
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// What is signed: the request as it will be sent, before the signature's own headers.
    public struct Request {
        public var method: String
        /// The path, not yet percent-encoded (`/bucket/blobs/abc`).
        public var path: String
        /// Query items, not yet percent-encoded; order does not matter.
        public var query: [(name: String, value: String)]
        /// Every header that will be sent and signed (Host included); order does not matter.
        public var headers: [(name: String, value: String)]
        /// Hex SHA-256 of the body, or `unsignedPayload`.
        public var payloadHash: String

        public init(method: String, path: String, query: [(name: String, value: String)] = [],
                    headers: [(name: String, value: String)], payloadHash: String) {
            self.method = method
            self.path = path
            self.query = query
            self.headers = headers
            self.payloadHash = payloadHash
        }
    }

    /// The headers to add to the request, and the intermediate strings the vectors check.
    public struct Signed {
        public let canonicalRequest: String
        public let stringToSign: String
        public let signature: String
        public let authorization: String
        /// `x-amz-date` (and `x-amz-content-sha256` when asked for), then `Authorization`.
        public let headers: [(name: String, value: String)]
    }

    /// Signs `request` at `date`. With `contentHashHeader` the payload hash is also sent and
    /// signed as `x-amz-content-sha256`, which S3 requires on every request.
    public static func sign(_ request: Request, credentials: S3Credentials, region: String, service: String = "s3",
                            date: Date, contentHashHeader: Bool = true) -> Signed {
        let stamp = timestamp(date)
        let day = String(stamp.prefix(8))
        var added: [(name: String, value: String)] = [("X-Amz-Date", stamp)]
        if contentHashHeader { added.append(("x-amz-content-sha256", request.payloadHash)) }
        let (canonicalHeaders, signedHeaders) = canonicalize(headers: request.headers + added)
        let canonicalRequest = [
            request.method,
            canonicalURI(request.path),
            canonicalQuery(request.query),
            canonicalHeaders,
            signedHeaders,
            request.payloadHash,
        ].joined(separator: "\n")
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = [
            "AWS4-HMAC-SHA256", stamp, scope, Hex.encode(SHA256Hasher.hash(Array(canonicalRequest.utf8))),
        ].joined(separator: "\n")
        let key = signingKey(credentials: credentials, day: day, region: region, service: service)
        let signature = Hex.encode(HMACSHA256.mac(key: key, message: Array(stringToSign.utf8)))
        let authorization = "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), "
            + "SignedHeaders=\(signedHeaders), Signature=\(signature)"
        return Signed(canonicalRequest: canonicalRequest, stringToSign: stringToSign, signature: signature,
                      authorization: authorization, headers: added + [("Authorization", authorization)])
    }

    /// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, day), region), service), "aws4_request").
    /// Only the first step touches the secret; the result is scoped to one day, region and service.
    static func signingKey(credentials: S3Credentials, day: String, region: String, service: String) -> [UInt8] {
        var key = credentials.withPrefixedSecret { HMACSHA256.mac(key: $0, message: Array(day.utf8)) }
        for part in [region, service, "aws4_request"] { key = HMACSHA256.mac(key: key, message: Array(part.utf8)) }
        return key
    }

    /// `yyyyMMdd'T'HHmmss'Z'` in UTC.
    static func timestamp(_ date: Date) -> String {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func two(_ n: Int32) -> String { n < 10 ? "0" + String(n) : String(n) }
        let day: String = String(parts.tm_year + 1900) + two(parts.tm_mon + 1) + two(parts.tm_mday)
        let time: String = two(parts.tm_hour) + two(parts.tm_min) + two(parts.tm_sec)
        return day + "T" + time + "Z"
    }

    /// Each path segment percent-encoded once, slashes kept; no `.`/`..` or `//` folding.
    static func canonicalURI(_ path: String) -> String {
        path.isEmpty ? "/" : uriEncode(path, encodeSlash: false)
    }

    /// Items encoded, then sorted by name and value (byte order); a bare name signs as `name=`.
    static func canonicalQuery(_ query: [(name: String, value: String)]) -> String {
        let encoded: [(String, String)] = query.map { item in
            (uriEncode(item.name, encodeSlash: true), uriEncode(item.value, encodeSlash: true))
        }
        let sorted = encoded.sorted { a, b in a.0 == b.0 ? a.1 < b.1 : a.0 < b.0 }
        return sorted.map { item in item.0 + "=" + item.1 }.joined(separator: "&")
    }

    /// Names lower-cased and sorted; values trimmed with inner runs of spaces folded to one;
    /// repeated names joined by commas in the order given.
    static func canonicalize(headers: [(name: String, value: String)]) -> (canonical: String, signed: String) {
        var values: [String: [String]] = [:]
        for (name, value) in headers {
            let folded = value.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
            values[name.lowercased(), default: []].append(folded.trimmingCharacters(in: .whitespaces))
        }
        let names = values.keys.sorted()
        let canonical = names.map { "\($0):\(values[$0]!.joined(separator: ","))\n" }.joined()
        return (canonical, names.joined(separator: ";"))
    }

    /// RFC 3986 percent-encoding of UTF-8 bytes: only A-Z a-z 0-9 - . _ ~ stay as they are
    /// (and `/` when `encodeSlash` is false).
    public static func uriEncode(_ text: String, encodeSlash: Bool) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out = [UInt8]()
        out.reserveCapacity(text.utf8.count)
        for b in text.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(b)
            case UInt8(ascii: "/") where !encodeSlash:
                out.append(b)
            default:
                out += [UInt8(ascii: "%"), hex[Int(b >> 4)], hex[Int(b & 0x0f)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// HMAC-SHA-256 (RFC 2104) over the project's SHA-256.
enum HMACSHA256 {
    static let blockSize = 64

    static func mac(key: [UInt8], message: [UInt8]) -> [UInt8] {
        key.withUnsafeBytes { mac(key: $0, message: message) }
    }

    static func mac(key: UnsafeRawBufferPointer, message: [UInt8]) -> [UInt8] {
        var block = key.count > blockSize ? SHA256Hasher.hash(Array(key)) : Array(key)
        block += [UInt8](repeating: 0, count: blockSize - block.count)
        defer { for i in block.indices { block[i] = 0 } }
        var inner = SHA256Hasher()
        inner.update(block.map { $0 ^ 0x36 })
        inner.update(message)
        var outer = SHA256Hasher()
        outer.update(block.map { $0 ^ 0x5c })
        outer.update(inner.finalize())
        return outer.finalize()
    }
}
