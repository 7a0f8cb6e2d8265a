import GRDB
import TestSupport
import XCTest
@testable import KeyManagement
@testable import Storage

/// Someone who can write metadata.sqlite but holds no key rewrites the audit log consistently:
/// they change, delete or insert events, recompute every later hash, the chain and the tree
/// head, optionally append a keyless event, and then wait for a keyed process to sign over it.
/// Every kind of keyed write, in the process that was running and in a fresh one, must refuse,
/// sign nothing, prune no checkpoint, and leave the rewrite visible to audit verify.
final class AuditRewriteFamilyTests: XCTestCase {
    var dir: String!
    var keys: KeyStore!
    var signer: AuditSigner!
    var catalog: SQLiteCatalog!
    let record = String(repeating: "d", count: 32)

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "rewrite-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        keys = try KeyStore.create(directory: dir, master: try MasterKeyFile.create(at: dir + "/master.key"))
        signer = try keys.auditSigner()
        catalog = try SQLiteCatalog.create(path: dir + "/metadata.sqlite", vaultID: keys.vaultID)
        try catalog.append([AuditEntry(actor: "cli:op", action: "init", outcome: .ok)], signer: signer)
        try catalog.commitRecord(record(record, child: "C1"), event: put(record, child: "C1"), signer: signer)
        for i in 1...6 {
            try catalog.append([AuditEntry(actor: "user:dsl", action: "get", outcome: .ok, school: "S1", child: "C\(i)", record: record)], signer: signer)
        }
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func record(_ id: String, child: String) -> EvidenceRecord {
        EvidenceRecord(
            id: id, school: "S1", child: child, concern: "K1", kind: "minutes", filename: "x.pdf",
            declaredType: nil, sniffedType: "application/pdf", size: 1, sha256: "", ciphertextBlake2b: "", ciphertextSize: 1,
            createdAtMillis: 0, createdBy: "user:dsl", kekID: "k", wrappedDEK: Data([1]))
    }

    func put(_ id: String, child: String) -> AuditEntry {
        AuditEntry(actor: "user:dsl", action: "put", outcome: .ok, school: "S1", child: child, concern: "K1", record: id)
    }

    // MARK: the attacker's tools (no key)

    func rewrite(_ transform: (inout [AuditEvent]) -> Void) throws {
        try AuditLogRewriter.rewrite(database: dir + "/metadata.sqlite", vaultID: keys.vaultID, transform)
    }

    /// The rewrites: moving the record to another child, deleting a get, inserting a get,
    /// deleting the last events; each with and without a keyless event appended after it.
    var rewrites: [(name: String, apply: (inout [AuditEvent]) -> Void)] {
        let moves: (inout [AuditEvent]) -> Void = { events in
            let i = events.firstIndex { $0.action == "put" }!
            events[i].child = "C9"
        }
        let deletes: (inout [AuditEvent]) -> Void = { events in events.remove(at: 3) }
        let inserts: (inout [AuditEvent]) -> Void = { events in
            var forged = events[3]
            forged.actor = "user:someone-else"
            events.insert(forged, at: 4)
        }
        let cuts: (inout [AuditEvent]) -> Void = { events in events.removeLast(2) }
        let gc = AuditLogRewriter.event(actor: "cli:op", action: "gc")
        var out: [(String, (inout [AuditEvent]) -> Void)] = []
        for (name, change) in [("move", moves), ("delete", deletes), ("insert", inserts), ("cut", cuts)] {
            out.append((name, change))
            out.append((name + "+gc", { change(&$0); $0.append(gc) }))
        }
        return out
    }

    /// The keyed writes a process makes: an event, a record with its event, a group of several.
    var keyedWrites: [(name: String, write: (SQLiteCatalog, AuditSigner) throws -> Void)] {
        [
            ("append", { c, s in try c.append([AuditEntry(actor: "cli:op", action: "list", outcome: .ok)], signer: s) }),
            ("commitRecord", { [self] c, s in
                let id = String(repeating: "e", count: 32)
                try c.commitRecord(self.record(id, child: "C2"), event: self.put(id, child: "C2"), signer: s)
            }),
            ("group", { c, s in
                try c.append([AuditEntry(actor: "cli:op", action: "verify", outcome: .ok),
                              AuditEntry(actor: "cli:op", action: "get", outcome: .ok)], signer: s)
            }),
        ]
    }

