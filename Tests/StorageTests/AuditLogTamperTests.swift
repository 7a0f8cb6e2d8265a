import GRDB
import XCTest
@testable import KeyManagement
@testable import Storage

final class AuditLogTamperTests: XCTestCase {
    var dir: String!
    var catalog: SQLiteCatalog!
    var signer: AuditSigner!
    var verifier: AuditVerifier!

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "audit-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let keys = try KeyStore.create(directory: dir, master: try MasterKeyFile.create(at: dir + "/master.key"))
        signer = try keys.auditSigner()
        catalog = try SQLiteCatalog.create(path: dir + "/metadata.sqlite", vaultID: keys.vaultID)
        verifier = AuditVerifier(vaultID: keys.vaultID, publicKey: signer.publicKey)
        // A vault's log begins with its init event, as `Vault.create` writes it.
        for i in 1...10 {
            try catalog.append([AuditEntry(actor: "dsl:jo", action: i == 1 ? "init" : "get", outcome: .ok, school: "S1", child: "C\(i)", record: String(repeating: "a", count: 32))],
                               signer: signer)
        }
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    /// Direct access to the database, as an attacker with the file would have: triggers dropped.
    func tamper(_ sql: String, _ arguments: StatementArguments = []) throws {
        let db = try DatabaseQueue(path: dir + "/metadata.sqlite")
        try db.write { db in
            try db.execute(sql: "DROP TRIGGER IF EXISTS audit_events_no_update; DROP TRIGGER IF EXISTS audit_events_no_delete")
            try db.execute(sql: sql, arguments: arguments)
        }
    }

    func event(_ seq: Int) throws -> AuditEvent { try catalog.events(record: nil).first { $0.sequence == seq }! }

    func report(external: Checkpoint? = nil) throws -> AuditReport { try verifier.verify(catalog, externalCheckpoint: external) }

    func testUntouchedLogVerifies() throws {
        let r = try report()
        XCTAssertTrue(r.isIntact, "\(r.problems)")
        XCTAssertEqual(r.eventCount, 10)
        XCTAssertEqual(r.unsignedTail, 0)
        // The newest stored checkpoint is the one this process signed, exactly: the next group
        // can trust it without verifying its signature again.
        XCTAssertEqual(catalog.lastSigned, try catalog.latestCheckpoint())
    }

    func testVerifierHashesStoredRowsExactlyAsTheCanonicalEncoding() throws {
        // Absent fields, empty-looking and non-ASCII values, a reason with escapes.
        try catalog.append([
            AuditEntry(actor: "dpo:ana", action: "list", outcome: .ok),
            AuditEntry(actor: "dsl:Zoë", action: "get", outcome: .denied, school: "S2", reason: "other school \u{1B}[2J"),
        ], signer: signer)
        var links: [AuditLink] = []
        try catalog.auditSnapshot { snapshot in try snapshot.forEachLink { links.append($0) } }
        let events = try catalog.events(record: nil)
        XCTAssertEqual(links.count, events.count)
        XCTAssertEqual(links, events.map(\.link))
        XCTAssertTrue(links.allSatisfy { $0.contentHash == $0.hash })
    }

    func testEditingAnyHashedColumnIsCaught() throws {
        for column in ["time_ms", "actor", "action", "outcome", "school", "child", "concern", "record", "reason", "prev_hash"] {
            try tearDownWithError()
            try setUpWithError()
            let value: DatabaseValueConvertible = column == "time_ms" ? 1 : column == "prev_hash" ? Data(repeating: 7, count: 32) : "x"
            try tamper("UPDATE audit_events SET \(column) = ? WHERE seq = 6", [value])
            let r = try report()
            XCTAssertTrue(r.problems.contains { $0.kind == .edited && $0.sequence == 6 }, "\(column): \(r.problems)")
        }
    }

    func testApplicationCannotUpdateOrDeleteEvents() throws {
        let db = try DatabaseQueue(path: dir + "/metadata.sqlite")
        XCTAssertThrowsError(try db.write { try $0.execute(sql: "UPDATE audit_events SET actor = 'x' WHERE seq = 1") })
        XCTAssertThrowsError(try db.write { try $0.execute(sql: "DELETE FROM audit_events WHERE seq = 1") })
    }

    func testEditedEventWithoutRecomputedHashIsCaught() throws {
        try tamper("UPDATE audit_events SET actor = 'someone-else' WHERE seq = 4")
        let r = try report()
        XCTAssertFalse(r.isIntact)
        XCTAssertEqual(r.firstBadSequence, 4)
        XCTAssertTrue(r.problems.contains { $0.kind == .edited && $0.sequence == 4 })
    }

