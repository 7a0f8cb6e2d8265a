import Foundation
import KeyManagement
@testable import Storage
import TestSupport
import XCTest
@testable import Vault

/// Moving an embedded store into PostgreSQL and the object store (`migrate`), and backups of a
/// store kept there, restored into a new database and bucket. Against the real servers.
final class StoreMigrationTests: XCTestCase {
    var targets: [SharedTarget] = []

    override func tearDown() {
        for target in targets { target.remove() }
        targets = []
    }

    func target() throws -> SharedTarget {
        let target = try SharedTarget()
        targets.append(target)
        return target
    }

    func text(_ n: Int) -> [UInt8] { Array("Record \(n): she said her stepfather hit her with a belt.\n".utf8) }

    func get(_ id: String, from vault: Vault) throws -> [UInt8] {
        var out: [UInt8] = []
        try vault.get(id: id, by: .operator("dsl:jo")) { out += $0 }
        return out
    }

    func put(_ bytes: [UInt8], child: String = "C1", into vault: Vault) throws -> EvidenceRecord {
        let session = try vault.beginPut(PutRequest(school: "S1", child: child, concern: "K1", kind: "disclosure", filename: "note.txt"), by: .operator("dsl:jo"))
        try bytes.withUnsafeBytes { try session.write($0) }
        return try session.finish()
    }

    func shred(_ record: EvidenceRecord, in vault: Vault, dpo: Principal, dsl: Principal) throws {
        let request = try vault.lifecycle.requestShred(school: "S1", records: [record.id], reason: "lawful erasure", by: .integration(dpo))
        _ = try vault.lifecycle.approveShred(id: request.id, by: .integration(dsl))
    }

    /// Two integration accounts, returned with the DSL's token (to sign in on the moved store).
    func accounts(in vault: Vault) throws -> (dsl: Principal, dpo: Principal, token: String) {
        let issued = try vault.users.addIntegration(name: "dsl1", role: .dsl, schools: ["S1"], by: .operator("test"))
        let dsl = try XCTUnwrap(try vault.users.authenticate(token: issued.token))
        let other = try vault.users.addIntegration(name: "dpo1", role: .dpo, schools: ["S1"], by: .operator("test"))
        let dpo = try XCTUnwrap(try vault.users.authenticate(token: other.token))
        return (dsl, dpo, issued.token)
    }

    // MARK: migrate