    func checkpointSizes() throws -> [Int] {
        let db = try DatabaseQueue(path: dir + "/metadata.sqlite")
        return try db.read { try Int.fetchAll($0, sql: "SELECT tree_size FROM audit_checkpoints ORDER BY tree_size") }
    }

    func testEveryConsistentRewriteIsRefusedByEveryKeyedWriteInThisAndAFreshProcess() throws {
        try tearDownWithError()
        for (rewriteName, apply) in rewrites {
            for (writeName, write) in keyedWrites {
                for fresh in [false, true] {
                    try setUpWithError()
                    defer { catalog.close(); try? tearDownWithError() }
                    let label = "\(rewriteName), then \(writeName) in a \(fresh ? "fresh" : "running") process"
                    let before = try checkpointSizes()
                    try rewrite(apply)
                    let verifier = AuditVerifier(vaultID: catalog.vaultID, publicKey: signer.publicKey)
                    XCTAssertFalse(try verifier.verify(catalog).isIntact, label)
                    let writer = fresh ? try SQLiteCatalog.open(path: dir + "/metadata.sqlite", vaultID: catalog.vaultID) : catalog!
                    // Twice: the refusal's own (unsigned) event must not make the second pass.
                    for attempt in 1...2 {
                        XCTAssertThrowsError(try write(writer, signer), "\(label), attempt \(attempt)") {
                            guard case StorageError.auditRewritten = $0 else { return XCTFail("\(label): \($0)") }
                        }
                    }
                    XCTAssertEqual(try checkpointSizes(), before, "\(label): nothing signed, nothing pruned")
                    let after = try verifier.verify(catalog)
                    XCTAssertFalse(after.isIntact, "\(label): the rewrite stays visible")
                    XCTAssertTrue(try catalog.events(record: nil).contains { $0.action == "sign-refused" && $0.outcome == "failed" },
                                  "\(label): the refusal is audited, unsigned")
                    XCTAssertThrowsError(try writer.proveAuditLog(publicKey: signer.publicKey), label)
                    if fresh { writer.close() }
                }
            }
        }
    }

    func testAnUntouchedLogIsProvedAndExtendedByAFreshProcessAndKeylessWork() throws {
        try catalog.proveAuditLog(publicKey: signer.publicKey)
        // Keyless work in between (a backup), then another keyed process, then this one again.
        try catalog.append([AuditEntry(actor: "backup:op", action: "backup-create", outcome: .ok)], signer: nil)
        let other = try SQLiteCatalog.open(path: dir + "/metadata.sqlite", vaultID: catalog.vaultID)
        try other.commitRecord(record(String(repeating: "f", count: 32), child: "C3"), event: put(String(repeating: "f", count: 32), child: "C3"), signer: signer)
        try catalog.append([AuditEntry(actor: "cli:op", action: "get", outcome: .ok)], signer: signer)
        try other.append([AuditEntry(actor: "cli:op", action: "get", outcome: .ok)], signer: signer)
        let report = try AuditVerifier(vaultID: catalog.vaultID, publicKey: signer.publicKey).verify(catalog)
        XCTAssertTrue(report.isIntact, "\(report.problems)")
        XCTAssertEqual(report.unsignedTail, 0)
        other.close()
    }

    /// A keyed event another process wrote while this one ran must be under that process's
    /// checkpoint: one forged after this process's last signature is refused.
    func testAKeyedEventForgedBehindARunningProcessIsRefused() throws {
        try catalog.append([AuditEntry(actor: "user:dsl", action: "get", outcome: .ok, record: record)], signer: nil)
        XCTAssertThrowsError(try catalog.append([AuditEntry(actor: "cli:op", action: "list", outcome: .ok)], signer: signer)) {
            guard case StorageError.auditRewritten(let why) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(why.contains("only a process with the vault key"), why)
        }
    }