    func testEditedEventWithRecomputedHashIsCaught() throws {
        var e = try event(4)
        e.actor = "someone-else"
        let newHash = e.computedHash
        try tamper("UPDATE audit_events SET actor = ?, hash = ? WHERE seq = 4", [e.actor, Data(newHash)])
        let r = try report()
        XCTAssertEqual(r.firstBadSequence, 4)
        XCTAssertTrue(r.problems.contains { $0.kind == .edited && $0.sequence == 4 }, "\(r.problems)")
        XCTAssertTrue(r.problems.contains { $0.kind == .rewritten }, "the signed checkpoints disagree too")
    }

    func testDeletedEventIsCaught() throws {
        try tamper("DELETE FROM audit_events WHERE seq = 6")
        let r = try report()
        XCTAssertEqual(r.firstBadSequence, 6)
        XCTAssertTrue(r.problems.contains { $0.kind == .deleted && $0.sequence == 6 }, "\(r.problems)")
    }

    func testInsertedEventIsCaught() throws {
        // Renumber 6...10 to make room, then insert a well-formed event that links to event 5.
        try tamper("UPDATE audit_events SET seq = seq + 100 WHERE seq >= 6")
        try tamper("UPDATE audit_events SET seq = seq - 99 WHERE seq >= 106")
        let five = try event(5)
        var forged = AuditEvent(sequence: 6, timeMillis: five.timeMillis, actor: "intruder", action: "get", outcome: "ok",
                                school: "S1", child: "C5", concern: nil, record: nil, reason: nil, previousHash: five.hash, hash: [])
        forged.hash = forged.computedHash
        try tamper("INSERT INTO audit_events (seq, time_ms, actor, action, outcome, school, child, prev_hash, hash) VALUES (6, ?, 'intruder', 'get', 'ok', 'S1', 'C5', ?, ?)",
                   [forged.timeMillis, Data(forged.previousHash), Data(forged.hash)])
        let r = try report()
        XCTAssertEqual(r.firstBadSequence, 6)
        XCTAssertTrue(r.problems.contains { $0.kind == .inserted && $0.sequence == 6 }, "\(r.problems)")
    }

    func testReorderedEventsAreCaught() throws {
        try tamper("UPDATE audit_events SET seq = 100 WHERE seq = 3")
        try tamper("UPDATE audit_events SET seq = 3 WHERE seq = 4")
        try tamper("UPDATE audit_events SET seq = 4 WHERE seq = 100")
        let r = try report()
        XCTAssertEqual(r.firstBadSequence, 3)
        XCTAssertTrue(r.problems.contains { $0.kind == .reordered && $0.sequence == 3 }, "\(r.problems)")
    }

    func testTailTruncationIsCaughtByTheTreeHeadAndByAnExternalCheckpoint() throws {
        let kept = try catalog.latestCheckpoint()!
        try tamper("DELETE FROM audit_events WHERE seq > 7")
        var r = try report()
        XCTAssertEqual(r.firstBadSequence, 8)
        XCTAssertTrue(r.problems.contains { $0.kind == .truncated })
        // An attacker who also rewinds the head and deletes the stored checkpoints is still
        // caught by the checkpoint someone kept outside the store.
        var frontier = TreeFrontier()
        for e in try catalog.events(record: nil) { frontier.append(e.hash) }
        try tamper("UPDATE audit_head SET tree_size = 7, last_hash = ?, frontier = ?", [Data(try event(7).hash), Data(frontier.serialized)])
        try tamper("DELETE FROM audit_checkpoints WHERE tree_size > 7")
        // No checkpoint is left at 7 (one per window is kept), so the gets before the cut are
        // keyed events no signature covers: caught even without an outside checkpoint.
        r = try report()
        XCTAssertFalse(r.isIntact)
        XCTAssertTrue(r.problems.contains { $0.kind == .rewritten && $0.detail.contains("can only be written with the vault key") }, "\(r.problems)")
        r = try report(external: kept)
        XCTAssertFalse(r.isIntact)
        XCTAssertEqual(r.firstBadSequence, 8)
        XCTAssertTrue(r.problems.contains { $0.kind == .truncated && $0.detail.contains("external checkpoint") })
    }

