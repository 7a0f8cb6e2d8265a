import Foundation
import KeyManagement
import TestSupport
import XCTest
@testable import Storage

/// S3BlobStore against a real S3-compatible server: SeaweedFS, started by Scripts/test.sh
/// (Scripts/lib/seaweedfs.sh), which exports STRONGROOM_TEST_S3 and AWS_ACCESS_KEY_ID /
/// AWS_SECRET_ACCESS_KEY. Each test works under its own key prefix in the shared bucket.
final class S3BlobStoreTests: XCTestCase {
    var location: S3Location!
    var credentials: S3Credentials!
    let id = "00112233445566778899aabbccddeeff"
    let mib = 1 << 20

    override func setUpWithError() throws {
        (location, credentials) = try TestServers.s3(prefix: "test")
    }

    override func tearDownWithError() throws {
        guard let location, let credentials else { return }
        // Leave the shared bucket as found (an Object Lock may keep a version; that is the point).
        let s = S3BlobStore(client: S3Client(location: location, credentials: credentials))
        for name in (try? s.leftoverUploads()) ?? [] { try? s.removeLeftoverUpload(name) }
        if let ids = try? s.storedRecordIDs() { try? s.delete(recordIDs: ids) }
    }

    func store(retention: S3Retention? = nil, clock: @escaping @Sendable () -> Date = { Date() }) -> S3BlobStore {
        var l = location!
        l.retention = retention
        return S3BlobStore(client: S3Client(location: l, credentials: credentials), clock: clock)
    }

    /// Writes `bytes` in uneven pieces (so part boundaries fall inside writes) and commits.
    func put(_ s: S3BlobStore, _ bytes: [UInt8], id: String? = nil) throws {
        let upload = try s.beginWrite(recordID: id ?? self.id)
        var offset = 0
        var piece = 1
        while offset < bytes.count {
            let n = min(bytes.count - offset, piece * 65_537)
            try bytes[offset..<offset + n].withUnsafeBytes { try upload.write($0) }
            offset += n
            piece = piece % 7 + 1
        }
        try upload.commit()
    }

    /// Random bytes from libsodium (fast in debug builds).
    func random(_ n: Int) -> [UInt8] { n == 0 ? [] : randomPublicBytes(n) }

