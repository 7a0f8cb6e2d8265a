import Foundation
import GRDB
import TestSupport
import XCTest

final class CLITests: XCTestCase {
    var dir: String!
    var cli: CLI!

    override func setUpWithError() throws {
        dir = temporaryFolder("cli")
        cli = CLI(store: dir + "/store")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func sample(_ name: String) -> String { Bundle.module.url(forResource: "Samples/" + name, withExtension: nil)!.path }

    func put(_ name: String, kind: String, extra: [String] = []) throws -> CLI.Result {
        try cli.run(["put", sample(name), "--school", "S1", "--child", "C1", "--concern", "K1", "--kind", kind, "--json"] + extra)
    }

    func testInitCreatesAPrivateStoreAndRefusesASecond() throws {
        let first = try cli.run(["init", "--json"])
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertNotNil((first.json as? [String: Any])?["publicKey"])
        let second = try cli.run(["init"])
        XCTAssertEqual(second.status, 73)
        XCTAssertTrue(second.stderr.contains("already exists"), second.stderr)
        for file in ["keys/master.key", "keys/keystore.json", "metadata.sqlite"] {
            let mode = (try FileManager.default.attributesOfItem(atPath: dir + "/store/" + file)[.posixPermissions] as! NSNumber).intValue
            XCTAssertEqual(mode & 0o077, 0, "\(file) has mode \(String(mode, radix: 8))")
        }
    }

    /// Anyone who can write to the store folder can rename keys/ or the database away: an
    /// existing world-writable folder is made private by init, and a store that became
    /// writable by others is refused, with the fix.
    func testAStoreFolderOthersCanWriteIsMadePrivateOrRefused() throws {
        XCTAssertEqual(mkdir(dir + "/store", 0o777), 0)
        XCTAssertEqual(chmod(dir + "/store", 0o777), 0)
        XCTAssertEqual(try cli.run(["init"]).status, 0)
        func mode() throws -> Int { (try FileManager.default.attributesOfItem(atPath: dir + "/store")[.posixPermissions] as! NSNumber).intValue }
        XCTAssertEqual(try mode() & 0o777, 0o700)
        XCTAssertEqual(chmod(dir + "/store", 0o775), 0)
        let refused = try cli.run(["list"])
        XCTAssertEqual(refused.status, 78, "a misconfigured store, as the help says")
        XCTAssertTrue(refused.stderr.contains("chmod 700"), refused.stderr)
        XCTAssertEqual(chmod(dir + "/store", 0o700), 0)
        XCTAssertEqual(try cli.run(["list"]).status, 0)
    }

    func testPutGetRoundTripWithJSON() throws {
        XCTAssertEqual(try cli.run(["init"]).status, 0)
        let put = try put("strategy-meeting-minutes.pdf", kind: "minutes")
        XCTAssertEqual(put.status, 0, put.stderr)
        let json = put.json as! [String: Any]
        let id = json["id"] as! String
        XCTAssertEqual(json["sniffedType"] as? String, "application/pdf")
        XCTAssertEqual(json["size"] as? Int, 1716)
        XCTAssertEqual((json["sha256"] as? String)?.count, 64)
        let out = dir + "/out.pdf"
        XCTAssertEqual(try cli.run(["get", id, "-o", out]).status, 0)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out)), try Data(contentsOf: URL(fileURLWithPath: sample("strategy-meeting-minutes.pdf"))))
        let toStdout = try cli.run(["get", id])
        XCTAssertEqual(toStdout.stdoutData, try Data(contentsOf: URL(fileURLWithPath: sample("strategy-meeting-minutes.pdf"))))
        let list = try cli.run(["list", "--json", "--child", "C1"]).json as! [String: Any]
        XCTAssertEqual((list["records"] as! [[String: Any]]).map { $0["id"] as! String }, [id])
        let show = try cli.run(["show", id, "--json"]).json as! [String: Any]
        XCTAssertEqual(show["kind"] as? String, "minutes")
        XCTAssertNil(show["wrappedDek"], "wrapped keys are not printed")
        let log = try cli.run(["audit", "log", "--record", id, "--json"]).json as! [String: Any]
        let actions = (log["events"] as! [[String: Any]]).map { $0["action"] as! String }
        XCTAssertEqual(actions, ["put", "get", "get", "show", "audit-read"], "reading a trail is itself on it")
    }

    func testRefusalNamesTheFileWhatWasFoundAndWhatIsAllowed() throws {
        XCTAssertEqual(try cli.run(["init"]).status, 0)
        let r = try put("program-disguised.pdf", kind: "minutes", extra: ["--declared-type", "application/pdf"])
        XCTAssertEqual(r.status, 65)
        XCTAssertTrue(r.stderr.contains("program-disguised.pdf"), r.stderr)
        XCTAssertTrue(r.stderr.contains("declared application/pdf"), r.stderr)
        XCTAssertTrue(r.stderr.contains("executable"), r.stderr)
        XCTAssertTrue(r.stderr.contains("PDF, DOCX, ODT, RTF, plain text"), r.stderr)
        XCTAssertEqual(r.stdout, "")
    }

    func testUnsafeMasterKeyFileIsRefused() throws {
        XCTAssertEqual(try cli.run(["init"]).status, 0)
        chmod(dir + "/store/keys/master.key", 0o644)
        let r = try cli.run(["list"])
        XCTAssertEqual(r.status, 77)
        XCTAssertTrue(r.stderr.contains("readable by group or others"), r.stderr)
    }

    func testPassphraseStoreThroughStandardInput() throws {
        let created = try cli.run(["init", "--passphrase-stdin", "--kdf-cost", "interactive"], stdin: "a long and memorable passphrase\n")
        XCTAssertEqual(created.status, 0, created.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/store/keys/master.key"))
        XCTAssertEqual(try cli.run(["list", "--passphrase-stdin"], stdin: "a long and memorable passphrase\n").status, 0)
        let wrong = try cli.run(["list", "--passphrase-stdin"], stdin: "a long and memorable passphrasE\n")
        XCTAssertEqual(wrong.status, 77)
        XCTAssertTrue(wrong.stderr.contains("does not open"), wrong.stderr)
        let noPhrase = try cli.run(["list"])
        XCTAssertEqual(noPhrase.status, 78)
        XCTAssertTrue(noPhrase.stderr.contains("--passphrase-stdin"), noPhrase.stderr)
    }

    /// `get -o FILE` replaces FILE only with a whole, checked record, as a new 0600 file: a get
    /// that fails leaves what was there before (it once truncated and deleted it).
    func testAFailedGetLeavesTheOutputFileAsItWasAndASuccessfulOneIsPrivate() throws {
        XCTAssertEqual(try cli.run(["init"]).status, 0)
        let id = (try put("strategy-meeting-minutes.pdf", kind: "minutes").json as! [String: Any])["id"] as! String
        let out = dir + "/precious.txt"
        try Data("precious\n".utf8).write(to: URL(fileURLWithPath: out))
        XCTAssertEqual(chmod(out, 0o644), 0)
        XCTAssertEqual(try cli.run(["get", String(repeating: "a", count: 32), "-o", out]).status, 66)
        XCTAssertEqual(try cli.run(["get", "not-an-id", "-o", out]).status, 65)
        XCTAssertEqual(try String(contentsOfFile: out, encoding: .utf8), "precious\n")
        XCTAssertEqual(try cli.run(["get", id, "-o", out]).status, 0)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out)), try Data(contentsOf: URL(fileURLWithPath: sample("strategy-meeting-minutes.pdf"))))
        let mode = (try FileManager.default.attributesOfItem(atPath: out)[.posixPermissions] as! NSNumber).intValue
        XCTAssertEqual(mode & 0o777, 0o600)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix(".strongroom-") }, [], "no temporary file left")
    }

    /// Every command that writes a file a person names refuses a symlink there (even a dangling
    /// one) and anything that is not a regular file (a FIFO, a device, a folder) with exit 73,
    /// and leaves it, and whatever it points to, exactly as it was. Run as root, following or
    /// replacing such a path would let whoever planted it choose what is overwritten.
    func testOutputPathsThatAreSymlinksOrNotRegularFilesAreRefusedAndLeftAlone() throws {
        XCTAssertEqual(try cli.run(["init"]).status, 0)
        func addUser(_ name: String, _ role: String) throws -> [String: String] {
            let r = try cli.run(["user", "add", name, "--api-token", "--role", role, "--school", "S1"])
            XCTAssertEqual(r.status, 0, r.stderr)
            return ["STRONGROOM_TOKEN": r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)]
        }
        let jo = try addUser("jo", "dsl"), dee = try addUser("dee", "deputy"), pat = try addUser("pat", "dpo")
        let id = (try put("strategy-meeting-minutes.pdf", kind: "minutes").json as! [String: Any])["id"] as! String
        let note = dir + "/note.txt"
        try Data("Written down on the day.\n".utf8).write(to: URL(fileURLWithPath: note))
        let doomed = try cli.run(["put", note, "--school", "S1", "--child", "C2", "--concern", "K1", "--kind", "disclosure", "--json"])
        let doomedID = try XCTUnwrap((doomed.json as? [String: Any])?["id"] as? String)
        let request = try cli.run(["shred", "request", "--school", "S1", "--record", doomedID, "--reason", "erasure", "--json"], env: pat)
        let requestID = try XCTUnwrap((request.json as? [String: Any])?["id"] as? String)
        XCTAssertEqual(try cli.run(["shred", "approve", requestID], env: jo).status, 0)
        let agency = try StockAge.keygen(in: dir, name: "agency")
        XCTAssertEqual(try cli.run(["recipient", "add", "CSC", "--school", "S1", "--age-recipient", agency.recipient]).status, 0)
        let items = dir + "/items.json"
        try Data(#"[{"record":"\#(id)","mode":"original"}]"#.utf8).write(to: URL(fileURLWithPath: items))
        let created = try cli.run(["bundle", "create", "--school", "S1", "--recipient", "CSC", "--reason", "Referral", "--items", items], env: jo)
        XCTAssertEqual(created.status, 0, created.stderr)
        let bundle = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        XCTAssertEqual(try cli.run(["bundle", "approve", bundle], env: dee).status, 0)

        // What sits where the output is asked for.
        let target = dir + "/target.txt", link = dir + "/link", dangling = dir + "/dangling"
        let fifo = dir + "/fifo", folder = dir + "/folder"
        try Data("the link's target\n".utf8).write(to: URL(fileURLWithPath: target))
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: target)
        try FileManager.default.createSymbolicLink(atPath: dangling, withDestinationPath: dir + "/nowhere")
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        // A device of the test's own (a null device, 1:3, where mknod is allowed): never the system's
        // /dev/null, which a command that replaces its output would replace for everyone.
        let device = dir + "/null-device"
        let places = [link, dangling, fifo, folder] + (mknod(device, S_IFCHR | 0o666, dev_t(1 << 8 | 3)) == 0 ? [device] : [])
        // A reader on the FIFO, so that a writer that wrongly opens it does not block.
        let reader = open(fifo, O_RDONLY | O_NONBLOCK)
        XCTAssertGreaterThanOrEqual(reader, 0)
        defer { close(reader) }

        let writers: [(args: [String], env: [String: String])] = [
            (["get", id, "-o"], [:]), (["audit", "checkpoint", "-o"], [:]), (["audit", "public-key", "-o"], [:]),
            (["shred", "certificate", requestID, "-o"], pat), (["bundle", "export", bundle, "-o"], jo),
            (["ledger", "export", "-o"], [:]), (["backup", "keygen", "-o"], [:]),
        ]
        for writer in writers {
            for place in places {
                let r = try cli.run(writer.args + [place], env: writer.env)
                XCTAssertEqual(r.status, 73, "\(writer.args.prefix(2)) -o \(place): \(r.stdout) \(r.stderr)")
                XCTAssertTrue(r.stderr.contains(place) && r.stderr.contains("refusing"), "\(writer.args.prefix(2)) -o \(place): \(r.stderr)")
            }
        }
        for (folderArgument, what) in [(dir + "/folder-link", "a symlink to a folder"), (target, "a file")] {
            if what.hasPrefix("a symlink") { try FileManager.default.createSymbolicLink(atPath: folderArgument, withDestinationPath: folder) }
            let r = try cli.run(["keys", "backup", "--to", folderArgument])
            XCTAssertEqual(r.status, 73, "keys backup --to \(what): \(r.stderr)")
        }

        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: link), target)
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: dangling), dir + "/nowhere")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/nowhere"), "nothing written through the dangling link")
        XCTAssertEqual(try String(contentsOfFile: target, encoding: .utf8), "the link's target\n")
        var info = stat()
        XCTAssertEqual(lstat(fifo, &info), 0)
        XCTAssertEqual(info.st_mode & S_IFMT, S_IFIFO)
        var byte: UInt8 = 0
        XCTAssertLessThanOrEqual(read(reader, &byte, 1), 0, "nothing was written into the FIFO")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: folder), [], "nothing written into the folder")
        if places.contains(device) {
            XCTAssertEqual(lstat(device, &info), 0)
            XCTAssertEqual(info.st_mode & S_IFMT, S_IFCHR, "the device is still a device")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasPrefix(".") || $0.contains(".tmp-") }, [], "no temporary file left")

        // A new name, or a regular file where the command replaces one, is still written.
        XCTAssertEqual(try cli.run(["get", id, "-o", target]).status, 0)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: target)), try Data(contentsOf: URL(fileURLWithPath: sample("strategy-meeting-minutes.pdf"))))
        XCTAssertEqual(try cli.run(["shred", "certificate", requestID, "-o", dir + "/certificate.json"], env: pat).status, 0)
        XCTAssertEqual(try cli.run(["bundle", "export", bundle, "-o", dir + "/bundle.age"], env: jo).status, 0)
        XCTAssertEqual(try cli.run(["bundle", "export", bundle, "-o", dir + "/bundle.age"], env: jo).status, 73, "never over an existing file")
        XCTAssertEqual(try cli.run(["keys", "backup", "--to", dir + "/keys"]).status, 0)
    }

    func testMissingStoreAndMissingRecordHaveTheirOwnExitCodes() throws {
        XCTAssertEqual(try cli.run(["list"]).status, 78)
        XCTAssertEqual(try cli.run(["init"]).status, 0)
        XCTAssertEqual(try cli.run(["get", String(repeating: "a", count: 32)]).status, 66)
        XCTAssertEqual(try cli.run(["get", "not-an-id"]).status, 65)
        XCTAssertEqual(try cli.run(["put", dir + "/nope.pdf", "--school", "S1", "--child", "C1", "--concern", "K1", "--kind", "minutes"]).status, 66)
    }

    func testAuditVerifyWithOnlyThePublicKeyAndAKeptCheckpoint() throws {
        XCTAssertEqual(try cli.run(["init"]).status, 0)
        XCTAssertEqual(try put("disclosure-note.txt", kind: "disclosure").status, 0)
        XCTAssertEqual(try cli.run(["audit", "public-key", "-o", dir + "/vault.pub"]).status, 0)
        XCTAssertEqual(try cli.run(["audit", "checkpoint", "-o", dir + "/kept.json"]).status, 0)
        // The verifier holds no secret: move the master key away.
        try FileManager.default.moveItem(atPath: dir + "/store/keys/master.key", toPath: dir + "/master.key")
        let ok = try cli.run(["audit", "verify", "--public-key", dir + "/vault.pub", "--checkpoint", dir + "/kept.json", "--json"])
        XCTAssertEqual(ok.status, 0, ok.stdout)
        XCTAssertEqual((ok.json as? [String: Any])?["intact"] as? Bool, true)
        let db = try DatabaseQueue(path: dir + "/store/metadata.sqlite")
        try db.write { try $0.execute(sql: "DROP TRIGGER audit_events_no_update; UPDATE audit_events SET actor = 'nobody' WHERE seq = 2") }
        let bad = try cli.run(["audit", "verify", "--public-key", dir + "/vault.pub", "--checkpoint", dir + "/kept.json", "--json"])
        XCTAssertEqual(bad.status, 1)
        XCTAssertEqual((bad.json as? [String: Any])?["firstBadSeq"] as? Int, 2)
        let text = try cli.run(["audit", "verify"])
        XCTAssertTrue(text.stdout.contains("first bad sequence number 2"), text.stdout)
        // A key from another vault does not vouch for this one.
        let other = CLI(store: dir + "/other")
        XCTAssertEqual(try other.run(["init"]).status, 0)
        XCTAssertEqual(try other.run(["audit", "public-key", "-o", dir + "/other.pub"]).status, 0)
        try FileManager.default.moveItem(atPath: dir + "/master.key", toPath: dir + "/store/keys/master.key")
        XCTAssertEqual(try cli.run(["audit", "verify", "--public-key", dir + "/other.pub"]).status, 1)
    }

    func testVerifyWithoutKeysRunsWithTheMasterKeyUnreadable() throws {
        XCTAssertEqual(try cli.run(["init"]).status, 0)
        XCTAssertEqual(try put("body-map-front.png", kind: "body-map").status, 0)
        try FileManager.default.moveItem(atPath: dir + "/store/keys/master.key", toPath: dir + "/master.key")
        let r = try cli.run(["verify", "--no-keys", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual((r.json as? [String: Any])?["authenticated"] as? Bool, false)
        let withKeys = try cli.run(["verify"])
        XCTAssertEqual(withKeys.status, 77, "with keys it needs the master key")
        XCTAssertTrue(withKeys.stderr.contains("master.key"), withKeys.stderr)
    }
}

/// The outside review's attack, end to end through the CLI: someone who can write
/// metadata.sqlite but holds no key moves a record to another child, rewrites its signed put
/// event to match, recomputes the chain and head, and appends a keyless event. The operator's
/// routine commands must then refuse, not sign over it, and every check must keep saying so.
final class AuditRewriteCLITests: XCTestCase {
    var dir: String!
    var cli: CLI!

    override func setUpWithError() throws {
        dir = temporaryFolder("rewrite-cli")
        cli = CLI(store: dir + "/store")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func sample(_ name: String) -> String { Bundle.module.url(forResource: "Samples/" + name, withExtension: nil)!.path }

    func put() throws -> String {
        let r = try cli.run(["put", sample("disclosure-note.txt"), "--school", "S1", "--child", "C1", "--concern", "K1", "--kind", "disclosure", "--json"])
        XCTAssertEqual(r.status, 0, r.stderr)
        return (r.json as? [String: Any])?["id"] as? String ?? ""
    }

    func vaultID() throws -> String {
        let file = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/store/keys/keystore.json"))) as? [String: Any]
        return file?["vaultID"] as? String ?? ""
    }

    func moveRecordToAnotherChild(_ id: String, appending keyless: Bool) throws {
        let db = try DatabaseQueue(path: dir + "/store/metadata.sqlite")
        try db.write { try $0.execute(sql: "UPDATE records SET child = 'C2' WHERE id = ?", arguments: [id]) }
        try AuditLogRewriter.rewrite(database: dir + "/store/metadata.sqlite", vaultID: try vaultID()) { events in
            for i in events.indices where events[i].action == "put" && events[i].record == id { events[i].child = "C2" }
            if keyless { events.append(AuditLogRewriter.event(actor: "cli:op", action: "gc")) }
        }
    }

    func testRoutineCommandsAfterAKeylessRewriteRefuseAndTheRewriteStaysVisible() throws {
        for keyless in [true, false] {
            try? FileManager.default.removeItem(atPath: dir + "/store")
            XCTAssertEqual(try cli.run(["init"]).status, 0)
            let id = try put()
            _ = try put()
            try moveRecordToAnotherChild(id, appending: keyless)
            XCTAssertEqual(try cli.run(["audit", "verify"]).status, 1)
            // The routine commands of the report, twice each: none may bless the rewrite.
            for _ in 1...2 {
                let verify = try cli.run(["verify"])
                XCTAssertEqual(verify.status, 1, verify.stdout + verify.stderr)
                XCTAssertTrue(verify.stdout.contains("audit log:"), verify.stdout)
                XCTAssertEqual(try cli.run(["verify", "--no-keys"]).status, 1)
                let list = try cli.run(["list"])
                XCTAssertEqual(list.status, 69, list.stderr)
                XCTAssertTrue(list.stderr.contains("rewritten"), list.stderr)
                XCTAssertFalse(list.stdout.contains(id), "nothing is listed without its audit event")
                XCTAssertEqual(try cli.run(["put", sample("disclosure-note.txt"), "--school", "S1", "--child", "C1", "--concern", "K1", "--kind", "disclosure"]).status, 69)
                XCTAssertEqual(try cli.run(["get", id, "-o", dir + "/out.txt"]).status, 69)
                XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/out.txt"))
                XCTAssertEqual(try cli.run(["gc"]).status, 69, "gc decides nothing is an orphan on a log that fails its proof")
            }
            let audit = try cli.run(["audit", "verify", "--json"])
            XCTAssertEqual(audit.status, 1, "the rewrite is still visible")
            XCTAssertEqual((audit.json as? [String: Any])?["intact"] as? Bool, false)
        }
    }

    /// The log emptied together with every record row and checkpoint: never a signed state, so
    /// nothing signs over it, and gc does not take the evidence for orphans.
    func testAnEmptiedLogIsNeverSignedOverAndGcKeepsTheEvidence() throws {
        XCTAssertEqual(try cli.run(["init"]).status, 0)
        for _ in 1...3 { _ = try put() }
        try AuditLogRewriter.rewrite(database: dir + "/store/metadata.sqlite", vaultID: try vaultID()) { $0.removeAll() }
        let db = try DatabaseQueue(path: dir + "/store/metadata.sqlite")
        try db.write { try $0.execute(sql: "DELETE FROM audit_checkpoints; DELETE FROM records") }
        let blobs = { () -> Int in
            (FileManager.default.enumerator(atPath: self.dir + "/store/blobs")?.allObjects as? [String] ?? []).filter { $0.hasSuffix(".blob") }.count
        }
        XCTAssertEqual(blobs(), 3)
        XCTAssertEqual(try cli.run(["verify"]).status, 1)
        XCTAssertEqual(try cli.run(["verify", "--no-keys"]).status, 1)
        XCTAssertEqual(try cli.run(["put", sample("disclosure-note.txt"), "--school", "S1", "--child", "C1", "--concern", "K1", "--kind", "disclosure"]).status, 69)
        XCTAssertEqual(try cli.run(["gc"]).status, 69)
        XCTAssertEqual(blobs(), 3, "the evidence is still there")
        XCTAssertEqual(try cli.run(["audit", "verify"]).status, 1)
    }

    func testAWitnessOutsideTheStoreCatchesARollbackToAnOlderCopy() throws {
        XCTAssertEqual(try cli.run(["init"]).status, 0)
        let elsewhere = temporaryFolder("witness")
        defer { try? FileManager.default.removeItem(atPath: elsewhere) }
        let witness = elsewhere + "/strongroom.witness"
        let set = try cli.run(["audit", "witness", witness])
        XCTAssertEqual(set.status, 0, set.stderr)
        XCTAssertTrue(set.stdout.contains("same file system"), "the test folders share a disk: " + set.stdout)
        XCTAssertEqual(try cli.run(["audit", "witness", dir + "/store/w"]).status, 65, "a witness inside the store is refused")
        _ = try put()
        // An older copy of the database, taken now, and one more record after it.
        try FileManager.default.copyItem(atPath: dir + "/store/metadata.sqlite", toPath: dir + "/old.sqlite")
        _ = try put()
        XCTAssertEqual(try cli.run(["audit", "verify"]).status, 0)
        // The older copy put back: it is consistent in itself, and signed.
        try FileManager.default.removeItem(atPath: dir + "/store/metadata.sqlite")
        try? FileManager.default.removeItem(atPath: dir + "/store/metadata.sqlite-wal")
        try? FileManager.default.removeItem(atPath: dir + "/store/metadata.sqlite-shm")
        try FileManager.default.copyItem(atPath: dir + "/old.sqlite", toPath: dir + "/store/metadata.sqlite")
        let audit = try cli.run(["audit", "verify"])
        XCTAssertEqual(audit.status, 1, audit.stdout)
        XCTAssertTrue(audit.stdout.contains("witness"), audit.stdout)
        let list = try cli.run(["list"])
        XCTAssertEqual(list.status, 69, list.stderr)
        XCTAssertTrue(list.stderr.contains("older copy"), list.stderr)
        // A witness that cannot be read is an error, never a pass.
        XCTAssertEqual(try cli.run(["audit", "verify", "--witness", dir + "/none"]).status, 69)
    }

    /// The setting is signed in the key store: whoever can write the store can neither turn the
    /// witness off nor point it at another file. Named in the environment, it also holds against
    /// older copies of keys/ and the database put back together.
    func testTheWitnessCannotBeTurnedOffOrMovedWithoutTheKey() throws {
        XCTAssertEqual(try cli.run(["init"]).status, 0)
        let elsewhere = temporaryFolder("witness")
        defer { try? FileManager.default.removeItem(atPath: elsewhere) }
        try FileManager.default.copyItem(atPath: dir + "/store", toPath: dir + "/before-witness")
        let witness = elsewhere + "/strongroom.witness"
        XCTAssertEqual(try cli.run(["audit", "witness", witness]).status, 0)
        _ = try put()
        let keyStore = dir + "/store/keys/keystore.json"
        let original = try Data(contentsOf: URL(fileURLWithPath: keyStore))
        for change in ["removed", "moved"] {
            var json = try JSONSerialization.jsonObject(with: original) as! [String: Any]
            if change == "removed" { json["auditWitness"] = nil } else {
                var setting = json["auditWitness"] as! [String: Any]
                setting["path"] = elsewhere + "/empty.witness"
                json["auditWitness"] = setting
            }
            try JSONSerialization.data(withJSONObject: json).write(to: URL(fileURLWithPath: keyStore))
            for args in [["list"], ["audit", "verify"]] {
                let r = try cli.run(args)
                XCTAssertEqual(r.status, 77, "\(change): \(args)")
                XCTAssertTrue(r.stderr.contains("tampered"), "\(change): " + r.stderr)
            }
        }
        try original.write(to: URL(fileURLWithPath: keyStore))
        XCTAssertEqual(try cli.run(["list"]).status, 0)
        XCTAssertEqual(try cli.run(["audit", "witness", "--off"]).status, 0, "the operator, with the key, can")
        XCTAssertEqual(try cli.run(["audit", "witness"]).stdout, "no audit witness is set\n")
        XCTAssertEqual(try cli.run(["audit", "witness", witness]).status, 0)
        // keys/ and the database put back together from before the witness was set.
        try FileManager.default.removeItem(atPath: dir + "/store")
        try FileManager.default.copyItem(atPath: dir + "/before-witness", toPath: dir + "/store")
        XCTAssertEqual(try cli.run(["list"]).status, 0, "without anything outside the store, this is the documented limit")
        let outside = try cli.run(["list"], env: ["STRONGROOM_AUDIT_WITNESS": witness])
        XCTAssertEqual(outside.status, 69, outside.stderr)
        XCTAssertEqual(try cli.run(["audit", "verify"], env: ["STRONGROOM_AUDIT_WITNESS": witness]).status, 1)
    }
}