    /// Someone without the key appends a correctly chained put (or rewrites the tail and deletes
    /// the checkpoints): no signature covers it, although only a keyed process writes puts.
    /// verify says so, and no keyed process signs over it.
    func testAKeyedEventNoCheckpointCoversIsCaughtAndNeverSignedOver() throws {
        try catalog.append([AuditEntry(actor: "user:deputy.jo", action: "get", outcome: .ok, school: "S1", record: String(repeating: "c", count: 32))],
                           signer: nil)
        let r = try report()
        XCTAssertFalse(r.isIntact)
        XCTAssertEqual(r.firstBadSequence, 11)
        XCTAssertThrowsError(try catalog.append([AuditEntry(actor: "dsl:jo", action: "get", outcome: .ok)], signer: signer)) {
            guard case StorageError.auditRewritten(let why) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(why.contains("event 11"), why)
        }
        let events = try catalog.events(record: nil)
        XCTAssertEqual(events.count, 12, "the refused append left only its unsigned refusal")
        XCTAssertEqual(events.last?.action, "sign-refused")
        XCTAssertEqual(try catalog.latestCheckpoint()?.treeSize, 10, "nothing was signed over the forgery")
    }

    /// A consistent rewrite before the newest checkpoint (event 4's actor changed, every later
    /// hash and the head recomputed): verify sees the checkpoint disagree, and the next keyed
    /// append refuses to sign, so the checkpoint that proves the rewrite is never pruned.
    func testAConsistentRewriteIsNeverSignedOverNorItsCheckpointPruned() throws {
        var previous = try event(3).hash
        var frontier = TreeFrontier()
        for e in try catalog.events(record: nil) where e.sequence <= 3 { frontier.append(e.hash) }
        for seq in 4...10 {
            var e = try event(seq)
            if seq == 4 { e.actor = "dsl:innocent" }
            e.previousHash = previous
            e.hash = e.computedHash
            try tamper("UPDATE audit_events SET actor = ?, prev_hash = ?, hash = ? WHERE seq = ?", [e.actor, Data(e.previousHash), Data(e.hash), seq])
            frontier.append(e.hash)
            previous = e.hash
        }
        try tamper("UPDATE audit_head SET last_hash = ?, frontier = ?", [Data(previous), Data(frontier.serialized)])
        XCTAssertFalse(try report().isIntact)
        XCTAssertThrowsError(try catalog.append([AuditEntry(actor: "dsl:jo", action: "put", outcome: .ok)], signer: signer)) {
            guard case StorageError.auditRewritten = $0 else { return XCTFail("\($0)") }
        }
        // A fresh process, which proves the log from the newest checkpoint, refuses too.
        let fresh = try SQLiteCatalog.open(path: dir + "/metadata.sqlite", vaultID: catalog.vaultID)
        XCTAssertThrowsError(try fresh.append([AuditEntry(actor: "dsl:jo", action: "put", outcome: .ok)], signer: signer)) {
            guard case StorageError.auditRewritten(let why) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(why.contains("rewritten"), why)
        }
        fresh.close()
        XCTAssertEqual(try catalog.latestCheckpoint()?.treeSize, 10)
        XCTAssertFalse(try report().isIntact, "the rewrite is still visible")
        // A checkpoint row that is not the vault's signature is refused the same way.
        try tamper("UPDATE audit_checkpoints SET signature = zeroblob(64)")
        XCTAssertThrowsError(try catalog.append([AuditEntry(actor: "dsl:jo", action: "get", outcome: .ok)], signer: signer))
    }

    func testDeletingEveryCheckpointIsCaught() throws {
        try tamper("DELETE FROM audit_checkpoints")
        let r = try report()
        XCTAssertFalse(r.isIntact)
        XCTAssertEqual(r.firstBadSequence, 1)
    }

    /// Keyless work (a backup, gc, a restore's replay) is appended unsigned; the next keyed
    /// append signs over it.
    func testKeylessEventsWaitForTheNextSignature() throws {
        try catalog.append([AuditEntry(actor: "backup:op", action: "backup-create", outcome: .ok)], signer: nil)
        var r = try report()
        XCTAssertTrue(r.isIntact, "\(r.problems)")
        XCTAssertEqual(r.unsignedTail, 1)
        try catalog.append([AuditEntry(actor: "dsl:jo", action: "get", outcome: .ok)], signer: signer)
        r = try report()
        XCTAssertTrue(r.isIntact, "\(r.problems)")
        XCTAssertEqual(r.unsignedTail, 0)
    }

    func testEmptiedLogIsCaught() throws {
        try tamper("DELETE FROM audit_events")
        let r = try report()
        XCTAssertFalse(r.isIntact)
        XCTAssertEqual(r.firstBadSequence, 1)
        XCTAssertTrue(r.problems.contains { $0.kind == .truncated })
    }

