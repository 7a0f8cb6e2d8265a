import XCTest
import KeyManagement
@testable import Storage

/// File operations that fail on demand, the way a full or failing disk does.
final class FailingFileOps: FileOps, @unchecked Sendable {
    let real = SystemFileOps()
    var failWriteAfter: Int?  // number of successful writes before ENOSPC
    var failFsync: Int32?     // errno for every fsync of a file
    var failDirectoryFsync: Int32?
    var failRename: Int32?
    private var writes = 0

    func open(_ path: String, flags: Int32, mode: mode_t) throws -> Int32 { try real.open(path, flags: flags, mode: mode) }
    func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        if let limit = failWriteAfter, writes >= limit { throw FileOpsError(path: path, errno: ENOSPC, operation: "write") }
        writes += 1
        try real.write(fd, bytes, path: path)
    }
    func fsync(_ fd: Int32, path: String) throws {
        if let e = failFsync { throw FileOpsError(path: path, errno: e, operation: "fsync") }
        try real.fsync(fd, path: path)
    }
    func close(_ fd: Int32) { real.close(fd) }
    func rename(_ from: String, _ to: String) throws {
        if let e = failRename { throw FileOpsError(path: to, errno: e, operation: "rename") }
        try real.rename(from, to)
    }
    func fsyncDirectory(_ path: String) throws {
        if let e = failDirectoryFsync { throw FileOpsError(path: path, errno: e, operation: "fsync directory") }
        try real.fsyncDirectory(path)
    }
    func unlink(_ path: String) { real.unlink(path) }
}

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
        try upload.write(UnsafeRawBufferPointer(start: [1, 2, 3], count: 3))
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
        try upload.write(UnsafeRawBufferPointer(start: [1, 2, 3], count: 3))
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