    func testAMovedStoreReadsBackEveryRecordByteForByteAndVerifies() throws {
        try TestBackend.requireEmbedded("migrate moves a store kept in a folder")
        let f = try VaultFixture()
        let (dsl, dpo, token) = try accounts(in: f.vault)
        var large: [UInt8] = []  // more than one 8 MiB part: a multipart upload
        while large.count < 9 << 20 { large += text(0) }
        let records = [try put(text(1), into: f.vault), try put(large, into: f.vault), try put(text(3), child: "C2", into: f.vault)]
        let held = records[0]
        let hold = try f.vault.lifecycle.placeHold(school: "S1", scope: .record, target: held.id, reason: "police investigation", by: .integration(dpo))
        let doomed = try put(text(4), into: f.vault)
        try shred(doomed, in: f.vault, dpo: dpo, dsl: dsl)
        _ = try f.vault.bundles.addRecipient(.init(school: "S1", name: "Police", ageRecipient: nil, passphrase: true), by: .integration(dsl))
        let draft = try f.vault.bundles.createBundle(
            .init(school: "S1", recipient: "Police", reason: "Section 47 enquiry", items: [.init(record: records[2].id, mode: .asIs)]), by: .integration(dsl))
        let sourceEvents = try f.events.count
        let sourceRoot = try f.vault.audit.verify(by: .operator("test"), useKeys: false)
        XCTAssertTrue(sourceRoot.isIntact)

        let target = try target()
        let summary = try Vault.migrate(target.migration(from: f.layout, masterKey: f.layout.defaultMasterKey))
        XCTAssertEqual(summary.problems, [])
        XCTAssertEqual(summary.records, 3)
        XCTAssertEqual(summary.blobsCopied, 3)
        XCTAssertEqual(summary.ledgerEntries, 1)
        XCTAssertEqual(summary.tables["holds"], 1)
        XCTAssertEqual(summary.tables["bundles"], 1)
        XCTAssertEqual(summary.tables["bundle_items"], 1)
        XCTAssertEqual(summary.tables["tombstones"], 1)
        XCTAssertEqual(summary.tables["audit_events"], sourceEvents + 1, "every event of the source (and its verify above)")

        // Opened as any node opens it: every record byte for byte, the shredded one still gone.
        let moved = try Vault.open(at: StoreLayout(root: f.root + "/no-folder"), master: .keyFile(f.layout.defaultMasterKey), options: target.options)
        defer { moved.close() }
        for (record, bytes) in zip(records, [text(1), large, text(3)]) {
            XCTAssertEqual(try get(record.id, from: moved), bytes)
        }
        XCTAssertThrowsError(try get(doomed.id, from: moved))
        XCTAssertEqual(try target.objects.storedRecordIDs().sorted(), records.map(\.id).sorted(), "no blob of the shredded record moved")
        XCTAssertNotNil(try moved.users.authenticate(token: token), "accounts moved with their tokens")
        XCTAssertEqual(try moved.lifecycle.holds(school: "S1", by: .integration(dpo)).map(\.id), [hold.id])
        XCTAssertThrowsError(try shred(held, in: moved, dpo: dpo, dsl: dsl), "the hold still blocks a shred")
        let (bundle, items, _) = try moved.bundles.bundle(id: draft.id, by: .integration(dsl))
        XCTAssertEqual(bundle.id, draft.id)
        XCTAssertEqual(items.map(\.record), [records[2].id])
        let verified = try moved.audit.verify(by: .operator("test"), useKeys: true)
        XCTAssertTrue(verified.isIntact, "\(verified)")
        XCTAssertEqual(verified.intact, 3)
        XCTAssertEqual(verified.tombstones, 1)
        XCTAssertTrue(try moved.audit.verifyLog(by: .operator("test")).isIntact)
        let events = try moved.audit.log(record: nil, by: .operator("test"))
        let migrated = try XCTUnwrap(events.firstIndex { $0.action == "migrate" })
        XCTAssertEqual(events[migrated].actor, "test:migrate")
        XCTAssertEqual(migrated, sourceEvents + 1, "after every event of the source, in the same chain")
        // New work on the moved store carries on the same chain.
        let after = try put(text(5), into: moved)
        XCTAssertEqual(try get(after.id, from: moved), text(5))

        // The source is left as it was.
        XCTAssertFalse(try f.events.contains { $0.action == "migrate" })
        XCTAssertEqual(try get(records[1].id, from: f.vault), large)
        XCTAssertNil(try f.vault.catalog.record(id: after.id))
    }

    func testMigrateRefusesATargetThatAlreadyHoldsAStore() throws {
        try TestBackend.requireEmbedded("migrate moves a store kept in a folder")
        let first = try VaultFixture()
        _ = try put(text(1), into: first.vault)
        let second = try VaultFixture()
        _ = try put(text(2), into: second.vault)
        let occupied = try target()
        XCTAssertEqual(try Vault.migrate(occupied.migration(from: first.layout, masterKey: first.layout.defaultMasterKey)).problems, [])

        // The same database and bucket prefix, or either one alone: refused, nothing written.
        let fresh = try target()
        var sameDatabase = fresh.migration(from: second.layout, masterKey: second.layout.defaultMasterKey)
        sameDatabase.metadata = occupied.database.location
        var samePrefix = fresh.migration(from: second.layout, masterKey: second.layout.defaultMasterKey)
        samePrefix.blobs = occupied.blobs
        for request in [occupied.migration(from: second.layout, masterKey: second.layout.defaultMasterKey), sameDatabase, samePrefix] {
            XCTAssertThrowsError(try Vault.migrate(request)) {
                guard case VaultError.storeExists = $0 else { return XCTFail("\($0)") }
            }
        }
        XCTAssertNil(try PostgresCatalog.storedVaultID(location: fresh.database.location, password: fresh.database.password))
        XCTAssertEqual(try fresh.objects.storedRecordIDs(), [])
        // The occupied one still holds the first store only.
        XCTAssertEqual(try PostgresCatalog.storedVaultID(location: occupied.database.location, password: occupied.database.password), first.vault.vaultID)
    }

    func testAMoveDuringWhichTheSourceChangesIsRefused() throws {
        try TestBackend.requireEmbedded("migrate moves a store kept in a folder")
        let f = try VaultFixture()
        _ = try put(text(1), into: f.vault)
        // What a server left running could do mid-move (uploads wait for the move's store lock):
        // add a row, or change the key store alone (a KEK made for a new school; its event
        // would follow later).
        let changes: [(String, @Sendable () throws -> Void)] = [
            ("an account added", { [vault = f.vault] in
                _ = try vault.users.addIntegration(name: "late", role: .staff, schools: ["S1"], by: .operator("test")) }),
            ("a key made", { [keys = f.vault.keyStore!] in _ = try keys.kek(school: "S9", period: "2031") }),
        ]
        for (what, change) in changes {
            var request = try target().migration(from: f.layout, masterKey: f.layout.defaultMasterKey)
            request.afterCopy = change
            XCTAssertThrowsError(try Vault.migrate(request), what) {
                guard case VaultError.busy(let why) = $0 else { return XCTFail("\(what): \($0)") }
                XCTAssertTrue(why.contains("was written to during the move"), why)
            }
        }
    }

