import Foundation
import XCTest

/// A put killed with SIGKILL at any point leaves the whole record or nothing the store shows,
/// and the store verifies afterwards.
final class CrashSafetyTests: XCTestCase {
    var dir: String!
    var cli: CLI!
    var input: String!
    var inputBytes: Data!

    override func setUpWithError() throws {
        dir = temporaryFolder("crash")
        cli = CLI(store: dir + "/store")
        XCTAssertEqual(try cli.run(["init"]).status, 0)
        input = dir + "/minutes.txt"
        inputBytes = Data(String(repeating: "Minutes of the core group meeting, item 4.\n", count: 8_000).utf8)
        try inputBytes.write(to: URL(fileURLWithPath: input))
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func recordIDs() throws -> [String] {
        let r = try cli.run(["list", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let records = (r.json as? [String: Any])?["records"] as? [[String: Any]] ?? []
        return records.compactMap { $0["id"] as? String }
    }

    func assertStoreConsistent(expectingAtMost count: Int, file: StaticString = #filePath, line: UInt = #line) throws {
        let ids = try recordIDs()
        XCTAssertLessThanOrEqual(ids.count, count, file: file, line: line)
        let verify = try cli.run(["verify", "--json"])
        XCTAssertEqual(verify.status, 0, "verify after a crash: \(verify.stdout) \(verify.stderr)", file: file, line: line)
        let audit = try cli.run(["audit", "verify"])
        XCTAssertEqual(audit.status, 0, "audit verify after a crash: \(audit.stdout)", file: file, line: line)
        for id in ids {
            let out = dir + "/out"
            XCTAssertEqual(try cli.run(["get", id, "-o", out]).status, 0, file: file, line: line)
            XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out)), inputBytes, "a visible record is whole", file: file, line: line)
        }
        XCTAssertEqual(try cli.run(["gc"]).status, 0, file: file, line: line)
        let after = try cli.run(["verify", "--json"]).json as? [String: Any]
        XCTAssertEqual((after?["orphans"] as? [Any])?.count, 0, file: file, line: line)
        XCTAssertEqual((after?["leftoverUploads"] as? [Any])?.count, 0, file: file, line: line)
    }

    func testKillAtEveryNamedPointOfAPutLeavesAllOrNothing() throws {
        let points: [(String, Int)] = [
            ("blob-started", 0), ("blob-fsynced", 0), ("blob-renamed", 0), ("blob-committed", 0),
            ("audit-appended", 0), ("record-committed", 1),
        ]
        var expected = 0
        for (point, visible) in points {
            let r = try cli.run(["put", input, "--school", "S1", "--child", "C1", "--concern", "K1", "--kind", "minutes"],
                                env: ["STRONGROOM_CRASH_AT": point])
            XCTAssertTrue(r.killedBySignal, "\(point): the put was meant to die there (\(r.status) \(r.stderr))")
            expected += visible
            XCTAssertEqual(try recordIDs().count, expected, "after a kill at \(point)")
            try assertStoreConsistent(expectingAtMost: expected)
        }
    }

    func testKillAtRandomMomentsNeverLeavesAPartialRecord() throws {
        let big = dir + "/big.txt"
        inputBytes = Data(String(repeating: "A line of a long disclosure transcript, repeated.\n", count: 400_000).utf8)
        try inputBytes.write(to: URL(fileURLWithPath: big))
        var generator = SystemRandomNumberGenerator()
        var maximum = 0
        for _ in 0..<8 {
            let p = cli.process(["put", big, "--school", "S1", "--child", "C1", "--concern", "K1", "--kind", "minutes"])
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            usleep(UInt32.random(in: 5_000...400_000, using: &generator))
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            maximum += 1
            try assertStoreConsistent(expectingAtMost: maximum)
        }
    }
}