    func readAll(_ blob: RandomAccessBlob) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: blob.size)
        let n = try out.withUnsafeMutableBytes { try BlobReader.readFully(blob, at: 0, into: $0) }
        XCTAssertEqual(n, blob.size)
        return out
    }

    func testRoundTripOfEmptySmallOnePartAndSeveralPartsPlusOneByte() throws {
        let s = store()
        for size in [0, 1, 100_000, s.partSize, 3 * s.partSize + 1] {
            let id = RecordID.generate()
            let bytes = random(size)
            try put(s, bytes, id: id)
            let blob = try XCTUnwrap(try s.open(recordID: id), "size \(size)")
            XCTAssertEqual(blob.size, size)
            XCTAssertEqual(try readAll(blob), bytes, "size \(size)")
        }
        XCTAssertEqual(try s.leftoverUploads(), [], "every upload completed")
    }

    func testLargeBlobIsSentInPartsAndHoldsAtMostOnePartInMemory() throws {
        let s = store()
        let upload = try XCTUnwrap(try s.beginWrite(recordID: id) as? S3BlobUpload)
        let chunk = random(mib)
        for i in 0..<(2 * s.partSize / mib + 1) {
            try chunk.withUnsafeBytes { try upload.write($0) }
            XCTAssertEqual(upload.buffer.count, s.partSize, "one part of memory, after \(i + 1) MiB")
            XCTAssertLessThanOrEqual(upload.filled, s.partSize)
        }
        XCTAssertEqual(upload.parts.count, 2, "two full parts already sent")
        XCTAssertNil(try s.open(recordID: id), "invisible before commit")
        XCTAssertEqual(try s.leftoverUploads().count, 1)
        try upload.commit()
        XCTAssertEqual(try s.open(recordID: id)?.size, 2 * s.partSize + mib)
        XCTAssertEqual(try s.leftoverUploads(), [])
    }

    func testRangedReadsAtPartAndWindowBoundaries() throws {
        let s = store()
        let bytes = random(s.partSize + 3 * s.readAhead / 2)
        try put(s, bytes)
        let blob = try XCTUnwrap(try s.open(recordID: id))
        for (offset, count) in [(0, 1), (s.partSize - 1, 2), (s.readAhead - 3, 7), (2 * s.readAhead - 1, 1),
                                (bytes.count - 1, 1), (bytes.count - 5, 64), (17, 3 * s.readAhead)] {
            var out = [UInt8](repeating: 0, count: count)
            let n = try out.withUnsafeMutableBytes { try BlobReader.readFully(blob, at: offset, into: $0) }
            let expected = Array(bytes[offset..<min(bytes.count, offset + count)])
            XCTAssertEqual(n, expected.count, "at \(offset)")
            XCTAssertEqual(Array(out.prefix(n)), expected, "at \(offset)")
        }
        var one = [UInt8](repeating: 0, count: 1)
        XCTAssertEqual(try one.withUnsafeMutableBytes { try blob.read(at: bytes.count, into: $0) }, 0, "end of blob")
        XCTAssertEqual(try one.withUnsafeMutableBytes { try blob.read(at: bytes.count + 10, into: $0) }, 0, "past the end")
    }

    func testEncryptedBlobWrittenAndReadThroughTheStoreDecrypts() throws {
        let s = store()
        let key = try DataKey.generate()
        let plaintext = random(300_000)
        let upload = try s.beginWrite(recordID: id)
        let writer = try BlobWriter(schoolID: "S1", recordID: id, dataKey: key, sink: upload)
        try writer.write(plaintext)
        _ = try writer.finish()
        try upload.commit()
        var out: [UInt8] = []
        try BlobReader.decrypt(try XCTUnwrap(try s.open(recordID: id)), schoolID: "S1", recordID: id, dataKey: key,
                               expectedCiphertextSize: nil) { out += $0 }
        XCTAssertEqual(out, plaintext)
    }

    func testObjectNameIsTheRecordIDUnderThePrefixAndNothingElse() throws {
        XCTAssertEqual(S3BlobStore(client: S3Client(location: try S3Location(parsing: "s3://bucket?endpoint=http://h"), credentials: credentials))
            .key(id), "blobs/" + id)
        let s = store()
        let key = try DataKey.generate()
        let upload = try s.beginWrite(recordID: id)
        let writer = try BlobWriter(schoolID: "SCHOOL-ST1", recordID: id, dataKey: key, sink: upload)
        try writer.write(random(1000))
        _ = try writer.finish()
        try upload.commit()
        let keys = try s.client.listObjects(prefix: location.prefix).map(\.key)
        XCTAssertEqual(keys, [location.prefix + id])
        for k in keys { XCTAssertFalse(k.contains("SCHOOL") || k.contains("ST1"), k) }
        XCTAssertThrowsError(try s.beginWrite(recordID: "../ST1/child-name"), "only record ids become keys")
    }

    func testListShowsCommittedBlobsOnlyAcrossPages() throws {
        let s = store()
        let ids = (0..<5).map { _ in RecordID.generate() }.sorted()
        for id in ids { try put(s, [1, 2, 3], id: id) }
        XCTAssertEqual(try s.storedRecordIDs(), ids)
        XCTAssertEqual(try s.client.listObjects(prefix: location.prefix, pageSize: 2).count, 5, "three pages of 2, 2 and 1")
    }

    func testDeleteRemovesTheBlobAndEveryVersion() throws {
        let s = store()
        let other = RecordID.generate()
        try put(s, random(1000))
        try put(s, random(1000), id: other)
        try s.delete(recordID: id)
        XCTAssertNil(try s.open(recordID: id))
        XCTAssertEqual(try s.storedRecordIDs(), [other])
        XCTAssertEqual(try s.client.listObjectVersions(prefix: s.key(id)).count, 0, "no version or delete marker left")
        try s.delete(recordID: id)  // already gone: not an error
        try s.delete(recordIDs: [other, RecordID.generate()])
        XCTAssertEqual(try s.storedRecordIDs(), [])
        XCTAssertEqual(try s.client.listObjectVersions(prefix: location.prefix).count, 0)
    }

    func testAbortLeavesNothing() throws {
        let s = store()
        for size in [10, s.partSize + 10] {
            let upload = try s.beginWrite(recordID: id)
            try random(size).withUnsafeBytes { try upload.write($0) }
            upload.abort()
            XCTAssertEqual(try s.storedRecordIDs(), [], "size \(size)")
            XCTAssertEqual(try s.leftoverUploads(), [], "size \(size)")
            XCTAssertEqual(try s.client.listObjectVersions(prefix: location.prefix).count, 0)
        }
    }

    func testLeftoverUploadIsListedAndRemoved() throws {
        let s = store()
        var upload: S3BlobUpload? = try XCTUnwrap(try s.beginWrite(recordID: id) as? S3BlobUpload)
        try random(s.partSize + 1).withUnsafeBytes { try upload!.write($0) }
        upload!.finished = true  // as if the process died here: no commit, no abort
        upload = nil
        let leftovers = try s.leftoverUploads()
        XCTAssertEqual(leftovers.count, 1)
        XCTAssertTrue(leftovers[0].hasPrefix(id + "/"))
        XCTAssertNil(try s.open(recordID: id))
        try s.removeLeftoverUpload(leftovers[0])
        XCTAssertEqual(try s.leftoverUploads(), [])
        XCTAssertEqual(try s.storedRecordIDs(), [])
    }

    func testWrongSecretIsAccessDeniedAndTheMessageHoldsNoSecret() throws {
        let wrongSecret = "not-the-secret-" + Hex.encode(random(8))
        let bad = try S3Credentials(accessKeyID: credentials.accessKeyID, secretAccessKey: wrongSecret)
        let s = S3BlobStore(client: S3Client(location: location, credentials: bad))
        XCTAssertThrowsError(try s.storedRecordIDs()) { error in
            guard case S3Error.accessDenied = error else { return XCTFail("expected accessDenied, got \(error)") }
            for text in [String(describing: error), "\(error)", error.localizedDescription] {
                XCTAssertFalse(text.contains(wrongSecret), text)
                XCTAssertFalse(text.contains(ProcessInfo.processInfo.environment["AWS_SECRET_ACCESS_KEY"]!), text)
            }
        }
        XCTAssertThrowsError(try put(s, [1, 2, 3])) { error in
            guard case S3Error.accessDenied = error else { return XCTFail("expected accessDenied, got \(error)") }
        }
    }

    func testCommittedObjectsCarryTheConfiguredObjectLock() throws {
        let s = store(retention: S3Retention(mode: .governance, days: 1))
        try put(s, random(1000))
        let big = RecordID.generate()
        try put(s, random(s.partSize + 1), id: big)
        for k in [s.key(id), s.key(big)] {
            let info = try XCTUnwrap(try s.client.headObject(key: k))
            XCTAssertEqual(info.lockMode, "GOVERNANCE", k)
            let retention = try XCTUnwrap(try s.client.getObjectRetention(key: k), k)
            XCTAssertEqual(retention.mode, "GOVERNANCE")
            let until = try XCTUnwrap(ISO8601DateFormatter().date(from: retention.retainUntil.replacingOccurrences(of: ".000", with: "")))
            XCTAssertEqual(until.timeIntervalSinceNow, 86_400, accuracy: 120, k)
        }
    }

    func testDeletingALockedBlobMakesItUnreachableAndGcRemovesItOnceTheLockEnds() throws {
        // Retain-until a few seconds from now: the store's clock runs a day minus 4 s behind.
        let s = store(retention: S3Retention(mode: .compliance, days: 1), clock: { Date().addingTimeInterval(-86_400 + 4) })
        try put(s, random(1000))
        try s.delete(recordID: id)
        XCTAssertNil(try s.open(recordID: id), "unreachable at once")
        XCTAssertEqual(try s.storedRecordIDs(), [])
        let kept = try s.client.listObjectVersions(prefix: s.key(id)).filter { !$0.isDeleteMarker }
        XCTAssertEqual(kept.count, 1, "the locked version stays")
        let refusal = try s.client.deleteObjects(kept.map { (key: $0.key, versionID: Optional($0.versionID)) })
        XCTAssertEqual(refusal.map(\.code), ["AccessDenied"], "S3 refuses to delete a locked version")
        XCTAssertThrowsError(try s.client.deleteObject(key: kept[0].key, versionID: kept[0].versionID)) { error in
            XCTAssertEqual(error as? S3Error, .accessDenied(code: "AccessDenied"))
        }
        XCTAssertEqual(try s.removeUnreachableVersions { _ in true }.stillLocked, 1, "still locked")
        Thread.sleep(forTimeInterval: 6)
        XCTAssertEqual(try s.removeUnreachableVersions { _ in true }.stillLocked, 0)
        XCTAssertEqual(try s.client.listObjectVersions(prefix: location.prefix).count, 0, "version and marker gone")
    }
}