    // MARK: backups of a store on PostgreSQL and the object store

    func testABackupOfAStoreOnPostgresRestoresIntoANewDatabaseAndShredsAgain() throws {
        let home = temporaryFolder("pgbackup")
        defer { try? FileManager.default.removeItem(atPath: home) }
        let live = try target()
        let masterKey = home + "/master.key"
        let layout = StoreLayout(root: home + "/no-folder")
        let vault = try Vault.create(at: layout, master: .keyFile(masterKey), by: .operator("test:init"), options: live.options)
        defer { vault.close() }
        let (dsl, dpo, _) = try accounts(in: vault)
        var large: [UInt8] = []
        while large.count < 9 << 20 { large += text(0) }
        let kept = [try put(text(1), into: vault), try put(large, into: vault)]
        let doomed = try put(text(3), child: "C2", into: vault)
        _ = try BackupSigningKey.create(at: home + "/operator.key")
        let signer = try BackupSigningKey.open(at: home + "/operator.key")
        let backup = home + "/backup"

        let keyless = try Vault.open(at: layout, master: nil, options: live.options)
        let taken = try keyless.backups.create(to: backup, signingKey: signer, by: .operator("backup:op"))
        keyless.close()
        XCTAssertEqual(taken.records, 3)
        XCTAssertEqual(taken.blobsCopied, 3)
        XCTAssertEqual(taken.storeProblems, [])
        // The same repository as any other: it verifies with no key and no store.
        XCTAssertTrue(try Vault.verifyBackup(at: backup, publicKey: signer.publicKey).isIntact)
        // Incremental as before: a second backup copies nothing.
        let again = try Vault.open(at: layout, master: nil, options: live.options)
        XCTAssertEqual(try again.backups.create(to: backup, signingKey: signer, by: .operator("backup:op")).blobsAlreadyPresent, 3)
        again.close()

        try shred(doomed, in: vault, dpo: dpo, dsl: dsl)
        let keys = try vault.backups.backupKeyStore(to: home + "/keybackups", by: .operator("backup:op"))
        let ledger = home + "/ledger.jsonl"
        XCTAssertEqual(try vault.backups.exportLedger(to: ledger, by: .operator("backup:op")), 1)

        let restoredTarget = try target()
        let request = Vault.RestoreRequest(
            backup: backup, snapshot: nil, target: "", publicKey: signer.publicKey, keys: keys.folder, ledger: ledger, by: .operator("backup:op"))
        let (restored, moved) = try Vault.restore(request, into: restoredTarget.migration(from: layout, masterKey: masterKey))
        XCTAssertEqual(restored.reshredded, [doomed.id], "the record shredded after the backup is shredded again")
        XCTAssertEqual(moved.problems, [])
        XCTAssertEqual(moved.records, 2)
        XCTAssertFalse(FileManager.default.fileExists(atPath: restored.store), "the temporary folder is removed")

        let back = try Vault.open(at: layout, master: .keyFile(masterKey), options: restoredTarget.options)
        defer { back.close() }
        XCTAssertEqual(try get(kept[0].id, from: back), text(1))
        XCTAssertEqual(try get(kept[1].id, from: back), large)
        XCTAssertNil(try back.catalog.record(id: doomed.id))
        XCTAssertEqual(try restoredTarget.objects.storedRecordIDs().sorted(), kept.map(\.id).sorted())
        XCTAssertTrue(try back.audit.verify(by: .operator("test"), useKeys: true).isIntact)
        XCTAssertTrue(try back.audit.verifyLog(by: .operator("test")).isIntact)
        let actions = try back.audit.log(record: nil, by: .operator("test")).map(\.action)
        XCTAssertTrue(actions.contains("shred-replay") && actions.contains("restore") && actions.contains("migrate"), "\(actions.suffix(6))")

        // A target holding a store is refused before anything is read.
        XCTAssertThrowsError(try Vault.restore(request, into: restoredTarget.migration(from: layout, masterKey: masterKey))) {
            guard case VaultError.storeExists = $0 else { return XCTFail("\($0)") }
        }
    }
}
