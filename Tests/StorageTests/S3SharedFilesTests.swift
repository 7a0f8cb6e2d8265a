import Foundation
import KeyManagement
import TestSupport
import XCTest
@testable import Storage

/// S3SharedFiles against the SeaweedFS that Scripts/test.sh starts (see S3BlobStoreTests); each
/// test works under its own key prefix in the shared bucket.
final class S3SharedFilesTests: XCTestCase {
    var client: S3Client!
    let mib = 1 << 20

    override func setUpWithError() throws {
        let (location, credentials) = try TestServers.s3(prefix: "test")
        client = S3Client(location: location, credentials: credentials)
    }

    override func tearDownWithError() throws {
        guard let client else { return }
        for upload in (try? client.listMultipartUploads(prefix: client.location.prefix)) ?? [] {
            try? client.abortMultipartUpload(key: upload.key, uploadID: upload.uploadID)
        }
        let keys = ((try? client.listObjects(prefix: client.location.prefix)) ?? []).map(\.key)
        for key in keys { try? client.deleteObject(key: key) }
        _ = try? client.removeVersions(of: keys)
    }

    func testAWrittenFileReadsBackIsListedWithItsTimeAndIsDeletedWithItsVersions() throws {
        let files = S3SharedFiles(client: client)
        let bytes = randomPublicBytes(100_000)
        let name = String(repeating: "ab", count: 16) + "-" + String(repeating: "c", count: 16) + ".age"
        let before = Date().addingTimeInterval(-60)
        try files.write(.bundles, name: name) { sink in try bytes.withUnsafeBytes { try sink($0) } }

        XCTAssertEqual(try client.listObjects(prefix: client.location.prefix).map(\.key), [client.location.prefix + "files/bundles/" + name])
        XCTAssertEqual(files.location(.bundles, name: name), "s3://\(client.location.bucket)/\(client.location.prefix)files/bundles/\(name)")
        let reader = try XCTUnwrap(try files.open(.bundles, name: name))
        XCTAssertEqual(reader.size, Int64(bytes.count))
        XCTAssertEqual(try reader.readToEnd().map(Array.init), bytes)
        XCTAssertNil(try reader.read(upToCount: 10), "nothing after the end")
        XCTAssertNil(try files.open(.transfers, name: name), "the areas are apart")
        XCTAssertNil(try files.open(.bundles, name: "other.age"))

        let listed = try files.list(.bundles)
        XCTAssertEqual(listed.map(\.name), [name])
        XCTAssertGreaterThan(listed[0].modified, before)
        XCTAssertLessThan(listed[0].modified, Date().addingTimeInterval(60))
        XCTAssertEqual(try files.list(.transfers), [])

        try files.delete(.bundles, name: name)
        XCTAssertNil(try files.open(.bundles, name: name))
        XCTAssertEqual(try files.list(.bundles), [])
        XCTAssertEqual(try client.listObjectVersions(prefix: client.location.prefix), [], "no version or delete marker is left behind")
        XCTAssertNoThrow(try files.delete(.bundles, name: name), "deleting what is gone is not an error")
    }

    func testAFailedWriteLeavesNothing() throws {
        struct Broken: Error {}
        let files = S3SharedFiles(client: client, partSize: 5 << 20)
        XCTAssertThrowsError(try files.write(.transfers, name: "broken.age") { sink in
            try randomPublicBytes(6 << 20).withUnsafeBytes { try sink($0) }  // one part already sent
            throw Broken()
        }) { XCTAssertTrue($0 is Broken, "\($0)") }
        XCTAssertEqual(try files.list(.transfers), [])
        XCTAssertEqual(try client.listMultipartUploads(prefix: client.location.prefix), [], "the upload was aborted")
    }

    func testALargeFileIsStreamedBothWaysHoldingAWindowAtMost() throws {
        let files = S3SharedFiles(client: client, partSize: 5 << 20, readAhead: mib)
        let name = "large.age"
        let chunk = randomPublicBytes(mib)
        let total = 3 * files.partSize + 1
        var written = SHA256Hasher()
        try files.write(.transfers, name: name) { sink in
            var sent = 0
            while sent < total {
                // A different MiB each time, so a mixed-up part would not compare equal.
                var piece = Array(chunk.prefix(total - sent))
                piece[0] = UInt8(truncatingIfNeeded: sent / mib)
                written.update(piece)
                try piece.withUnsafeBytes { try sink($0) }
                sent += piece.count
                if sent == 2 * files.partSize {
                    XCTAssertEqual(try client.listMultipartUploads(prefix: client.location.prefix).count, 1, "parts go out as they fill")
                    XCTAssertNil(try files.open(.transfers, name: name), "invisible until the end")
                }
            }
        }
        let opened = try XCTUnwrap(try files.open(.transfers, name: name))
        let reader = try XCTUnwrap(opened as? S3SharedFileReader)
        XCTAssertEqual(reader.size, Int64(total))
        var read = SHA256Hasher()
        var count = 0
        var buffer = [UInt8](repeating: 0, count: 64 << 10)
        while true {
            let n = try buffer.withUnsafeMutableBytes { try reader.read(into: $0) }
            if n == 0 { break }
            read.update(Array(buffer[0..<n]))
            count += n
            XCTAssertLessThanOrEqual(reader.blob?.window.count ?? 0, mib, "one read-ahead window in memory")
        }
        XCTAssertEqual(count, total)
        XCTAssertEqual(read.finalize(), written.finalize())
    }

    func testNamesThatCouldLeaveTheirAreaAreRefused() throws {
        let files = S3SharedFiles(client: client)
        for name in ["../x.age", ".strongroom-store", "a/b.age", "", String(repeating: "a", count: 129)] {
            XCTAssertThrowsError(try files.write(.bundles, name: name) { _ in }, name) {
                guard case StorageError.invalidIdentifier = $0 else { return XCTFail("\($0)") }
            }
            XCTAssertThrowsError(try files.open(.bundles, name: name), name)
            XCTAssertThrowsError(try files.delete(.bundles, name: name), name)
        }
        XCTAssertEqual(try client.listObjects(prefix: client.location.prefix), [])
    }
}