    /// A store written before checkpoints kept their tree edge is proved from the first event.
    func testAStoreWhoseCheckpointsHaveNoStoredEdgeIsProvedFromTheStart() throws {
        let db = try DatabaseQueue(path: dir + "/metadata.sqlite")
        try db.write { try $0.execute(sql: "UPDATE audit_checkpoints SET frontier = NULL") }
        let fresh = try SQLiteCatalog.open(path: dir + "/metadata.sqlite", vaultID: catalog.vaultID)
        try fresh.append([AuditEntry(actor: "cli:op", action: "list", outcome: .ok)], signer: signer)
        fresh.close()
        // The same store, rewritten: proved from the start, the rewrite is met at the checkpoint.
        try rewrite { $0[2].actor = "user:nobody" }
        try db.write { try $0.execute(sql: "UPDATE audit_checkpoints SET frontier = NULL") }
        let again = try SQLiteCatalog.open(path: dir + "/metadata.sqlite", vaultID: catalog.vaultID)
        XCTAssertThrowsError(try again.append([AuditEntry(actor: "cli:op", action: "list", outcome: .ok)], signer: signer))
        again.close()
    }

    /// A stored edge that does not lead to its checkpoint's root is not a starting point.
    func testAForgedStoredEdgeIsNotTrusted() throws {
        try rewrite { $0[2].actor = "user:nobody" }
        // The attacker also writes the rewritten log's edge into the newest checkpoint row.
        let db = try DatabaseQueue(path: dir + "/metadata.sqlite")
        try db.write { db in
            let head = try Data.fetchOne(db, sql: "SELECT frontier FROM audit_head")!
            try db.execute(sql: "UPDATE audit_checkpoints SET frontier = ? WHERE tree_size = (SELECT MAX(tree_size) FROM audit_checkpoints)", arguments: [head])
        }
        let fresh = try SQLiteCatalog.open(path: dir + "/metadata.sqlite", vaultID: catalog.vaultID)
        XCTAssertThrowsError(try fresh.append([AuditEntry(actor: "cli:op", action: "list", outcome: .ok)], signer: signer))
        fresh.close()
    }

    // MARK: witness

    func testAWitnessCatchesALogCutBackWithItsCheckpoints() throws {
        let witnessPath = dir + "/witness.jsonl"
        XCTAssertTrue(FileManager.default.createFile(atPath: witnessPath, contents: nil))  // as audit witness FILE makes it
        catalog.close()
        var options = SQLiteCatalog.Options()
        options.witness = AuditWitness(path: witnessPath)
        // The attacker keeps a copy of the checkpoint row at 8 events, to put back later.
        let db = try DatabaseQueue(path: dir + "/metadata.sqlite")
        let saved = try db.read { try Row.fetchOne($0, sql: "SELECT * FROM audit_checkpoints WHERE tree_size = 8")! }
        let witnessed = try SQLiteCatalog.open(path: dir + "/metadata.sqlite", vaultID: keys.vaultID, options: options)
        try witnessed.append([AuditEntry(actor: "cli:op", action: "get", outcome: .ok)], signer: signer)
        let copied = try AuditWitness(path: witnessPath).newest(vaultID: keys.vaultID, publicKey: signer.publicKey)
        XCTAssertEqual(copied?.treeSize, 9)
        XCTAssertEqual(copied, try witnessed.latestCheckpoint())
        witnessed.close()
        // A clean cut back to the earlier signed state: events, head and checkpoints together.
        catalog = try SQLiteCatalog.open(path: dir + "/metadata.sqlite", vaultID: keys.vaultID)
        try rewrite { $0.removeLast(1) }
        try db.write { db in
            try db.execute(sql: "DELETE FROM audit_checkpoints")
            try db.execute(sql: "INSERT INTO audit_checkpoints (tree_size, root, time_ms, key_id, signature, frontier) VALUES (?, ?, ?, ?, ?, ?)",
                           arguments: [saved["tree_size"], saved["root"], saved["time_ms"], saved["key_id"], saved["signature"], saved["frontier"]])
        }
        // Without the witness nothing shows it (the documented limit)...
        let blind = try SQLiteCatalog.open(path: dir + "/metadata.sqlite", vaultID: keys.vaultID)
        XCTAssertTrue(try AuditVerifier(vaultID: keys.vaultID, publicKey: signer.publicKey).verify(blind).isIntact)
        try blind.proveAuditLog(publicKey: signer.publicKey)
        blind.close()
        // ...with it, the keyed process refuses and audit verify names the cut.
        let again = try SQLiteCatalog.open(path: dir + "/metadata.sqlite", vaultID: keys.vaultID, options: options)
        XCTAssertThrowsError(try again.append([AuditEntry(actor: "cli:op", action: "get", outcome: .ok)], signer: signer)) {
            guard case StorageError.auditRewritten(let why) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(why.contains("tail was deleted"), why)
        }
        let report = try AuditVerifier(vaultID: keys.vaultID, publicKey: signer.publicKey)
            .verify(again, witness: try AuditWitness(path: witnessPath).all(vaultID: keys.vaultID))
        XCTAssertFalse(report.isIntact)
        XCTAssertTrue(report.problems.contains { $0.detail.contains("witness") }, "\(report.problems)")
        again.close()
    }

