import XCTest
@testable import KeyManagement

/// `OutputFile` as someone who can write to the output's folder would attack it: by putting a
/// symlink or a file at FILE while a long command (a gigabyte get) is still writing.
final class OutputFileTests: XCTestCase {
    var dir: String!

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "out-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func entries() throws -> [String] { try FileManager.default.contentsOfDirectory(atPath: dir).sorted() }

    func testASymlinkPutAtTheOutputWhileWritingIsRefusedAtCommitAndLeftAsItIs() throws {
        let target = dir + "/target", out = dir + "/out"
        try Data("target\n".utf8).write(to: URL(fileURLWithPath: target))
        for replacing in [true, false] {
            let file = try OutputFile(out, replacing: replacing)
            try file.write(Array("secret\n".utf8))
            try FileManager.default.createSymbolicLink(atPath: out, withDestinationPath: target)
            XCTAssertThrowsError(try file.commit()) { error in
                guard case KeyManagementError.unsafeOutput(let path, let problem) = error else { return XCTFail("\(error)") }
                XCTAssertEqual(path, out)
                XCTAssertTrue(problem.contains("symbolic link"), problem)
            }
            XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: out), target)
            XCTAssertEqual(try String(contentsOfFile: target, encoding: .utf8), "target\n")
            XCTAssertEqual(try entries(), ["out", "target"], "no temporary file left")
            try FileManager.default.removeItem(atPath: out)
        }
    }

    func testAFileThatAppearsAtANewOutputWhileWritingIsNeverReplaced() throws {
        let out = dir + "/new"
        let file = try OutputFile(out, replacing: false)
        try file.write(Array("exported\n".utf8))
        try Data("someone else's\n".utf8).write(to: URL(fileURLWithPath: out))
        XCTAssertThrowsError(try file.commit()) { XCTAssertEqual($0 as? KeyManagementError, .alreadyExists(out)) }
        XCTAssertEqual(try String(contentsOfFile: out, encoding: .utf8), "someone else's\n")
        XCTAssertEqual(try entries(), ["new"])
    }

    func testARegularFileIsReplacedWholeOnlyAtCommitAndADiscardedOneLeavesNothing() throws {
        let out = dir + "/out"
        try Data("before\n".utf8).write(to: URL(fileURLWithPath: out))
        let discarded = try OutputFile(out, replacing: true)
        try discarded.write(Array("half".utf8))
        discarded.discard()
        XCTAssertEqual(try String(contentsOfFile: out, encoding: .utf8), "before\n")
        let file = try OutputFile(out, mode: 0o644, replacing: true)
        try file.write(Array("after\n".utf8))
        XCTAssertEqual(try String(contentsOfFile: out, encoding: .utf8), "before\n", "nothing shows before the commit")
        try file.commit()
        XCTAssertEqual(try String(contentsOfFile: out, encoding: .utf8), "after\n")
        XCTAssertEqual(try entries(), ["out"])
        XCTAssertThrowsError(try OutputFile.write([1], to: out, replacing: false)) { XCTAssertEqual($0 as? KeyManagementError, .alreadyExists(out)) }
    }

    func testAFolderGivenForWritingIntoMustBeAFolderOfItsOwn() throws {
        XCTAssertFalse(try OutputFile.requireFolder(dir + "/absent"))
        XCTAssertTrue(try OutputFile.requireFolder(dir))
        try FileManager.default.createSymbolicLink(atPath: dir + "/link", withDestinationPath: dir)
        try Data().write(to: URL(fileURLWithPath: dir + "/file"))
        for path in [dir + "/link", dir + "/file"] {
            XCTAssertThrowsError(try OutputFile.requireFolder(path)) {
                guard case KeyManagementError.unsafeOutput = $0 else { return XCTFail("\($0)") }
            }
        }
    }
}
