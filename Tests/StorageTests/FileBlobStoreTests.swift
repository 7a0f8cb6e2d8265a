import XCTest
import KeyManagement
import TestSupport
@testable import Storage

final class FileBlobStoreTests: XCTestCase {
    var dir: String!
    let id = "00112233445566778899aabbccddeeff"

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "blobs-" + UUID().uuidString
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func store(_ ops: FileOps = SystemFileOps()) throws -> FileBlobStore {
        let s = FileBlobStore(root: dir, ops: ops)
        try s.createLayout()
        return s
    }

    func write(_ store: FileBlobStore, size: Int = 300_000) throws {
        let upload = try store.beginWrite(recordID: id)
        do {
            let writer = try BlobWriter(schoolID: "S1", recordID: id, dataKey: try DataKey.generate(), sink: upload)
            try writer.write(randomBytes(size))
            _ = try writer.finish()
            try upload.commit()
        } catch {
            upload.abort()
            throw error
        }
    }

    func assertNoTrace(_ store: FileBlobStore, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(try store.storedRecordIDs(), [], file: file, line: line)
        XCTAssertEqual(try store.leftoverUploads(), [], file: file, line: line)
    }

    func testCommittedBlobIsVisibleAndUncommittedIsNot() throws {
        let s = try store()
        let upload = try s.beginWrite(recordID: id)
        try [UInt8]([1, 2, 3]).withUnsafeBytes { try upload.write($0) }
        XCTAssertNil(try s.open(recordID: id), "invisible before commit")
        XCTAssertEqual(try s.leftoverUploads().count, 1)
        try upload.commit()
        XCTAssertEqual(try s.open(recordID: id)?.size, 3)
        XCTAssertEqual(try s.storedRecordIDs(), [id])
        XCTAssertEqual(try s.leftoverUploads(), [])
    }

    func testAbortedUploadLeavesNoTrace() throws {
        let s = try store()
        let upload = try s.beginWrite(recordID: id)
        try [UInt8]([1, 2, 3]).withUnsafeBytes { try upload.write($0) }
        upload.abort()
        try assertNoTrace(s)
    }

    func testDiskFullDuringWriteFailsCleanlyAndLeavesNoTrace() throws {
        let ops = FailingFileOps()
        ops.failWriteAfter = 2
        let s = try store(ops)
        XCTAssertThrowsError(try write(s)) { error in
            XCTAssertEqual(error as? StorageError, .io(operation: "write", path: (error as? StorageError).map { if case .io(_, let p, _) = $0 { return p } else { return "" } } ?? "", errno: ENOSPC))
        }
        try assertNoTrace(s)
    }

    func testEIOOnFsyncFailsCleanlyAndLeavesNoTrace() throws {
        let ops = FailingFileOps()
        ops.failFsync = EIO
        let s = try store(ops)
        XCTAssertThrowsError(try write(s)) { error in
            guard case StorageError.io("fsync", _, EIO) = error else { return XCTFail("\(error)") }
        }
        try assertNoTrace(s)
    }

    func testFailedRenameOrDirectoryFsyncLeavesNoTrace() throws {
        let ops = FailingFileOps()
        ops.failRename = EIO
        var s = try store(ops)
        XCTAssertThrowsError(try write(s))
        try assertNoTrace(s)
        let ops2 = FailingFileOps()
        ops2.failDirectoryFsync = EIO
        s = FileBlobStore(root: dir, ops: ops2)
        XCTAssertThrowsError(try write(s))
        try assertNoTrace(s)
    }

    func testRecordIdsThatAreNotHexNeverBecomePaths() throws {
        let s = try store()
        for bad in ["../../etc/passwd", "0011223344556677889900aabbccdd/x", "", "ABCDEF0123456789ABCDEF0123456789"] {
            XCTAssertThrowsError(try s.beginWrite(recordID: bad))
            XCTAssertThrowsError(try s.open(recordID: bad))
        }
    }
}
