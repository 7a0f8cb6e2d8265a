import Foundation
import XCTest

/// Retention, holds, shredding and the key lifecycle through the `strongroom` binary, as a DPO,
/// a DSL and an operator would use them, including kills in the middle.
final class LifecycleCLITests: XCTestCase {
    var dir: String!
    var cli: CLI!
    var dslToken: String!
    var dpoToken: String!

    override func setUpWithError() throws {
        dir = temporaryFolder("lifecycle-cli")
        cli = CLI(store: dir + "/store")
        XCTAssertEqual(try cli.run(["init"]).status, 0)
        dslToken = try addUser("dsl1", role: "dsl")
        dpoToken = try addUser("dpo1", role: "dpo")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func addUser(_ name: String, role: String) throws -> String {
        let r = try cli.run(["user", "add", name, "--api-token", "--role", role, "--school", "S1"])
        XCTAssertEqual(r.status, 0, r.stderr)
        return r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func put(_ text: String, child: String = "C1") throws -> String {
        let path = dir + "/note-\(UUID().uuidString).txt"
        try Data("A note of what the child said, written down by staff: \(text).\n".utf8).write(to: URL(fileURLWithPath: path))
        let r = try cli.run(["put", path, "--school", "S1", "--child", child, "--concern", "K1", "--kind", "disclosure", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        return try XCTUnwrap((r.json as? [String: Any])?["id"] as? String)
    }

    func run(_ args: [String], as token: String, env: [String: String] = [:]) throws -> CLI.Result {
        try cli.run(args, env: env.merging(["STRONGROOM_TOKEN": token]) { $1 })
    }

    func canGet(_ id: String) throws -> Bool { try cli.run(["get", id, "-o", dir + "/out-" + id]).status == 0 }

    func testShredThroughTheCLIWithTwoPeopleAndACertificateVerifiedWithThePublicKeyAlone() throws {
        let id = try put("to be shredded")
        let keep = try put("kept", child: "C2")
        let hold = try run(["hold", "place", "--school", "S1", "--child", "C1", "--reason", "police investigation"], as: dslToken)
        XCTAssertEqual(hold.status, 0, hold.stderr)
        let refused = try run(["shred", "request", "--school", "S1", "--record", id, "--reason", "erasure"], as: dpoToken)
        XCTAssertEqual(refused.status, 65, "a held record: \(refused.stderr)")
        XCTAssertTrue(refused.stderr.contains("legal hold"), refused.stderr)
        let holdID = hold.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(try run(["hold", "release", holdID, "--reason", "closed"], as: dslToken).status, 0)
        XCTAssertEqual(try run(["hold", "approve-release", holdID], as: dpoToken).status, 0)

        let request = try run(["shred", "request", "--school", "S1", "--record", id, "--reason", "lawful erasure", "--json"], as: dpoToken)
        XCTAssertEqual(request.status, 0, request.stderr)
        let requestID = try XCTUnwrap((request.json as? [String: Any])?["id"] as? String)
        let own = try run(["shred", "approve", requestID], as: dpoToken)
        XCTAssertEqual(own.status, 65, "the requester cannot approve: \(own.stderr)")
        XCTAssertEqual(try cli.run(["shred", "approve", requestID]).status, 78, "no token, no approval")
        XCTAssertTrue(try canGet(id))
        let certificatePath = dir + "/certificate.json"
        let approve = try run(["shred", "approve", requestID, "-o", certificatePath], as: dslToken)
        XCTAssertEqual(approve.status, 0, approve.stderr)
        XCTAssertFalse(try canGet(id))
        XCTAssertTrue(try canGet(keep))

        let publicKey = dir + "/vault.pub"
        try Data(try cli.run(["audit", "public-key"]).stdout.utf8).write(to: URL(fileURLWithPath: publicKey))
        // Verified by someone with the certificate and the public key, and no store at all.
        let elsewhere = CLI(store: dir + "/no-store-here")
        let verify = try elsewhere.run(["certificate", "verify", certificatePath, "--public-key", publicKey, "--json"])
        XCTAssertEqual(verify.status, 0, verify.stdout + verify.stderr)
        XCTAssertEqual((verify.json as? [String: Any])?["valid"] as? Bool, true)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: certificatePath))
        let at = try XCTUnwrap(String(decoding: bytes, as: UTF8.self).range(of: "lawful erasure")).lowerBound.utf16Offset(in: String(decoding: bytes, as: UTF8.self))
        bytes[at] = UInt8(ascii: "L")
        try bytes.write(to: URL(fileURLWithPath: dir + "/changed.json"))
        let changed = try elsewhere.run(["certificate", "verify", dir + "/changed.json", "--public-key", publicKey])
        XCTAssertEqual(changed.status, 1)
        XCTAssertTrue(changed.stderr.contains("INVALID"), changed.stderr)
        let stored = try run(["shred", "certificate", requestID], as: dpoToken)
        XCTAssertEqual(stored.stdoutData, try Data(contentsOf: URL(fileURLWithPath: certificatePath)))

        let verifyStore = try cli.run(["verify", "--json"])
        XCTAssertEqual(verifyStore.status, 0, verifyStore.stdout)
        XCTAssertEqual((verifyStore.json as? [String: Any])?["tombstones"] as? Int, 1)
        XCTAssertEqual(try cli.run(["audit", "verify"]).status, 0)
    }

    func testAShredKilledAtAnyStepIsFinishedOnTheNextStart() throws {
        for point in ["shred-executed", "shred-ledger-appended", "shred-ledger", "shred-blobs", "shred-keks"] {
            let id = try put("record for \(point)", child: "C-\(point)")
            let request = try run(["shred", "request", "--school", "S1", "--record", id, "--reason", "retention reviewed"], as: dpoToken)
            let requestID = request.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            let killed = try run(["shred", "approve", requestID], as: dslToken, env: ["STRONGROOM_CRASH_AT": point])
            XCTAssertTrue(killed.killedBySignal, "\(point): \(killed.status) \(killed.stderr)")
            XCTAssertFalse(try canGet(id), "\(point): the record is gone as soon as the approval committed")
            // Any start with the master key finishes the shred.
            XCTAssertEqual(try cli.run(["keys", "status"]).status, 0)
            let certificate = try run(["shred", "certificate", requestID, "-o", dir + "/\(point).json"], as: dpoToken)
            XCTAssertEqual(certificate.status, 0, "\(point): \(certificate.stderr)")
            XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/store/blobs/\(id.prefix(2))/\(id).blob"), point)
            let status = try cli.run(["keys", "status", "--json"]).json as? [String: Any]
            let keks = status?["keks"] as? [[String: Any]] ?? []
            XCTAssertEqual(keks.filter { ($0["period"] as? String) != nil && ($0["state"] as? String) == "active" && ($0["records"] as? Int) == 0 }.count, 0,
                           "\(point): the emptied period KEK was destroyed")
            let verify = try cli.run(["verify", "--json"])
            XCTAssertEqual(verify.status, 0, "\(point): \(verify.stdout)")
            // The key store's ledger head reaches the ledger's last entry, so cutting the
            // ledger back to before this shred fails closed.
            let keyStore = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/store/keys/keystore.json"))) as? [String: Any]
            let ledgerLines = try String(contentsOfFile: dir + "/store/keys/deletion-ledger.jsonl", encoding: .utf8).split(separator: "\n")
            XCTAssertEqual((keyStore?["ledgerHead"] as? [String: Any])?["seq"] as? Int, ledgerLines.count, "\(point): the ledger head was recorded")
        }
        XCTAssertEqual(try cli.run(["audit", "verify"]).status, 0)
    }

    func testRotationKilledMidwayResumesAndLeavesEveryRecordReadable() throws {
        var ids: [String] = []
        for i in 0..<12 { ids.append(try put("record \(i)", child: "C\(i % 3)")) }
        XCTAssertEqual(try cli.run(["child", "set-dob", "C1", "2012-09-01"]).status, 0)
        // The start, and two batches picked at random (six batches of two records in all).
        let points = ["rotate-keys-changed", "rotate-started"] + (1...5).shuffled().prefix(2).map { "rotate-batch#\($0)" }
        for point in points {
            let killed = try cli.run(["keys", "rotate", "--batch-size", "2"], env: ["STRONGROOM_CRASH_AT": point])
            XCTAssertTrue(killed.killedBySignal, "\(point): \(killed.stderr)")
            for id in ids { XCTAssertTrue(try canGet(id), "\(point): readable mid-rotation") }
            let status = try cli.run(["keys", "status"])
            XCTAssertTrue(status.stdout.contains("unfinished"), status.stdout)
            let resumed = try cli.run(["keys", "rotate", "--json"])
            XCTAssertEqual(resumed.status, 0, resumed.stderr)
            XCTAssertEqual((resumed.json as? [String: Any])?["resumed"] as? Bool, true, point)
            for id in ids { XCTAssertTrue(try canGet(id), "\(point): readable after resuming") }
            // Every KEK wrapping data keys is in the audit log, also those the killed run made.
            let log = try cli.run(["audit", "log", "--json"]).json as? [String: Any]
            let created = ((log?["events"] as? [[String: Any]]) ?? []).filter { $0["action"] as? String == "kek-create" }.compactMap { $0["reason"] as? String }
            let now = (try cli.run(["keys", "status", "--json"]).json as? [String: Any])?["keks"] as? [[String: Any]] ?? []
            for kek in now where (kek["state"] as? String) == "active" {
                let id = kek["id"] as? String ?? "?"
                XCTAssertTrue(created.contains { $0.hasPrefix(id + " ") }, "\(point): KEK \(id) has no kek-create event")
            }
        }
        let status = try XCTUnwrap(try cli.run(["keys", "status", "--json"]).json as? [String: Any])
        let keks = status["keks"] as? [[String: Any]] ?? []
        XCTAssertNil(status["rotationInProgressSince"])
        XCTAssertEqual(keks.filter { ($0["state"] as? String) == "retired" }.compactMap { $0["records"] as? Int }.reduce(0, +), 0,
                       "no live record is left under a retired KEK")
        let destroyed = try cli.run(["keys", "destroy-retired", "--older-than", "0", "--json"])
        XCTAssertEqual(destroyed.status, 0, destroyed.stderr)
        XCTAssertFalse(((destroyed.json as? [String: Any])?["destroyed"] as? [String] ?? []).isEmpty)
        for id in ids { XCTAssertTrue(try canGet(id)) }
        XCTAssertEqual(try cli.run(["verify"]).status, 0)
        XCTAssertEqual(try cli.run(["audit", "verify"]).status, 0)
    }

    func testRetentionDueAndDateOfBirthFromTheCLI() throws {
        let id = try put("x", child: "C7")
        XCTAssertEqual(try cli.run(["child", "set-dob", "C7", "2001-02-03"]).status, 0)
        XCTAssertEqual(try cli.run(["child", "set-dob", "C7", "2001-02-30"]).status, 65)
        let due = try cli.run(["retention", "due", "--as-of", "2026-02-03", "--json"])
        XCTAssertEqual(due.status, 0, due.stderr)
        let schools = (due.json as? [String: Any])?["schools"] as? [[String: Any]]
        XCTAssertEqual(schools?.first?["school"] as? String, "S1")
        XCTAssertEqual((schools?.first?["records"] as? [[String: Any]])?.first?["id"] as? String, id)
        XCTAssertEqual((schools?.first?["records"] as? [[String: Any]])?.first?["reviewOn"] as? String, "2026-02-03")
        let notYet = try cli.run(["retention", "due", "--as-of", "2026-02-02", "--json"])
        XCTAssertEqual(((notYet.json as? [String: Any])?["schools"] as? [Any])?.count, 0)
        XCTAssertTrue(try canGet(id), "due for review is not deleted")
    }

    func testANewMasterKeyFromTheCLI() throws {
        let id = try put("x")
        let newKey = dir + "/new.key"
        let r = try cli.run(["keys", "rotate-master", "--new-master-key", newKey])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(try cli.run(["get", id, "-o", dir + "/o"]).status, 77, "the old key opens nothing")
        XCTAssertEqual(try cli.run(["get", id, "-o", dir + "/o", "--master-key", newKey]).status, 0)
    }
}

extension LifecycleCLITests {
    /// What the backup operator takes apart from data backups: the key store (still wrapped) and
    /// the deletion ledger, with the master key file unreadable to them and never copied.
    func testKeyStoreBackupAndLedgerExportNeedNoMasterKey() throws {
        let id = try put("to be shredded")
        let request = try run(["shred", "request", "--school", "S1", "--record", id, "--reason", "erasure"], as: dpoToken)
        XCTAssertEqual(try run(["shred", "approve", request.stdout.trimmingCharacters(in: .whitespacesAndNewlines)], as: dslToken).status, 0)
        let masterKey = dir + "/store/keys/master.key"
        chmod(masterKey, 0o000)
        defer { chmod(masterKey, 0o600) }
        let backup = try cli.run(["keys", "backup", "--to", dir + "/key-backups", "--json"])
        XCTAssertEqual(backup.status, 0, backup.stderr)
        let folder = try XCTUnwrap((backup.json as? [String: Any])?["folder"] as? String)
        XCTAssertEqual(Set(try FileManager.default.contentsOfDirectory(atPath: folder)), ["keystore.json", "deletion-ledger.jsonl"])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: folder + "/keystore.json")),
                       try Data(contentsOf: URL(fileURLWithPath: dir + "/store/keys/keystore.json")))
        let export = try cli.run(["ledger", "export", "-o", dir + "/ledger.jsonl", "--json"])
        XCTAssertEqual(export.status, 0, export.stderr)
        XCTAssertEqual((export.json as? [String: Any])?["entries"] as? Int, 1)
        XCTAssertEqual(try cli.run(["ledger", "export", "-o", dir + "/ledger.jsonl"]).status, 73, "never overwrites")
        // A damaged ledger is refused, not exported.
        let ledger = dir + "/store/keys/deletion-ledger.jsonl"
        let original = try Data(contentsOf: URL(fileURLWithPath: ledger))
        try Data(String(decoding: original, as: UTF8.self).replacingOccurrences(of: id, with: String(repeating: "0", count: 32)).utf8)
            .write(to: URL(fileURLWithPath: ledger))
        XCTAssertNotEqual(try cli.run(["ledger", "export", "-o", dir + "/ledger2.jsonl"]).status, 0)
        try original.write(to: URL(fileURLWithPath: ledger))
    }

    func testBackupKeygenMakesAPrivateKeyAndPrintsItsPublicHalf() throws {
        let key = dir + "/backup.key"
        let r = try cli.run(["backup", "keygen", "-o", key])
        XCTAssertEqual(r.status, 0, r.stderr)
        let attributes = try FileManager.default.attributesOfItem(atPath: key)
        XCTAssertEqual((attributes[.posixPermissions] as? NSNumber)?.intValue, 0o600)
        let pub = try String(contentsOfFile: key + ".pub", encoding: .utf8)
        XCTAssertTrue(pub.contains(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        XCTAssertEqual(try cli.run(["backup", "keygen", "-o", key]).status, 73, "never overwrites a key")
    }
}

extension LifecycleCLITests {
    /// A name revoked and added again is a second account: `user list` shows both, each with its id.
    func testANameAddedAgainIsASecondAccountInTheUserList() throws {
        let first = try cli.run(["user", "add", "alice", "--api-token", "--role", "staff", "--school", "S1", "--json"])
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertEqual(try cli.run(["user", "revoke", "alice"]).status, 0)
        let second = try cli.run(["user", "add", "alice", "--api-token", "--role", "staff", "--school", "S1", "--json"])
        XCTAssertEqual(second.status, 0, second.stderr)
        let firstID = try XCTUnwrap((first.json as? [String: Any])?["id"] as? String)
        let secondID = try XCTUnwrap((second.json as? [String: Any])?["id"] as? String)
        XCTAssertNotEqual(firstID, secondID)
        let list = try cli.run(["user", "list", "--json"])
        XCTAssertEqual(list.status, 0, list.stderr)
        let alices = ((list.json as? [[String: Any]]) ?? []).filter { $0["name"] as? String == "alice" }
        XCTAssertEqual(alices.compactMap { $0["id"] as? String }, [firstID, secondID])
        XCTAssertEqual(alices.compactMap { $0["state"] as? String }, ["revoked", "active"])
        XCTAssertEqual(try cli.run(["user", "add", "alice", "--api-token", "--role", "staff", "--school", "S1"]).status, 73, "one active account per name")
    }
}

extension LifecycleCLITests {
    /// `hold release` asks; the hold stays until a second person runs `hold approve-release`.
    func testReleasingAHoldFromTheCLINeedsASecondPerson() throws {
        let id = try put("held")
        let placed = try run(["hold", "place", "--school", "S1", "--record", id, "--reason", "police investigation"], as: dslToken)
        XCTAssertEqual(placed.status, 0, placed.stderr)
        let holdID = placed.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let asked = try run(["hold", "release", holdID, "--reason", "investigation closed", "--json"], as: dslToken)
        XCTAssertEqual(asked.status, 0, asked.stderr)
        XCTAssertEqual((asked.json as? [String: Any])?["active"] as? Bool, true, asked.stdout)
        func activeHolds() throws -> [String] {
            ((try run(["hold", "list", "--json"], as: dpoToken).json as? [[String: Any]]) ?? []).compactMap { $0["id"] as? String }
        }
        XCTAssertEqual(try activeHolds(), [holdID], "asking releases nothing")
        let refused = try run(["shred", "request", "--school", "S1", "--record", id, "--reason", "erasure"], as: dpoToken)
        XCTAssertEqual(refused.status, 65, "still held: \(refused.stderr)")
        let own = try run(["hold", "approve-release", holdID], as: dslToken)
        XCTAssertEqual(own.status, 65, own.stderr)
        XCTAssertTrue(own.stderr.contains("second person"), own.stderr)
        let approved = try run(["hold", "approve-release", holdID, "--json"], as: dpoToken)
        XCTAssertEqual(approved.status, 0, approved.stderr)
        XCTAssertEqual((approved.json as? [String: Any])?["active"] as? Bool, false, approved.stdout)
        XCTAssertEqual(try activeHolds(), [])
        XCTAssertEqual(try run(["shred", "request", "--school", "S1", "--record", id, "--reason", "erasure"], as: dpoToken).status, 0)
        XCTAssertEqual(try cli.run(["audit", "verify"]).status, 0)
    }
}
