import Foundation
import KeyManagement
import XCTest
@testable import Storage

/// Shared files in the store folder: the paths, modes and listing bundles and transfers rely on.
final class FolderSharedFilesTests: XCTestCase {
    var root: String!

    override func setUpWithError() throws {
        root = NSTemporaryDirectory() + "shared-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: root) }

    func mode(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    func testAFileIsWrittenPrivatelyInItsAreasFolderAndReadsBackAfterItsNameIsGone() throws {
        let files = FolderSharedFiles(root: root)
        XCTAssertEqual(try files.list(.bundles), [], "no folder yet is an empty area")
        let bytes = randomPublicBytes(300_000)
        try files.write(.bundles, name: "one.age") { sink in try bytes.withUnsafeBytes { try sink($0) } }
        let path = root + "/bundles/one.age"
        XCTAssertEqual(files.location(.bundles, name: "one.age"), path)
        XCTAssertEqual(try mode(root + "/bundles"), 0o700)
        XCTAssertEqual(try mode(path), 0o600)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root + "/bundles"), ["one.age"], "no temp file left")

        let reader = try XCTUnwrap(try files.open(.bundles, name: "one.age"))
        try files.delete(.bundles, name: "one.age")
        XCTAssertFalse(FileManager.default.fileExists(atPath: path))
        XCTAssertEqual(reader.size, Int64(bytes.count))
        XCTAssertEqual(try reader.readToEnd().map(Array.init), bytes, "an opened file stays readable")
        XCTAssertNil(try files.open(.bundles, name: "one.age"))
        XCTAssertNoThrow(try files.delete(.bundles, name: "one.age"))
    }

    func testListingGivesModifiedTimesAndTempFilesAndLeavesOthersFilesOut() throws {
        let files = FolderSharedFiles(root: root)
        try files.write(.transfers, name: "kept.age") { _ in }
        let temp = root + "/transfers/kept.age.tmp-0011aabbccdd"
        XCTAssertTrue(FileManager.default.createFile(atPath: temp, contents: Data("x".utf8)))
        var times = [timeval(tv_sec: 1_700_000_000, tv_usec: 0), timeval(tv_sec: 1_700_000_000, tv_usec: 0)]
        XCTAssertEqual(utimes(temp, &times), 0)
        XCTAssertTrue(FileManager.default.createFile(atPath: root + "/transfers/.hidden", contents: Data()))
        let listed = try files.list(.transfers)
        XCTAssertEqual(listed.map(\.name), ["kept.age", "kept.age.tmp-0011aabbccdd"])
        XCTAssertEqual(listed[1].modified, Date(timeIntervalSince1970: 1_700_000_000))
        XCTAssertLessThan(abs(listed[0].modified.timeIntervalSinceNow), 60)
        XCTAssertEqual(try files.list(.bundles), [])
    }

    func testNamesThatCouldLeaveTheirFolderAreRefused() throws {
        let files = FolderSharedFiles(root: root)
        for name in ["../escape.age", "a/b.age", ".hidden", ""] {
            XCTAssertThrowsError(try files.write(.bundles, name: name) { _ in }, name) {
                guard case StorageError.invalidIdentifier = $0 else { return XCTFail("\($0)") }
            }
            XCTAssertThrowsError(try files.open(.bundles, name: name), name)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: root + "/escape.age"))
    }
}
