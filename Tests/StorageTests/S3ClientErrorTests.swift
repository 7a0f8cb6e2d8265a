import Foundation
import XCTest
@testable import Storage
#if canImport(Glibc)
import Glibc
#endif

/// How the client's failures reach a caller, without any server: answers mapped to S3Error, and
/// a store that refuses connections or never answers.
final class S3ClientErrorTests: XCTestCase {
    func client(port: UInt16, timeout: TimeInterval) throws -> S3Client {
        S3Client(location: try S3Location(parsing: "s3://bucket?endpoint=http://127.0.0.1:\(port)"),
                 credentials: try S3Credentials(accessKeyID: "AKID", secretAccessKey: "secret-not-to-be-seen"),
                 timeout: timeout, resourceTimeout: timeout)
    }

    func testAnswersMapToCasesACallerCanActOn() {
        XCTAssertEqual(S3Client.error(status: 404, code: "NoSuchKey", key: "blobs/a"), .notFound(key: "blobs/a"))
        XCTAssertEqual(S3Client.error(status: 404, code: "NoSuchUpload", key: "blobs/a"), .notFound(key: "blobs/a"))
        // A missing bucket is a misconfiguration, never "this record is missing".
        guard case .invalidConfiguration = S3Client.error(status: 404, code: "NoSuchBucket", key: "blobs/a") else {
            return XCTFail("NoSuchBucket must not read as a missing object")
        }
        XCTAssertEqual(S3Client.error(status: 404, code: "", key: ""), .notFound(key: ""))
        XCTAssertEqual(S3Client.error(status: 403, code: "SignatureDoesNotMatch", key: "blobs/a"), .accessDenied(code: "SignatureDoesNotMatch"))
        XCTAssertEqual(S3Client.error(status: 403, code: "", key: "blobs/a"), .accessDenied(code: "HTTP 403"))
        XCTAssertEqual(S3Client.error(status: 503, code: "SlowDown", key: "blobs/a"), .server(status: 503, code: "SlowDown"))
        XCTAssertEqual(S3Client.error(status: 412, code: "PreconditionFailed", key: "blobs/a"), .server(status: 412, code: "PreconditionFailed"))
    }

    /// A port that was free a moment ago: nothing listens there.
    func closedPort() throws -> UInt16 {
        let (fd, port) = try listening(backlog: false)
        close(fd)
        return port
    }

    /// A socket bound to a free loopback port; with `backlog`, listening (connections complete
    /// in the kernel, but no one ever reads or answers).
    func listening(backlog: Bool) throws -> (Int32, UInt16) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        try withUnsafeMutablePointer(to: &addr) { p in
            try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
                guard bind(fd, sa, len) == 0, getsockname(fd, sa, &len) == 0 else { throw POSIXError(.EADDRINUSE) }
            }
        }
        if backlog { XCTAssertEqual(listen(fd, 8), 0) }
        return (fd, UInt16(bigEndian: addr.sin_port))
    }

    func testRefusedConnectionIsUnreachable() throws {
        let c = try client(port: try closedPort(), timeout: 5)
        XCTAssertThrowsError(try c.headObject(key: "blobs/a")) { error in
            XCTAssertEqual(error as? S3Error, .unreachable(reason: "connection refused"))
        }
    }

    func testStoreThatNeverAnswersTimesOutAsUnreachable() throws {
        let (fd, port) = try listening(backlog: true)
        defer { close(fd) }
        let c = try client(port: port, timeout: 1)
        let start = Date()
        XCTAssertThrowsError(try c.getObject(key: "blobs/a", range: 0...9)) { error in
            XCTAssertEqual(error as? S3Error, .unreachable(reason: "timed out"))
            XCTAssertFalse("\(error)".contains("secret-not-to-be-seen"))
        }
        XCTAssertLessThan(Date().timeIntervalSince(start), 10)
    }
}