    func testEmptiedLogWithHeadResetIsCaughtThroughRecordsWithoutPutEvents() throws {
        let record = EvidenceRecord(
            id: String(repeating: "b", count: 32), school: "S1", child: "C1", concern: "K1", kind: "minutes", filename: "x.pdf",
            declaredType: nil, sniffedType: "application/pdf", size: 1, sha256: "", ciphertextBlake2b: "", ciphertextSize: 1,
            createdAtMillis: 0, createdBy: "dsl", kekID: "k", wrappedDEK: Data([1]))
        try catalog.commitRecord(record, event: AuditEntry(actor: "dsl", action: "put", outcome: .ok, record: record.id), signer: signer)
        try tamper("DELETE FROM audit_events")
        try tamper("DELETE FROM audit_checkpoints")
        try tamper("UPDATE audit_head SET tree_size = 0, last_hash = ?, frontier = ?",
                   [Data(AuditEvent.genesisHash(vaultID: catalog.vaultID)), Data(TreeFrontier().serialized)])
        let r = try report()
        XCTAssertFalse(r.isIntact)
        XCTAssertTrue(r.problems.contains { $0.kind == .deleted && $0.detail.contains(record.id) })
    }

    func testForgedCheckpointSignatureIsCaught() throws {
        try tamper("UPDATE audit_checkpoints SET signature = zeroblob(64)")
        let r = try report()
        XCTAssertTrue(r.problems.contains { $0.kind == .forgedCheckpoint })
    }

    func testCheckpointVerifiesOnlyUnderTheVaultsKey() throws {
        let checkpoint = try catalog.latestCheckpoint()!
        XCTAssertTrue(checkpoint.verifySignature(publicKey: signer.publicKey))
        let stranger = try AuditSigner.generate()
        XCTAssertFalse(checkpoint.verifySignature(publicKey: stranger.publicKey))
        let strangerVerifier = AuditVerifier(vaultID: catalog.vaultID, publicKey: stranger.publicKey)
        XCTAssertTrue(try strangerVerifier.verify(catalog).problems.contains { $0.kind == .forgedCheckpoint })
    }

    func testCheckpointFromAnotherVaultIsRejected() throws {
        var checkpoint = try catalog.latestCheckpoint()!
        checkpoint.vaultID = "another-vault"
        XCTAssertTrue(try report(external: checkpoint).problems.contains { $0.kind == .forgedCheckpoint })
    }

    func testControlCharactersInLoggedValuesAreEscaped() throws {
        try catalog.append([AuditEntry(actor: "evil\n2 fake-event\u{1b}[2J", action: "get", outcome: .ok, reason: "a\u{7}b")], signer: signer)
        let last = try catalog.events(record: nil).last!
        XCTAssertFalse(last.actor.unicodeScalars.contains { $0.value < 0x20 })
        XCTAssertTrue(last.actor.contains("\\u{A}"))
        XCTAssertEqual(last.reason, "a\\u{7}b")
        XCTAssertTrue(try report().isIntact)
    }

    func testCheckpointsAreThinnedToOnePerWindow() throws {
        let stored = try catalog.events(record: nil).count
        XCTAssertEqual(stored, 10)
        var count = 0
        try catalog.auditSnapshot { count = $0.checkpoints.count }
        XCTAssertEqual(count, 1, "ten events in one window keep one checkpoint")
    }

    func testRecordRowAndItsEventCommitTogetherOrNotAtAll() throws {
        let record = EvidenceRecord(
            id: String(repeating: "c", count: 32), school: "S1", child: "C1", concern: "K1", kind: "minutes", filename: "x.pdf",
            declaredType: nil, sniffedType: "application/pdf", size: 1, sha256: "", ciphertextBlake2b: "", ciphertextSize: 1,
            createdAtMillis: 0, createdBy: "dsl", kekID: "k", wrappedDEK: Data([1]))
        try catalog.commitRecord(record, event: AuditEntry(actor: "dsl", action: "put", outcome: .ok, record: record.id), signer: signer)
        // The same id again: the row fails, so its event must not be written either.
        XCTAssertThrowsError(try catalog.commitRecord(record, event: AuditEntry(actor: "dsl", action: "put", outcome: .ok, record: record.id), signer: signer))
        XCTAssertEqual(try catalog.events(record: record.id).count, 1)
        XCTAssertTrue(try report().isIntact)
    }
}

final class DurabilityTests: XCTestCase {
    func testWriterCommitsWithSynchronousFull() throws {
        let dir = NSTemporaryDirectory() + "sync-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let catalog = try SQLiteCatalog.create(path: dir + "/m.sqlite", vaultID: "v")
        let level = try catalog.pool.writeWithoutTransaction { try Int.fetchOne($0, sql: "PRAGMA synchronous") }
        XCTAssertEqual(level, 2, "FULL: every commit is fsynced")
    }
}