    func testTheServerWritesTheWitnessAtMostOncePerIntervalAndTheNewestAtClose() throws {
        let witnessPath = dir + "/witness.jsonl"
        XCTAssertTrue(FileManager.default.createFile(atPath: witnessPath, contents: nil))  // as audit witness FILE makes it
        catalog.close()
        let clock = ManualClock()
        var options = SQLiteCatalog.Options()
        options.witness = AuditWitness(path: witnessPath, minimumInterval: 1, clock: { clock.now })
        let server = try SQLiteCatalog.open(path: dir + "/metadata.sqlite", vaultID: keys.vaultID, options: options)
        for _ in 1...5 { try server.append([AuditEntry(actor: "user:dsl", action: "get", outcome: .ok)], signer: signer) }
        XCTAssertEqual(try AuditWitness(path: witnessPath).all(vaultID: keys.vaultID).count, 1, "one write in the first second")
        clock.advance(1.5)
        try server.append([AuditEntry(actor: "user:dsl", action: "get", outcome: .ok)], signer: signer)
        XCTAssertEqual(try AuditWitness(path: witnessPath).all(vaultID: keys.vaultID).count, 2)
        try server.append([AuditEntry(actor: "user:dsl", action: "get", outcome: .ok)], signer: signer)
        server.close()
        let all = try AuditWitness(path: witnessPath).all(vaultID: keys.vaultID)
        XCTAssertEqual(all.count, 3, "the newest waiting one is written at close")
        XCTAssertEqual(all.last?.treeSize, 15)
        XCTAssertTrue(all.allSatisfy { $0.verifySignature(publicKey: signer.publicKey) })
    }

    func testAWitnessThatCannotBeWrittenIsReportedNotIgnored() throws {
        let witnessPath = dir + "/witness.jsonl"
        XCTAssertTrue(FileManager.default.createFile(atPath: witnessPath, contents: nil))
        catalog.close()
        let problems = ProblemLog()
        var options = SQLiteCatalog.Options()
        options.witness = AuditWitness(path: witnessPath, onProblem: { problems.add($0) })
        let c = try SQLiteCatalog.open(path: dir + "/metadata.sqlite", vaultID: keys.vaultID, options: options)
        try c.append([AuditEntry(actor: "cli:op", action: "get", outcome: .ok)], signer: signer)
        XCTAssertEqual(problems.all, [])
        // The witness replaced by a link elsewhere: never followed, and said so.
        try FileManager.default.removeItem(atPath: witnessPath)
        try FileManager.default.createSymbolicLink(atPath: witnessPath, withDestinationPath: dir + "/elsewhere")
        try c.append([AuditEntry(actor: "cli:op", action: "get", outcome: .ok)], signer: signer)
        XCTAssertEqual(problems.all.count, 1)
        XCTAssertTrue(problems.all.first?.contains("was not written") == true, "\(problems.all)")
        XCTAssertFalse(FileManager.default.fileExists(atPath: dir + "/elsewhere"))
        c.close()
    }

    func testAMissingWitnessStopsKeyedWritesWithAClearError() throws {
        catalog.close()
        var options = SQLiteCatalog.Options()
        options.witness = AuditWitness(path: dir + "/not-mounted/witness.jsonl")
        let c = try SQLiteCatalog.open(path: dir + "/metadata.sqlite", vaultID: keys.vaultID, options: options)
        XCTAssertThrowsError(try c.append([AuditEntry(actor: "cli:op", action: "get", outcome: .ok)], signer: signer)) {
            guard case StorageError.auditUnavailable(let why) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(why.contains("witness"), why)
        }
        c.close()
    }
}

final class ProblemLog: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    var all: [String] { lock.withLock { lines } }
    func add(_ line: String) { lock.withLock { lines.append(line) } }
}

final class ManualClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current = Date(timeIntervalSince1970: 1_800_000_000)
    var now: Date { lock.withLock { current } }
    func advance(_ seconds: TimeInterval) { lock.withLock { current += seconds } }
}
