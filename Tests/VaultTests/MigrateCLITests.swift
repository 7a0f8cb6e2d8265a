import Foundation
import XCTest

/// `strongroom migrate`: an embedded store moved into PostgreSQL and the object store (the
/// servers Scripts/test.sh starts), then used there with --metadata, --blobs and --master-key.
final class MigrateCLITests: XCTestCase {
    var target: SharedTarget!
    var root = ""

    override func setUpWithError() throws {
        target = try SharedTarget()
        root = temporaryFolder("migratecli")
    }

    override func tearDown() {
        target?.remove()
        try? FileManager.default.removeItem(atPath: root)
    }

    func testMigrateMovesAStoreThatThenServesFromPostgresAndTheObjectStore() throws {
        let env = ProcessInfo.processInfo.environment
        let blobs = env["STRONGROOM_TEST_S3"]! + "&prefix=\(target.blobs.prefix)"
        let metadata = target.database.location.description
        let cli = CLI(store: root + "/store", environment: ["STRONGROOM_BLOBS": "", "STRONGROOM_METADATA": ""])
        XCTAssertEqual(try cli.run(["init"]).status, 0)
        let note = root + "/note.txt"
        try Data("He said he sleeps in the car some nights.\n".utf8).write(to: URL(fileURLWithPath: note))
        let put = try cli.run(["put", note, "--school", "S1", "--child", "C1", "--concern", "K1", "--kind", "disclosure"])
        XCTAssertEqual(put.status, 0, put.stderr)
        let id = put.stdout.trimmingCharacters(in: .whitespacesAndNewlines)

        let moved = try cli.run(["migrate", "--from", root + "/store", "--to-metadata", metadata, "--to-blobs", blobs, "--json"])
        XCTAssertEqual(moved.status, 0, moved.stderr)
        let summary = try XCTUnwrap(moved.json as? [String: Any], moved.stdout)
        XCTAssertEqual(summary["records"] as? Int, 1)
        XCTAssertEqual(summary["blobsCopied"] as? Int, 1)
        XCTAssertEqual(summary["problems"] as? [String], [])
        XCTAssertFalse(moved.stdout.contains(env["PGPASSWORD"] ?? "no password"), "no secret printed")

        // The moved store, named by its two addresses and the master key.
        let masterKey = root + "/store/keys/master.key"
        let shared = CLI(store: root + "/nowhere", environment: ["STRONGROOM_BLOBS": blobs, "STRONGROOM_METADATA": metadata, "STRONGROOM_MASTER_KEY": masterKey])
        let got = try shared.run(["get", id])
        XCTAssertEqual(got.status, 0, got.stderr)
        XCTAssertEqual(got.stdoutData, try Data(contentsOf: URL(fileURLWithPath: note)))
        XCTAssertEqual(try shared.run(["verify"]).status, 0)
        let audit = try shared.run(["audit", "verify"])
        XCTAssertEqual(audit.status, 0, audit.stdout + audit.stderr)

        // A second move into the same place is refused (exit 73), and the source still works.
        let again = try cli.run(["migrate", "--from", root + "/store", "--to-metadata", metadata, "--to-blobs", blobs])
        XCTAssertEqual(again.status, 73, again.stderr)
        XCTAssertEqual(try cli.run(["get", id]).stdoutData, try Data(contentsOf: URL(fileURLWithPath: note)))
    }
}
