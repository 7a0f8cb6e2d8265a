import Foundation
import TestSupport
import XCTest

/// `--blobs`: a store made with its blobs in the object store (the SeaweedFS Scripts/test.sh
/// starts) keeps them there, and is never opened as if they were in its folder.
final class S3CLITests: XCTestCase {
    var blobs = ""
    var root = ""

    override func setUpWithError() throws {
        blobs = try TestServers.s3Address() + "&prefix=cli-\(UUID().uuidString.prefix(8).lowercased())/"
        root = temporaryFolder("s3cli")
    }

    override func tearDown() { try? FileManager.default.removeItem(atPath: root) }

    func testAStoreWithItsBlobsInTheObjectStoreKeepsThemThereAndIsNeverOpenedWithoutIt() throws {
        let cli = CLI(store: root + "/store", environment: ["STRONGROOM_BLOBS": blobs])
        let created = try cli.run(["init"])
        XCTAssertEqual(created.status, 0, created.stderr)
        let note = root + "/note.txt"
        try Data("He said he sleeps in the car some nights.\n".utf8).write(to: URL(fileURLWithPath: note))
        let put = try cli.run(["put", note, "--school", "S1", "--child", "C1", "--concern", "K1", "--kind", "disclosure"])
        XCTAssertEqual(put.status, 0, put.stderr)
        let id = put.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let got = try cli.run(["get", id])
        XCTAssertEqual(got.status, 0, got.stderr)
        XCTAssertEqual(got.stdoutData, try Data(contentsOf: URL(fileURLWithPath: note)))
        XCTAssertEqual(try cli.run(["verify"]).status, 0)
        // No blob in the store folder: the ciphertext is in the bucket only.
        let files = FileManager.default.enumerator(atPath: root + "/store")?.compactMap { $0 as? String } ?? []
        XCTAssertFalse(files.contains { $0.hasSuffix(".blob") }, "\(files)")

        // Opened without --blobs, the store refuses, rather than find every blob missing.
        let bare = try cli.run(["get", id], env: ["STRONGROOM_BLOBS": ""])
        XCTAssertEqual(bare.status, 78, bare.stderr)
        XCTAssertTrue(bare.stderr.contains("keeps its blobs in the object store"), bare.stderr)
        XCTAssertTrue(bare.stdout.isEmpty)
        // A second store under the same bucket and prefix is refused: its gc would take these for orphans.
        let second = try CLI(store: root + "/second", environment: ["STRONGROOM_BLOBS": blobs]).run(["init"])
        XCTAssertNotEqual(second.status, 0)
        XCTAssertTrue(second.stderr.contains("already belongs to vault"), second.stderr)
        // Without credentials it says which are needed, and names no secret.
        let noKeys = try cli.run(["get", id], env: ["AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "AWS_SHARED_CREDENTIALS_FILE": ""])
        XCTAssertEqual(noKeys.status, 78, noKeys.stderr)
        XCTAssertTrue(noKeys.stderr.contains("AWS_ACCESS_KEY_ID"), noKeys.stderr)
        // A file store is not opened as an object store either.
        let plain = CLI(store: root + "/plain")
        XCTAssertEqual(try plain.run(["init"], env: ["STRONGROOM_BLOBS": ""]).status, 0)
        let wrong = try plain.run(["list"], env: ["STRONGROOM_BLOBS": blobs])
        XCTAssertEqual(wrong.status, 78, wrong.stderr)
        XCTAssertTrue(wrong.stderr.contains("keeps its blobs in its own folder"), wrong.stderr)
        // The gc of the object store's store removes nothing live.
        XCTAssertEqual(try cli.run(["gc"]).status, 0)
        XCTAssertEqual(try cli.run(["get", id]).stdoutData, try Data(contentsOf: URL(fileURLWithPath: note)))
    }
}