extension S3BlobStoreTests {
    func testStoreRefusesABodyThatDoesNotMatchItsChecksum() throws {
        let s = store()
        XCTAssertThrowsError(try s.client.send("PUT", key: s.key(id), headers: [
            ("x-amz-sdk-checksum-algorithm", "SHA256"), ("x-amz-checksum-sha256", S3Client.base64SHA256(Data([9, 9, 9]))),
        ], body: Data([1, 2, 3]))) { error in
            guard case S3Error.server(400, _) = error else { return XCTFail("expected a 400, got \(error)") }
        }
        XCTAssertNil(try s.open(recordID: id))
    }

    func testReadOfAReplacedObjectFailsRatherThanMixingVersions() throws {
        let s = S3BlobStore(client: store().client, readAhead: 4096)
        try put(s, random(20_000))
        let blob = try XCTUnwrap(try s.open(recordID: id))
        var out = [UInt8](repeating: 0, count: 100)
        _ = try out.withUnsafeMutableBytes { try blob.read(at: 0, into: $0) }
        try s.client.putObject(key: s.key(id), body: Data(random(20_000)))
        XCTAssertThrowsError(try out.withUnsafeMutableBytes { try blob.read(at: 10_000, into: $0) }) { error in
            guard case S3Error.server(412, _) = error else { return XCTFail("expected 412, got \(error)") }
        }
    }
}
