import Foundation
import XCTest

/// Backups through the `strongroom` binary, as the backup operator runs them: with no master
/// key anywhere they can read it, and nothing secret or evidential in anything they see.
final class BackupCLITests: XCTestCase {
    var dir: String!
    var cli: CLI!
    let marker = "Disclosure-7f3a: what the child said in the playground"

    override func setUpWithError() throws {
        dir = temporaryFolder("backup-cli")
        cli = CLI(store: dir + "/store")
        XCTAssertEqual(try cli.run(["init"]).status, 0)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func put(_ n: Int) throws -> String {
        let path = dir + "/note-\(n).txt"
        try Data("\(marker), note \(n).\n".utf8).write(to: URL(fileURLWithPath: path))
        let r = try cli.run(["put", path, "--school", "S1", "--child", "C1", "--concern", "K1", "--kind", "disclosure", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        return try XCTUnwrap((r.json as? [String: Any])?["id"] as? String)
    }

    func token(_ name: String, role: String) throws -> String {
        let r = try cli.run(["user", "add", name, "--api-token", "--role", role, "--school", "S1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func testTheBackupOperatorNeedsNoKeyAndSeesNoKeyOrEvidence() throws {
        let ids = try (0..<3).map { try put($0) }
        let dpo = try token("dpo1", role: "dpo"), dsl = try token("dsl1", role: "dsl")
        let masterKeyBytes = try Data(contentsOf: URL(fileURLWithPath: dir + "/store/keys/master.key"))
        let keyEncodings = [masterKeyBytes.suffix(32).base64EncodedString(), masterKeyBytes.suffix(32).map { String(format: "%02x", $0) }.joined()]

        // The master key is away with the DPO: nothing the operator runs can read it.
        let held = dir + "/held-by-dpo.key"
        try FileManager.default.moveItem(atPath: dir + "/store/keys/master.key", toPath: held)
        var seen = ""
        func op(_ args: [String], expect status: Int32 = 0) throws -> CLI.Result {
            let r = try cli.run(args)
            XCTAssertEqual(r.status, status, "\(args): \(r.stderr)")
            seen += r.stdout + r.stderr
            return r
        }
        let keygen = try op(["backup", "keygen", "-o", dir + "/op.key"])
        XCTAssertEqual(keygen.stdout.trimmingCharacters(in: .whitespacesAndNewlines).count, 56, "a minisign public key")
        let first = try op(["backup", "create", "--to", dir + "/backup", "--signing-key", dir + "/op.key", "--json"])
        XCTAssertEqual((first.json as? [String: Any])?["blobsCopied"] as? Int, 3)
        let second = try op(["backup", "create", "--to", dir + "/backup", "--signing-key", dir + "/op.key", "--json"])
        XCTAssertEqual((second.json as? [String: Any])?["blobsCopied"] as? Int, 0)
        let snapshot = try XCTUnwrap((second.json as? [String: Any])?["snapshot"] as? String)
        XCTAssertEqual(try op(["backup", "list", dir + "/backup", "--json"]).json.map { ($0 as? [Any])?.count }, 2)
        XCTAssertTrue(try op(["backup", "verify", dir + "/backup", "--public-key", dir + "/op.key.pub"]).stdout.contains("OK"))
        let deep = try op(["backup", "verify", dir + "/backup", "--public-key", dir + "/op.key.pub", "--deep"], expect: 77)
        XCTAssertTrue(deep.stderr.contains("master key"), deep.stderr)
        XCTAssertTrue(try op(["backup", "prune", dir + "/backup", "--keep", "1"]).stdout.contains("removed 1"))

        // Stock minisign checks the manifest with the operator's public key.
        let minisign = Process()
        minisign.executableURL = URL(fileURLWithPath: "/usr/bin/minisign")
        minisign.arguments = ["-Vm", dir + "/backup/snapshots/\(snapshot)/manifest.json", "-p", dir + "/op.key.pub"]
        minisign.standardOutput = FileHandle.nullDevice
        try minisign.run()
        minisign.waitUntilExit()
        XCTAssertEqual(minisign.terminationStatus, 0, "minisign verifies the manifest (Scripts/setup.sh --test installs it)")

        // A shred after the backup, then the restore with keys and ledger, still keyless.
        let request = try cli.run(["shred", "request", "--school", "S1", "--record", ids[0], "--reason", "erasure"], env: ["STRONGROOM_TOKEN": dpo])
        XCTAssertEqual(request.status, 77, "a shred needs the master key, which is away: \(request.stderr)")
        try FileManager.default.moveItem(atPath: held, toPath: dir + "/store/keys/master.key")
        let requested = try cli.run(["shred", "request", "--school", "S1", "--record", ids[0], "--reason", "erasure"], env: ["STRONGROOM_TOKEN": dpo])
        XCTAssertEqual(try cli.run(["shred", "approve", requested.stdout.trimmingCharacters(in: .whitespacesAndNewlines)], env: ["STRONGROOM_TOKEN": dsl]).status, 0)
        try FileManager.default.moveItem(atPath: dir + "/store/keys/master.key", toPath: held)

        let keys = try op(["keys", "backup", "--to", dir + "/keybackups", "--json"])
        let keyFolder = try XCTUnwrap((keys.json as? [String: Any])?["folder"] as? String)
        _ = try op(["ledger", "export", "-o", dir + "/ledger.jsonl"])
        let restored = try op(["restore", dir + "/backup", "--to", dir + "/restored", "--public-key", dir + "/op.key.pub",
                               "--keys", keyFolder, "--ledger", dir + "/ledger.jsonl", "--json"])
        XCTAssertEqual((restored.json as? [String: Any])?["reshredded"] as? [String], [ids[0]])
        XCTAssertEqual(try op(["restore", dir + "/backup", "--to", dir + "/restored", "--public-key", dir + "/op.key.pub",
                               "--ledger", dir + "/ledger.jsonl"], expect: 73).status, 73, "never into an existing store")

        XCTAssertFalse(seen.contains(marker), "no evidence in anything the operator saw")
        for encoding in keyEncodings { XCTAssertFalse(seen.contains(encoding), "no master key in anything the operator saw") }
        for file in try FileManager.default.subpathsOfDirectory(atPath: dir + "/backup") {
            guard let data = FileManager.default.contents(atPath: dir + "/backup/" + file) else { continue }
            XCTAssertNil(data.range(of: Data(marker.utf8)), "\(file) holds plaintext")
        }

        // With the master key back, the restored store serves the records, byte for byte.
        try FileManager.default.moveItem(atPath: held, toPath: dir + "/store/keys/master.key")
        let restoredCLI = CLI(store: dir + "/restored", environment: ["STRONGROOM_MASTER_KEY": dir + "/store/keys/master.key"])
        let got = try restoredCLI.run(["get", ids[1], "-o", dir + "/out.txt"])
        XCTAssertEqual(got.status, 0, got.stderr)
        XCTAssertEqual(try String(contentsOfFile: dir + "/out.txt", encoding: .utf8), "\(marker), note 1.\n")
        XCTAssertEqual(try restoredCLI.run(["get", ids[0], "-o", dir + "/gone.txt"]).status, 66, "the shredded record is gone")
        XCTAssertEqual(try restoredCLI.run(["verify"]).status, 0)
        XCTAssertEqual(try restoredCLI.run(["audit", "verify"]).status, 0)
        let deepNow = try cli.run(["backup", "verify", dir + "/backup", "--public-key", dir + "/op.key.pub", "--deep", "--json"])
        XCTAssertEqual(deepNow.status, 0, deepNow.stderr)
        XCTAssertEqual((deepNow.json as? [String: Any])?["shreddedSince"] as? [String], [ids[0]])
    }

    func testADamagedBackupFailsVerifyAndRestoreWithTheFileNamed() throws {
        let id = try put(1)
        XCTAssertEqual(try cli.run(["backup", "keygen", "-o", dir + "/op.key"]).status, 0)
        XCTAssertEqual(try cli.run(["backup", "create", "--to", dir + "/backup", "--signing-key", dir + "/op.key"]).status, 0)
        XCTAssertEqual(try cli.run(["ledger", "export", "-o", dir + "/ledger.jsonl"]).status, 0)
        let blob = "blobs/\(id.prefix(2))/\(id).blob"
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: dir + "/backup/" + blob))
        try handle.seek(toOffset: 200)
        try handle.write(contentsOf: Data([0xff]))
        try handle.close()
        let verify = try cli.run(["backup", "verify", dir + "/backup", "--public-key", dir + "/op.key.pub"])
        XCTAssertEqual(verify.status, 1)
        XCTAssertTrue(verify.stdout.contains("DAMAGED \(blob)"), verify.stdout)
        let json = try cli.run(["backup", "verify", dir + "/backup", "--public-key", dir + "/op.key.pub", "--json"])
        let problems = try XCTUnwrap((json.json as? [String: Any])?["problems"] as? [[String: Any]])
        XCTAssertEqual(problems.map { $0["path"] as? String }, [blob])
        let restore = try cli.run(["restore", dir + "/backup", "--to", dir + "/restored", "--public-key", dir + "/op.key.pub", "--ledger", dir + "/ledger.jsonl"])
        XCTAssertEqual(restore.status, 1)
        XCTAssertTrue(restore.stderr.contains(blob), restore.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/restored"))
        // Mistakes an operator makes get a message that says what to do.
        let pub = try cli.run(["backup", "create", "--to", dir + "/backup", "--signing-key", dir + "/op.key.pub"])
        XCTAssertEqual(pub.status, 65)
        XCTAssertTrue(pub.stderr.contains("is a public key"), pub.stderr)
        let file = try cli.run(["backup", "create", "--to", dir + "/ledger.jsonl", "--signing-key", dir + "/op.key"])
        XCTAssertEqual(file.status, 1)
        XCTAssertTrue(file.stderr.contains("is a file, not a folder"), file.stderr)
        // The wrong public key is refused the same way.
        XCTAssertEqual(try cli.run(["backup", "keygen", "-o", dir + "/other.key"]).status, 0)
        XCTAssertEqual(try cli.run(["backup", "verify", dir + "/backup", "--public-key", dir + "/other.key.pub"]).status, 1)
    }

    /// Someone who can write the backup folder deletes the newest snapshot and the blobs only it
    /// listed: alone, the folder still verifies; compared with the store's log (--store), the
    /// snapshot is named, verify exits 1 and restore refuses. A prune is not a deletion.
    func testVerifyAndRestoreWithTheStoreNameASnapshotDeletedFromTheFolder() throws {
        let store = dir + "/store", backup = dir + "/backup"
        XCTAssertEqual(try cli.run(["backup", "keygen", "-o", dir + "/op.key"]).status, 0)
        func create() throws -> String {
            let r = try cli.run(["backup", "create", "--to", backup, "--signing-key", dir + "/op.key", "--json"])
            XCTAssertEqual(r.status, 0, r.stderr)
            return try XCTUnwrap((r.json as? [String: Any])?["snapshot"] as? String)
        }
        let verify = ["backup", "verify", backup, "--public-key", dir + "/op.key.pub"]
        func restore(_ target: String) -> [String] {
            ["restore", backup, "--to", dir + "/" + target, "--public-key", dir + "/op.key.pub", "--ledger", dir + "/ledger.jsonl", "--store", store]
        }
        _ = try put(1)
        _ = try create()
        _ = try create()
        XCTAssertEqual(try cli.run(["backup", "prune", backup, "--keep", "1"]).status, 0)
        let second = try put(2)
        let newest = try create()
        XCTAssertEqual(try cli.run(["ledger", "export", "-o", dir + "/ledger.jsonl"]).status, 0)
        let intact = try cli.run(verify + ["--store", store])
        XCTAssertEqual(intact.status, 0, intact.stdout + intact.stderr)
        XCTAssertTrue(intact.stdout.contains("compared with the store's audit log"), intact.stdout)
        let restored = try cli.run(restore("r0"))
        XCTAssertEqual(restored.status, 0, restored.stderr)

        try FileManager.default.removeItem(atPath: backup + "/snapshots/" + newest)
        try FileManager.default.removeItem(atPath: backup + "/blobs/\(second.prefix(2))/\(second).blob")
        XCTAssertEqual(try cli.run(verify).status, 0, "alone, the folder still verifies")

        let named = try cli.run(verify + ["--store", store])
        XCTAssertEqual(named.status, 1, named.stdout + named.stderr)
        XCTAssertTrue(named.stdout.contains("MISSING snapshots/\(newest)"), named.stdout)
        XCTAssertTrue(named.stdout.contains("taken at " + newest.prefix(4) + "-"), named.stdout)
        let json = try cli.run(verify + ["--store", store, "--json"])
        let missing = try XCTUnwrap((json.json as? [String: Any])?["missingSnapshots"] as? [[String: Any]])
        XCTAssertEqual(missing.map { $0["snapshot"] as? String }, [newest])

        let refused = try cli.run(restore("r1"))
        XCTAssertEqual(refused.status, 1, refused.stderr)
        XCTAssertTrue(refused.stderr.contains(newest) && refused.stderr.contains("taken at"), refused.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/r1"))
    }

    func testARestoreKilledHalfWayLeavesNoStoreThatOpens() throws {
        let id = try put(1)
        XCTAssertEqual(try cli.run(["backup", "keygen", "-o", dir + "/op.key"]).status, 0)
        XCTAssertEqual(try cli.run(["backup", "create", "--to", dir + "/backup", "--signing-key", dir + "/op.key"]).status, 0)
        XCTAssertEqual(try cli.run(["keys", "backup", "--to", dir + "/keys"]).status, 0)
        XCTAssertEqual(try cli.run(["ledger", "export", "-o", dir + "/ledger.jsonl"]).status, 0)
        let d: String = dir
        let args: [String] = ["restore", d + "/backup", "--to", d + "/restored", "--public-key", d + "/op.key.pub"]
            + ["--keys", d + "/keys", "--ledger", d + "/ledger.jsonl"]
        for point in ["restore-copied", "restore-synced"] {
            let killed = try cli.run(args, env: ["STRONGROOM_CRASH_AT": point])
            XCTAssertTrue(killed.killedBySignal, "\(point): \(killed.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/restored"), "\(point): no store at the target")
            XCTAssertEqual(try CLI(store: dir + "/restored").run(["verify", "--no-keys"]).status, 78, "nothing there opens")
        }
        let restored = try cli.run(args)
        XCTAssertEqual(restored.status, 0, restored.stderr)
        let got = try CLI(store: dir + "/restored", environment: ["STRONGROOM_MASTER_KEY": dir + "/store/keys/master.key"]).run(["get", id, "-o", dir + "/out.txt"])
        XCTAssertEqual(got.status, 0, got.stderr)
    }

    func testSigningKeyPrintsTheVaultKeyAsAMinisignPublicKeyFileWithoutTheMasterKey() throws {
        try FileManager.default.moveItem(atPath: dir + "/store/keys/master.key", toPath: dir + "/held.key")
        let file = try cli.run(["signing-key", "--minisign"])
        XCTAssertEqual(file.status, 0, file.stderr)
        let lines = file.stdout.split(separator: "\n")
        XCTAssertEqual(lines.count, 2)
        XCTAssertTrue(lines[0].hasPrefix("untrusted comment: "))
        let line = try cli.run(["audit", "public-key"])
        XCTAssertEqual(String(lines[1]), line.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}
