import Foundation
import GRDB
import KeyManagement
import Storage
import TestSupport
import XCTest
@testable import Vault

/// Backups as a backup operator takes, checks and restores them, and as an attacker with the
/// backup folder would try to change them.
final class BackupTests: XCTestCase {
    var f: VaultFixture!
    var signer: AuditSigner!
    var otherSigner: AuditSigner!
    var backup: String { f.root + "/backup" }
    var dsl: Principal!
    var dpo: Principal!

    override func setUpWithError() throws {
        try TestBackend.requireEmbedded("backs up a store folder: its paths, its master key and the overlap checks (a store on PostgreSQL + S3 is backed up and restored in StoreMigrationTests)")
        f = try VaultFixture()
        dsl = try f.signIn("dsl1", .dsl, schools: ["S1", "S2"])
        dpo = try f.signIn("dpo1", .dpo, schools: ["S1", "S2"])
        _ = try BackupSigningKey.create(at: f.root + "/operator.key")
        signer = try BackupSigningKey.open(at: f.root + "/operator.key")
        _ = try BackupSigningKey.create(at: f.root + "/other.key")
        otherSigner = try BackupSigningKey.open(at: f.root + "/other.key")
    }

    func content(_ n: Int, _ school: String) -> [UInt8] { Array("Minutes of strategy meeting \(n) at \(school): actions agreed.\n".utf8) }

    @discardableResult
    func put(_ n: Int, school: String = "S1", child: String = "C1") throws -> EvidenceRecord {
        try f.put(content(n, school), kind: "minutes", school: school, child: child)
    }

    /// A backup taken the way the operator does: a second process's vault, with no key.
    @discardableResult
    func takeBackup(signer: AuditSigner? = nil) throws -> Vault.BackupSummary {
        let keyless = try f.openKeyless()
        defer { keyless.close() }
        return try keyless.backups.create(to: backup, signingKey: signer ?? self.signer, by: .operator("backup:op"))
    }

    func shred(_ records: [EvidenceRecord]) throws {
        for (school, group) in Dictionary(grouping: records, by: \.school) {
            let request = try f.vault.lifecycle.requestShred(school: school, records: group.map(\.id), reason: "lawful erasure", by: .integration(dpo))
            _ = try f.vault.lifecycle.approveShred(id: request.id, by: .integration(dsl))
        }
    }

    func restore(to target: String, keys: String?, ledger: String, snapshot: String? = nil, key: VaultPublicKey? = nil) throws -> Vault.RestoreSummary {
        try Vault.restore(Vault.RestoreRequest(
            backup: backup, snapshot: snapshot, target: target, publicKey: key ?? signer.publicKey, keys: keys, ledger: ledger, by: .operator("backup:op")))
    }

    /// A key store backup and a ledger export from the live store, taken now.
    func keysAndLedger() throws -> (keys: String, ledger: String) {
        let keys = try f.vault.backups.backupKeyStore(to: f.root + "/keybackups", by: .operator("backup:op"))
        let ledger = f.root + "/ledger-\(UUID().uuidString).jsonl"
        _ = try f.vault.backups.exportLedger(to: ledger, by: .operator("backup:op"))
        return (keys.folder, ledger)
    }

    func openRestored(_ target: String) throws -> Vault {
        try Vault.open(at: StoreLayout(root: target), master: .keyFile(f.layout.defaultMasterKey))
    }

    // MARK: the restore drill

    func testTheRestoreDrillBringsBackEveryRecordAndShredsAgainWhatWasShreddedSince() throws {
        var before: [EvidenceRecord] = []
        for n in 0..<1000 { before.append(try put(n, school: n % 2 == 0 ? "S1" : "S2", child: "C\(n % 40)")) }
        // One child whose records have a period KEK of their own: all shredded after the backup,
        // so that KEK is destroyed and even the backup's wrapped keys can never be opened again.
        _ = try f.vault.lifecycle.setDateOfBirth(child: "CX", dob: "2015-03-04", school: "S1", by: .operator("test"))
        let alone = try (0..<5).map { try put(2000 + $0, school: "S1", child: "CX") }
        let snapshot = try takeBackup()
        XCTAssertEqual(snapshot.records, 1005)
        XCTAssertEqual(snapshot.blobsCopied, 1005)

        let after = try (0..<100).map { try put(1000 + $0, school: $0 % 2 == 0 ? "S1" : "S2", child: "C\($0 % 40)") }
        let shreddedFromBackup = Array(before[0..<20]) + alone
        let shreddedAfter = Array(after[0..<25])
        try shred(shreddedFromBackup + shreddedAfter)
        XCTAssertEqual(shreddedFromBackup.count + shreddedAfter.count, 50)
        let aloneKEK = alone[0].kekID
        XCTAssertEqual(try f.vault.keys.status(by: .operator("test")).first(where: { $0.info.id == aloneKEK })?.info.state, .destroyed)

        let (keys, ledger) = try keysAndLedger()
        let target = f.root + "/restored"
        // The folder `keys backup --to` was given serves as well as the key backup in it.
        let summary = try restore(to: target, keys: DurableFile.directory(of: keys), ledger: ledger)
        XCTAssertEqual(Set(summary.reshredded), Set(shreddedFromBackup.map(\.id)), "the shreds of records in the backup are replayed")
        XCTAssertEqual(summary.records, 1005 - 25)

        let restored = try openRestored(target)
        defer { restored.close() }
        // Every other record of the backup comes back byte for byte.
        for record in before[20...] {
            XCTAssertEqual(try f.get(record.id, from: restored), content(before.firstIndex(of: record)!, record.school), record.id)
        }
        // The 50 are gone: no row, no blob, no key, and no way to open them.
        let restoredLayout = StoreLayout(root: target)
        for record in shreddedFromBackup + shreddedAfter {
            XCTAssertThrowsError(try f.get(record.id, from: restored)) { XCTAssertEqual($0 as? VaultError, .notFound(record.id)) }
            XCTAssertFalse(FileManager.default.fileExists(atPath: restoredLayout.blobs + "/" + record.id.prefix(2) + "/" + record.id + ".blob"))
        }
        let rows = try DatabaseQueue(path: restoredLayout.metadata).read { db in
            try String.fetchSet(db, sql: "SELECT id FROM records")
        }
        XCTAssertTrue(rows.isDisjoint(with: shreddedFromBackup.map(\.id)))
        // The backup still holds their blobs and wrapped keys; the KEK of the lone child is gone
        // from every key store, so those five can never be unwrapped from any copy.
        let keyStore = try KeyStore.open(directory: restoredLayout.keys, master: MasterKeyFile.open(at: f.layout.defaultMasterKey))
        XCTAssertThrowsError(try keyStore.kek(id: aloneKEK)) { XCTAssertEqual($0 as? KeyManagementError, .kekDestroyed(aloneKEK)) }
        let deep = try f.vault.backups.verifyDeeply(at: backup, publicKey: signer.publicKey, by: .operator("dpo:deep"))
        XCTAssertTrue(deep.isIntact, "\(deep.problems)")
        XCTAssertEqual(Set(deep.shreddedSince), Set(shreddedFromBackup.map(\.id)), "no key opens a record shredded since the backup")
        XCTAssertEqual(deep.recordsAuthenticated, 1005 - 25)

        // The audit log verifies, holds the backup's prefix, and says what the restore did.
        let audit = try restored.audit.verifyLog(by: .operator("test"))
        XCTAssertTrue(audit.isIntact, "\(audit.problems)")
        let events = try restored.audit.log(record: nil, by: .operator("test:reader"))
        XCTAssertEqual(events.filter { $0.action == "restore" }.count, 1)
        XCTAssertEqual(Set(events.filter { $0.action == "shred-replay" }.compactMap(\.record)), Set(shreddedFromBackup.map(\.id)))
        let report = try restored.audit.verify(by: .operator("test"), useKeys: true)
        XCTAssertTrue(report.isIntact)
        XCTAssertEqual(report.intact, 1005 - 25)
        // The restored store takes new evidence.
        let fresh = try f.put(content(9999, "S1"), kind: "minutes", into: restored)
        XCTAssertEqual(try f.get(fresh.id, from: restored), content(9999, "S1"))
    }

    func testABackupTakenDuringUploadsHoldsEveryUploadAcknowledgedBeforeItStarted() throws {
        let acknowledged = Acknowledged()
        let stop = Flag()
        let vault = f.vault
        let group = DispatchGroup()
        for client in 0..<16 {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                var n = 0
                while !stop.isSet {
                    let bytes = Array("Minutes of meeting \(client)-\(n): actions agreed.\n".utf8)
                    let record = try? bytes.withUnsafeBytes { raw in
                        let session = try vault.records.beginPut(PutRequest(
                            school: "S1", child: "C\(client)", concern: "K1", kind: "minutes", filename: "minutes.txt"), by: .operator("dsl:jo"))
                        try session.write(raw)
                        return try session.finish()
                    }
                    if let record { acknowledged.add(record.id) }
                    n += 1
                }
            }
        }
        while acknowledged.count < 200 { usleep(10_000) }
        let beforeStart = acknowledged.snapshot()
        let summary = try takeBackup()
        stop.set()
        group.wait()
        let facts = try SQLiteCatalog.snapshotFacts(path: summary.folder + "/metadata.sqlite")
        let inBackup = Set(facts.records.map(\.id))
        XCTAssertTrue(beforeStart.isSubset(of: inBackup), "\(beforeStart.subtracting(inBackup).count) acknowledged uploads are missing")
        XCTAssertGreaterThan(acknowledged.count, beforeStart.count, "uploads went on during the backup")
        let deep = try f.vault.backups.verifyDeeply(at: backup, publicKey: signer.publicKey, by: .operator("dpo:deep"))
        XCTAssertTrue(deep.isIntact, "\(deep.problems)")
        XCTAssertEqual(deep.recordsAuthenticated, inBackup.count)
    }

    // MARK: incremental and prune

    func testASecondBackupOfAnUnchangedStoreCopiesNoBlob() throws {
        let records = try (0..<20).map { try put($0) }
        let first = try takeBackup()
        XCTAssertEqual(first.blobsCopied, 20)
        let blob = backup + "/" + BackupFile.blobPath(records[0].id)
        let inode = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: blob)[.systemFileNumber] as? UInt64)
        let second = try takeBackup()
        XCTAssertEqual(second.blobsCopied, 0)
        XCTAssertEqual(second.bytesCopied, 0)
        XCTAssertEqual(second.blobsAlreadyPresent, 20)
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: blob)[.systemFileNumber] as? UInt64, inode, "the blob was not rewritten")
        try put(21)
        XCTAssertEqual(try takeBackup().blobsCopied, 1, "only the new record's blob")
        // A blob file an interrupted backup left (no snapshot lists it) is copied afresh, and so
        // is a listed blob someone deleted from the folder.
        let interrupted = try put(22)
        let leftover = backup + "/" + BackupFile.blobPath(interrupted.id)
        try FileManager.default.createDirectory(atPath: DurableFile.directory(of: leftover), withIntermediateDirectories: true)
        try Data(repeating: 0, count: Int(interrupted.ciphertextSize)).write(to: URL(fileURLWithPath: leftover))
        try FileManager.default.removeItem(atPath: blob)
        XCTAssertEqual(try takeBackup().blobsCopied, 2)
        let report = try Vault.verifyBackup(at: backup, publicKey: signer.publicKey)
        XCTAssertTrue(report.isIntact, "\(report.problems)")
        XCTAssertEqual(report.snapshots.count, 4)
    }

    func testPruneKeepsTheNewestSnapshotsAndOnlyTheBlobsTheyList() throws {
        let old = try put(1)
        try takeBackup()
        try shred([old])
        let kept = try put(2)
        try takeBackup()
        try takeBackup()
        let summary = try f.vault.backups.prune(at: backup, keep: 2, by: .operator("backup:op"))
        XCTAssertEqual(summary.removed.count, 1)
        XCTAssertEqual(summary.blobsRemoved, 1, "the shredded record's blob is in no kept snapshot")
        XCTAssertFalse(FileManager.default.fileExists(atPath: backup + "/" + BackupFile.blobPath(old.id)))
        XCTAssertTrue(FileManager.default.fileExists(atPath: backup + "/" + BackupFile.blobPath(kept.id)))
        XCTAssertEqual(try Vault.listBackups(at: backup).map(\.snapshot), summary.kept)
        XCTAssertTrue(try Vault.verifyBackup(at: backup, publicKey: signer.publicKey).isIntact)
        XCTAssertThrowsError(try f.vault.backups.prune(at: backup, keep: 0, by: .operator("backup:op")))
    }

    // MARK: the folder against the store's audit log

    /// The live store as the backup operator opens it to compare: no key, read-only.
    func liveStore() throws -> Vault {
        var readOnly = Vault.Options()
        readOnly.catalog.readOnly = true
        return try f.openKeyless(options: readOnly)
    }

    /// What someone who can write the backup folder does to hide a snapshot: its folder goes,
    /// and so do the blobs no other snapshot lists. Every remaining file still matches its manifest.
    func deleteSnapshot(_ id: String) throws {
        func listed(_ snapshot: String) throws -> [String] {
            try String(contentsOfFile: backup + "/snapshots/\(snapshot)/files.txt", encoding: .utf8)
                .split(separator: "\n").map { String($0.split(separator: " ")[2]) }
        }
        let others = try FileManager.default.contentsOfDirectory(atPath: backup + "/snapshots").filter { $0 != id }
        let stillListed = Set(try others.flatMap(listed))
        for path in try listed(id) where path.hasPrefix("blobs/") && !stillListed.contains(path) {
            try FileManager.default.removeItem(atPath: backup + "/" + path)
        }
        try FileManager.default.removeItem(atPath: backup + "/snapshots/" + id)
    }

    func restoreRequest(to target: String, ledger: String, store: Vault?) -> Vault.RestoreRequest {
        var request = Vault.RestoreRequest(
            backup: backup, snapshot: nil, target: target, publicKey: signer.publicKey, keys: nil, ledger: ledger, by: .operator("backup:op"))
        request.liveStore = store
        return request
    }

    func testADeletedNewestSnapshotIsNamedWhenTheFolderIsComparedWithTheStoresLog() throws {
        try put(1)
        try takeBackup()
        let newestRecord = try put(2)
        let newest = try takeBackup().snapshot
        let store = try liveStore()
        defer { store.close() }
        let (_, ledger) = try keysAndLedger()
        let untouched = try Vault.verifyBackup(at: backup, publicKey: signer.publicKey, store: store)
        XCTAssertTrue(untouched.isIntact && untouched.comparedWithStore, "\(untouched.problems)")
        XCTAssertTrue(try Vault.restore(restoreRequest(to: f.root + "/r0", ledger: ledger, store: store)).comparedWithStore)

        try deleteSnapshot(newest)
        XCTAssertFalse(FileManager.default.fileExists(atPath: backup + "/" + BackupFile.blobPath(newestRecord.id)))
        // On its own the folder still verifies: this is what only the store's log can tell.
        XCTAssertTrue(try Vault.verifyBackup(at: backup, publicKey: signer.publicKey).isIntact)

        let report = try Vault.verifyBackup(at: backup, publicKey: signer.publicKey, store: store)
        XCTAssertFalse(report.isIntact)
        let takenAt = BackupLog.takenAt(newest)
        XCTAssertEqual(report.missingSnapshots, [MissingSnapshot(snapshot: newest, takenAt: takenAt)])
        XCTAssertEqual(report.problems.map(\.kind), ["missing"])
        XCTAssertEqual(report.problems.first?.path, "snapshots/" + newest)
        XCTAssertTrue(report.problems.first?.detail.contains(takenAt) == true, "\(report.problems)")
        XCTAssertTrue(takenAt.hasPrefix(newest.prefix(4) + "-"), takenAt)

        // The deep check compares too (it has the store at hand).
        XCTAssertEqual(try f.vault.backups.verifyDeeply(at: backup, publicKey: signer.publicKey, by: .operator("dpo:deep")).missingSnapshots.map(\.snapshot), [newest])

        let target = f.root + "/r1"
        XCTAssertThrowsError(try Vault.restore(restoreRequest(to: target, ledger: ledger, store: store))) {
            XCTAssertTrue("\($0)".contains(newest) && "\($0)".contains(takenAt), "\($0)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: target), "a refused restore writes nothing")
    }

    func testSnapshotsRemovedByPruneAreNotNamedAsMissing() throws {
        try put(1)
        try takeBackup()
        try put(2)
        try takeBackup()
        let third = try takeBackup().snapshot
        let fourth = try takeBackup().snapshot
        let pruned = try f.vault.backups.prune(at: backup, keep: 2, by: .operator("backup:op"))
        XCTAssertEqual(pruned.kept, [third, fourth])
        let store = try liveStore()
        defer { store.close() }
        XCTAssertTrue(try Vault.verifyBackup(at: backup, publicKey: signer.publicKey, store: store).isIntact)
        // --discard is a removal the log records as well.
        XCTAssertEqual(try f.vault.backups.prune(at: backup, keep: 2, discard: [third], by: .operator("backup:op")).removed, [third])
        let report = try Vault.verifyBackup(at: backup, publicKey: signer.publicKey, store: store)
        XCTAssertTrue(report.isIntact, "\(report.problems)")
        let (_, ledger) = try keysAndLedger()
        XCTAssertEqual(try Vault.restore(restoreRequest(to: f.root + "/r", ledger: ledger, store: store)).snapshot, fourth)
        let removals = try f.events.filter { $0.action == "backup-prune" }.compactMap { $0.reason.flatMap(BackupLog.parse)?.snapshot }
        XCTAssertEqual(removals.count, 3)
        XCTAssertTrue(removals.contains(third))
    }

    /// The folder is known by the ids its remaining snapshots' events name, not only by its
    /// folder-id file, which whoever deletes a snapshot can change or delete as well.
    func testChangingTheFolderIdDoesNotHideADeletedSnapshot() throws {
        try put(1)
        try takeBackup()
        try put(2)
        let newest = try takeBackup().snapshot
        try deleteSnapshot(newest)
        let store = try liveStore()
        defer { store.close() }
        try Data((String(repeating: "ab", count: 16) + "\n").utf8).write(to: URL(fileURLWithPath: backup + "/folder-id"))
        XCTAssertEqual(try Vault.verifyBackup(at: backup, publicKey: signer.publicKey, store: store).missingSnapshots.map(\.snapshot), [newest])
        try FileManager.default.removeItem(atPath: backup + "/folder-id")
        XCTAssertEqual(try Vault.verifyBackup(at: backup, publicKey: signer.publicKey, store: store).missingSnapshots.map(\.snapshot), [newest])
        try Data("not an id\n".utf8).write(to: URL(fileURLWithPath: backup + "/folder-id"))
        let damaged = try Vault.verifyBackup(at: backup, publicKey: signer.publicKey, store: store)
        XCTAssertEqual(Set(damaged.problems.map(\.kind)), ["damaged", "missing"], "\(damaged.problems)")
        XCTAssertTrue(damaged.problems.contains { $0.path == "folder-id" })
    }

    /// One store backed up into two folders with one key: each folder answers for its own snapshots.
    func testAnotherFoldersSnapshotsAreNotNamedAsMissing() throws {
        try put(1)
        try takeBackup()
        let keyless = try f.openKeyless()
        defer { keyless.close() }
        let offsite = f.root + "/offsite"
        _ = try keyless.backups.create(to: offsite, signingKey: signer, by: .operator("backup:op"))
        _ = try keyless.backups.create(to: offsite, signingKey: signer, by: .operator("backup:op"))
        let store = try liveStore()
        defer { store.close() }
        XCTAssertTrue(try Vault.verifyBackup(at: backup, publicKey: signer.publicKey, store: store).isIntact)
        XCTAssertTrue(try Vault.verifyBackup(at: offsite, publicKey: signer.publicKey, store: store).isIntact)
        XCTAssertNotEqual(try BackupRepository(root: backup).folderID(), try BackupRepository(root: offsite).folderID())

        // Another vault's store cannot vouch for this folder, nor record its prunes.
        let other = try VaultFixture()
        XCTAssertThrowsError(try Vault.verifyBackup(at: backup, publicKey: signer.publicKey, store: other.vault)) {
            XCTAssertTrue("\($0)".contains("the store given is vault"), "\($0)")
        }
        XCTAssertThrowsError(try other.vault.backups.prune(at: backup, keep: 1, by: .operator("backup:op"))) {
            XCTAssertTrue("\($0)".contains("not of this store"), "\($0)")
        }
    }

    /// A backup whose event was written but that could not be published (its rename failed), and
    /// one killed there (a `.partial-` folder the next backup removes): neither is named as missing.
    func testABackupThatWasNeverPublishedIsNotNamedAsMissing() throws {
        try put(1)
        try takeBackup()
        Vault.afterBackupEvent = { [backup] in
            // A non-empty folder under the snapshot's name: the rename onto it fails.
            let partial = try! FileManager.default.contentsOfDirectory(atPath: backup + "/snapshots").first { $0.hasPrefix(".partial-") }!
            let id = String(partial.dropFirst(".partial-".count))
            try! FileManager.default.createDirectory(atPath: backup + "/snapshots/" + id + "/obstacle", withIntermediateDirectories: true)
        }
        XCTAssertThrowsError(try takeBackup())
        Vault.afterBackupEvent = nil
        let obstacle = try FileManager.default.contentsOfDirectory(atPath: backup + "/snapshots").first { !$0.hasPrefix(".") && (try? FileManager.default.contentsOfDirectory(atPath: backup + "/snapshots/" + $0))?.contains("obstacle") == true }!
        try FileManager.default.removeItem(atPath: backup + "/snapshots/" + obstacle)
        let store = try liveStore()
        defer { store.close() }
        let report = try Vault.verifyBackup(at: backup, publicKey: signer.publicKey, store: store)
        XCTAssertTrue(report.isIntact, "\(report.problems)")

        // Killed between its event and its rename: the log records it, the folder has its partial.
        let folderID = try XCTUnwrap(try BackupRepository(root: backup).folderID())
        let killed = "20261126T051502.123Z-3fa9c1"
        _ = try f.vault.catalog.append([AuditEntry(
            actor: .operator("backup:op"), action: .backupCreate, outcome: .ok,
            reason: BackupLog.reason(snapshot: killed, folder: folderID, "1 records"))], signer: nil)
        try FileManager.default.createDirectory(atPath: backup + "/snapshots/.partial-" + killed, withIntermediateDirectories: true)
        XCTAssertEqual(try Vault.verifyBackup(at: backup, publicKey: signer.publicKey, store: store).missingSnapshots.map(\.snapshot), [killed])
        try takeBackup()
        XCTAssertTrue(try Vault.verifyBackup(at: backup, publicKey: signer.publicKey, store: store).isIntact)
    }

    // MARK: tampering

    /// Each change an attacker or a failing disk could make to the backup folder, with the
    /// problem verify must name; restore must refuse every one and leave no store behind.
    func testATamperedBackupIsRefusedByVerifyAndByRestore() throws {
        let records = try (0..<5).map { try put($0) }
        let summary = try takeBackup()
        let (keys, ledger) = try keysAndLedger()
        let snapshot = "snapshots/" + summary.snapshot
        let blob = BackupFile.blobPath(records[2].id)
        let pristine = f.root + "/pristine"
        try FileManager.default.copyItem(atPath: backup, toPath: pristine)

        func flip(_ relative: String, at offset: Int? = nil) throws {
            var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: backup + "/" + relative)))
            bytes[offset ?? bytes.count / 2] ^= 0x01
            try Data(bytes).write(to: URL(fileURLWithPath: backup + "/" + relative))
        }
        let cases: [(String, () throws -> Void, kind: String, path: String)] = [
            ("missing blob", { try FileManager.default.removeItem(atPath: self.backup + "/" + blob) }, "missing", blob),
            ("extra file", { try Data("x".utf8).write(to: URL(fileURLWithPath: self.backup + "/blobs/zz.txt")) }, "extra", "blobs/zz.txt"),
            ("extra blob", {
                let id = String(repeating: "ab", count: 16)
                try FileManager.default.createDirectory(atPath: self.backup + "/blobs/ab", withIntermediateDirectories: true)
                try Data("x".utf8).write(to: URL(fileURLWithPath: self.backup + "/blobs/ab/\(id).blob"))
            }, "extra", "blobs/ab/" + String(repeating: "ab", count: 16) + ".blob"),
            ("flipped byte in a blob", { try flip(blob) }, "damaged", blob),
            ("flipped byte in the database", { try flip(snapshot + "/metadata.sqlite") }, "damaged", snapshot + "/metadata.sqlite"),
            ("truncated blob", {
                let h = try FileHandle(forWritingTo: URL(fileURLWithPath: self.backup + "/" + blob))
                try h.truncate(atOffset: 100)
                try h.close()
            }, "damaged", blob),
            ("changed manifest", {
                let path = self.backup + "/" + snapshot + "/manifest.json"
                let text = try String(contentsOfFile: path, encoding: .utf8).replacingOccurrences(of: "\"records\" : 5", with: "\"records\" : 4")
                try text.write(toFile: path, atomically: true, encoding: .utf8)
            }, "manifest", snapshot + "/manifest.json"),
            ("changed file list", { try flip(snapshot + "/files.txt", at: 3) }, "manifest", snapshot + "/manifest.json"),
            ("deleted signature", { try FileManager.default.removeItem(atPath: self.backup + "/" + snapshot + "/manifest.json.minisig") },
             "manifest", snapshot + "/manifest.json"),
        ]
        for (name, change, kind, path) in cases {
            try FileManager.default.removeItem(atPath: backup)
            try FileManager.default.copyItem(atPath: pristine, toPath: backup)
            XCTAssertTrue(try Vault.verifyBackup(at: backup, publicKey: signer.publicKey).isIntact, name)
            try change()
            let report = try Vault.verifyBackup(at: backup, publicKey: signer.publicKey)
            XCTAssertFalse(report.isIntact, name)
            XCTAssertTrue(report.problems.contains { $0.kind == kind && $0.path == path }, "\(name): \(report.problems)")
            let target = f.root + "/restore-" + UUID().uuidString
            if kind == "extra" {
                // A file no snapshot lists cannot change what is restored: a warning, not a refusal.
                let restored = try restore(to: target, keys: keys, ledger: ledger)
                XCTAssertTrue(restored.warnings.contains { $0.contains(path) }, "\(name): \(restored.warnings)")
                XCTAssertEqual(try f.get(records[2].id, from: try openRestored(target)), content(2, "S1"), name)
                continue
            }
            XCTAssertThrowsError(try restore(to: target, keys: keys, ledger: ledger), name) { error in
                guard case VaultError.backup(let why) = error else { return XCTFail("\(name): \(error)") }
                XCTAssertTrue(why.contains("does not verify"), why)
            }
            XCTAssertFalse(FileManager.default.fileExists(atPath: target), "\(name): a refused restore leaves nothing")
        }

        // A snapshot signed by someone else's key is not the operator's backup.
        try FileManager.default.removeItem(atPath: backup)
        try takeBackup(signer: otherSigner)
        let foreign = try Vault.verifyBackup(at: backup, publicKey: signer.publicKey)
        XCTAssertEqual(foreign.problems.map(\.kind), ["manifest"])
        XCTAssertTrue(foreign.problems[0].detail.contains("not signed by the given backup public key"), foreign.problems[0].detail)
        XCTAssertThrowsError(try restore(to: f.root + "/foreign", keys: keys, ledger: ledger))
    }

    func testBlobKeysSortAndMatchLikeTheIdsTheyStandFor() throws {
        let ids = (0..<2000).map { _ in RecordID.generate() } + ["00000000000000000000000000000000", "ffffffffffffffffffffffffffffffff"]
        XCTAssertEqual(ids.sorted { BlobKey(record: $0)! < BlobKey(record: $1)! }, ids.sorted())
        XCTAssertEqual(Set(ids.compactMap { BlobKey(record: $0) }).count, ids.count)
        for bad in ["", "0f", String(repeating: "G", count: 32), String(repeating: "A", count: 32), String(repeating: "0", count: 33)] {
            XCTAssertNil(BlobKey(record: bad), bad)
        }
        let id = ids[0], hash = String(repeating: "ab", count: 32)
        let list = "\(hash) 12 \(BackupFile.blobPath(id))\n\(hash) 3 snapshots/S/metadata.sqlite\n"
        XCTAssertEqual(try BackupFile.blobSizes(Array(list.utf8)), [BlobKey(record: id)!: 12])
    }

    /// files.txt is read strictly: it can never name a path outside the backup folder.
    func testAFileListNamingAnythingButTheSnapshotsFilesIsRefused() throws {
        let hash = String(repeating: "ab", count: 32)
        let id = String(repeating: "0f", count: 16)
        let good = "\(hash) 12 blobs/0f/\(id).blob\n\(hash) 3 snapshots/S/metadata.sqlite\n"
        XCTAssertEqual(try BackupFile.decode(Array(good.utf8), snapshot: "S").count, 2)
        for bad in [
            "\(hash) 12 blobs/0f/../../etc/passwd\n", "\(hash) 12 /etc/passwd\n", "\(hash) 3 snapshots/T/metadata.sqlite\n",
            "\(hash) 12 blobs/aa/\(id).blob\n", "\(hash.uppercased()) 12 blobs/0f/\(id).blob\n", "\(hash) 012 blobs/0f/\(id).blob\n",
            "\(hash) -1 blobs/0f/\(id).blob\n", "\(hash) 12 blobs/0f/\(id).blob", "\(hash)  12 blobs/0f/\(id).blob\n",
            "\(hash) 3 snapshots/S/metadata.sqlite\n\(hash) 12 blobs/0f/\(id).blob\n",
        ] {
            XCTAssertThrowsError(try BackupFile.decode(Array(bad.utf8), snapshot: "S"), bad)
        }
    }

    func testRestoreRefusesAnOccupiedTargetALedgerOlderThanTheKeysAndKeysOlderThanTheData() throws {
        let a = try put(1)
        try shred([a])
        let (oldKeys, oldLedger) = try keysAndLedger()
        let b = try put(2)
        try shred([b])
        // A school new since those keys: its records are under a KEK the old key store lacks.
        try put(3, school: "S3")
        try takeBackup()
        let (keys, ledger) = try keysAndLedger()

        let occupied = f.root + "/occupied"
        try FileManager.default.createDirectory(atPath: occupied, withIntermediateDirectories: true)
        try Data("x".utf8).write(to: URL(fileURLWithPath: occupied + "/something"))
        XCTAssertThrowsError(try restore(to: occupied, keys: keys, ledger: ledger)) { XCTAssertEqual($0 as? VaultError, .storeExists(occupied)) }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: occupied), ["something"])

        XCTAssertThrowsError(try restore(to: f.root + "/r1", keys: keys, ledger: oldLedger)) { error in
            XCTAssertTrue("\(error)".contains("older than the key store backup"), "\(error)")
        }
        XCTAssertThrowsError(try restore(to: f.root + "/r2", keys: oldKeys, ledger: ledger)) { error in
            XCTAssertTrue("\(error)".contains("has no key for 1 records"), "\(error)")
        }
        var edited = Array(try Data(contentsOf: URL(fileURLWithPath: ledger)))
        edited[edited.count / 2] ^= 0x01
        try Data(edited).write(to: URL(fileURLWithPath: ledger))
        XCTAssertThrowsError(try restore(to: f.root + "/r3", keys: keys, ledger: ledger)) { error in
            XCTAssertTrue("\(error)".contains("deletion ledger"), "\(error)")
        }
        for name in ["r1", "r2", "r3"] { XCTAssertFalse(FileManager.default.fileExists(atPath: f.root + "/" + name)) }
    }

    func testARecordShreddedWhileTheBackupRunsIsOmittedAndShreddedAgainOnRestore() throws {
        let records = try (0..<3).map { try put($0) }
        // The blob vanishes between the snapshot and the copy, as a shred running alongside does.
        let keyless = try f.openKeyless()
        defer { keyless.close() }
        let gone = records[1]
        Vault.afterBackupSnapshot = { try? self.shred([gone]) }
        defer { Vault.afterBackupSnapshot = nil }
        let taken = try keyless.backups.create(to: backup, signingKey: signer, by: .operator("backup:op"))
        Vault.afterBackupSnapshot = nil
        XCTAssertEqual(taken.omitted, [.init(record: gone.id, reason: "shredded after the snapshot was taken")])
        XCTAssertTrue(taken.storeProblems.isEmpty)
        XCTAssertTrue(try Vault.verifyBackup(at: backup, publicKey: signer.publicKey).isIntact)
        let (keys, ledger) = try keysAndLedger()
        let summary = try restore(to: f.root + "/restored", keys: keys, ledger: ledger)
        XCTAssertEqual(summary.reshredded, [gone.id])
        XCTAssertEqual(summary.records, 2)
    }

    func testNoBackupAppearsWithoutItsAuditEvent() throws {
        try put(1)
        var options = Vault.Options()
        options.catalog.busyTimeout = 0.2
        let keyless = try f.openKeyless(options: options)
        defer { keyless.close() }
        // Another process holds the write lock: the audit event cannot be written.
        let holder = try DatabaseQueue(path: f.layout.metadata)
        try holder.inDatabase { db in
            try db.execute(sql: "BEGIN EXCLUSIVE")
            XCTAssertThrowsError(try keyless.backups.create(to: backup, signingKey: signer, by: .operator("backup:op"))) { error in
                guard case VaultError.storage(.auditUnavailable) = error else { return XCTFail("\(error)") }
            }
            try db.execute(sql: "ROLLBACK")
        }
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: backup + "/snapshots"), [], "no snapshot, not even a partial one")
        XCTAssertEqual(try FileManager.default.subpathsOfDirectory(atPath: backup + "/blobs").filter { $0.hasSuffix(".blob") }, [],
                       "nor the blobs it had copied")
    }

    // MARK: what the review of the first version found

    func testLeftoversOfAnInterruptedBackupAreNamedAndPruneClearsThemForTheRestore() throws {
        let record = try put(1)
        try takeBackup()
        let (keys, ledger) = try keysAndLedger()
        // What a backup killed half-way leaves: a partial snapshot and a blob no snapshot lists.
        try FileManager.default.createDirectory(atPath: backup + "/snapshots/.partial-20990101T000000.000Z-abcdef", withIntermediateDirectories: true)
        let stray = backup + "/" + BackupFile.blobPath(RecordID.generate())
        try FileManager.default.createDirectory(atPath: DurableFile.directory(of: stray), withIntermediateDirectories: true)
        try Data("half a blob".utf8).write(to: URL(fileURLWithPath: stray))
        let report = try Vault.verifyBackup(at: backup, publicKey: signer.publicKey)
        XCTAssertEqual(report.problems.map(\.kind), ["extra"], "\(report.problems)")
        // They do not touch the snapshot: the restore goes ahead and names them.
        let restored = try restore(to: f.root + "/r0", keys: keys, ledger: ledger)
        XCTAssertTrue(restored.warnings.contains { $0.contains(stray.dropFirst(backup.count + 1)) }, "\(restored.warnings)")
        _ = try f.vault.backups.prune(at: backup, keep: 1, publicKey: signer.publicKey, by: .operator("backup:op"))
        XCTAssertTrue(try Vault.verifyBackup(at: backup, publicKey: signer.publicKey).isIntact)
        XCTAssertEqual(try restore(to: f.root + "/r", keys: keys, ledger: ledger).warnings, [])
        XCTAssertEqual(try f.get(record.id, from: try openRestored(f.root + "/r")), content(1, "S1"))
    }

    func testABlobRottedInTheStoreNeverReplacesTheBackupsGoodCopy() throws {
        let record = try put(1)
        try takeBackup()
        let good = try Data(contentsOf: URL(fileURLWithPath: backup + "/" + BackupFile.blobPath(record.id)))
        var rotted = Array(try Data(contentsOf: URL(fileURLWithPath: f.blobPath(record.id))))
        rotted[rotted.count / 2] ^= 0x10
        try Data(rotted).write(to: URL(fileURLWithPath: f.blobPath(record.id)))
        // The snapshot set aside: no snapshot lists the blob any more, so it is copied again.
        let snapshot = try Vault.listBackups(at: backup)[0].snapshot
        try FileManager.default.moveItem(atPath: backup + "/snapshots/" + snapshot, toPath: f.root + "/set-aside")
        let summary = try takeBackup()
        XCTAssertEqual(summary.storeProblems, [record.id])
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: backup + "/" + BackupFile.blobPath(record.id))), good)
    }

    func testTheKeyStoreCheckedIsTheKeyStoreInstalled() throws {
        try put(1)
        let (oldKeys, _) = try keysAndLedger()
        try put(2, school: "S3")  // a KEK the old key store lacks
        try takeBackup()
        let (keys, ledger) = try keysAndLedger()
        // The old key store under another name, beside the current keystore.json.
        let old = keys + "/old.json"
        try FileManager.default.copyItem(atPath: oldKeys + "/keystore.json", toPath: old)
        XCTAssertThrowsError(try restore(to: f.root + "/r", keys: old, ledger: ledger)) { error in
            XCTAssertTrue("\(error)".contains("has no key for 1 records"), "\(error)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: f.root + "/r"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: f.root).filter { $0.hasPrefix(".restoring-") }, [], "no staging left")
    }

    func testPruneNeverFollowsASymlinkOutOfTheBackupFolder() throws {
        try put(1)
        try takeBackup()
        // blobs/zz -> a folder of the live store: prune must not delete what is behind it.
        let outside = f.root + "/outside"
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try Data("precious".utf8).write(to: URL(fileURLWithPath: outside + "/zz" + String(repeating: "0", count: 30) + ".blob"))
        try FileManager.default.createSymbolicLink(atPath: backup + "/blobs/zz", withDestinationPath: outside)
        XCTAssertThrowsError(try f.vault.backups.prune(at: backup, keep: 1, by: .operator("backup:op")))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: outside).count, 1, "nothing behind the link was deleted")
        XCTAssertTrue(try Vault.verifyBackup(at: backup, publicKey: signer.publicKey).problems.contains { $0.kind == "extra" && $0.path == "blobs/zz" })
    }

    func testVerifyNamesASymlinkFolderOrFifoWhereABlobBelongsAndDoesNotHang() throws {
        let records = try (0..<3).map { try put($0) }
        try takeBackup()
        let paths = records.map { backup + "/" + BackupFile.blobPath($0.id) }
        for p in paths { try FileManager.default.removeItem(atPath: p) }
        try FileManager.default.createSymbolicLink(atPath: paths[0], withDestinationPath: f.blobPath(records[0].id))
        try FileManager.default.createDirectory(atPath: paths[1], withIntermediateDirectories: false)
        XCTAssertEqual(mkfifo(paths[2], 0o600), 0)
        let report = try Vault.verifyBackup(at: backup, publicKey: signer.publicKey)
        for record in records {
            XCTAssertTrue(report.problems.contains { $0.kind == "damaged" && $0.path == BackupFile.blobPath(record.id) }, "\(report.problems)")
        }
    }

    func testABlobDamagedInTheStoreIsNamedAndLeftOutNotCopied() throws {
        let records = try (0..<3).map { try put($0) }
        var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: f.blobPath(records[0].id))))
        bytes[bytes.count - 5] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: f.blobPath(records[0].id)))
        try FileManager.default.removeItem(atPath: f.blobPath(records[1].id))
        let summary = try takeBackup()
        XCTAssertEqual(summary.storeProblems.sorted(), [records[0].id, records[1].id].sorted())
        XCTAssertEqual(Set(summary.omitted.map(\.reason)), ["blob damaged in the store", "blob missing from the store"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: backup + "/" + BackupFile.blobPath(records[0].id)), "a damaged blob is not backed up")
        XCTAssertEqual(summary.blobsCopied, 1)
        XCTAssertEqual(try f.events.filter { $0.action == "backup-create" }.last?.outcome, "failed")
    }

    // MARK: the folder itself

    /// A store and a backup folder keep blobs at the same paths: a prune of a store would
    /// delete live evidence its snapshots do not list. No backup command works on a store.
    func testABackupFolderThatIsOrOverlapsAStoreIsRefusedSoPruneNeverDeletesLiveEvidence() throws {
        let record = try put(1)
        let keyless = try f.openKeyless()
        defer { keyless.close() }
        for folder in [f.layout.root, f.layout.root + "/backups", f.layout.blobs, f.root] {
            XCTAssertThrowsError(try keyless.backups.create(to: folder, signingKey: signer, by: .operator("backup:op")), folder) {
                XCTAssertTrue("\($0)".contains("overlap") || "\($0)".contains("is a Strongroom store"), "\($0)")
            }
        }
        // A copy of the store given as a backup folder (the reviewer's case).
        let copy = f.root + "/copy"
        try FileManager.default.copyItem(atPath: f.layout.root, toPath: copy)
        let blobsBefore = try FileManager.default.subpathsOfDirectory(atPath: copy + "/blobs")
        XCTAssertThrowsError(try keyless.backups.create(to: copy, signingKey: signer, by: .operator("backup:op")))
        XCTAssertThrowsError(try f.vault.backups.prune(at: copy, keep: 1, by: .operator("backup:op"))) { XCTAssertTrue("\($0)".contains("is a Strongroom store"), "\($0)") }
        XCTAssertThrowsError(try Vault.verifyBackup(at: copy, publicKey: signer.publicKey))
        XCTAssertThrowsError(try Vault.listBackups(at: copy))
        XCTAssertEqual(try FileManager.default.subpathsOfDirectory(atPath: copy + "/blobs"), blobsBefore, "nothing of the store was deleted")
        XCTAssertEqual(try f.get(record.id), content(1, "S1"))

        // The store's blobs/ reached from inside a backup folder (as a bind mount would; a
        // symlink stands in for it here): refused by create, prune and verify.
        let disguised = f.root + "/disguised"
        try FileManager.default.createDirectory(atPath: disguised + "/snapshots", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: disguised + "/blobs", withDestinationPath: f.layout.blobs)
        XCTAssertThrowsError(try keyless.backups.create(to: disguised, signingKey: signer, by: .operator("backup:op")))
        XCTAssertThrowsError(try f.vault.backups.prune(at: disguised, keep: 1, by: .operator("backup:op")))
        XCTAssertThrowsError(try Vault.verifyBackup(at: disguised, publicKey: signer.publicKey))
        XCTAssertEqual(try f.get(record.id), content(1, "S1"))
    }

    /// Prune deletes only names backups write; --discard cannot empty the folder.
    func testPruneDeletesOnlyBackupBlobNamesAndKeepsAtLeastOneSnapshot() throws {
        let record = try put(1)
        let only = try takeBackup().snapshot
        let stranger = backup + "/blobs/" + record.id.prefix(2) + "/notes.txt"
        try Data("not a blob".utf8).write(to: URL(fileURLWithPath: stranger))
        _ = try f.vault.backups.prune(at: backup, keep: 1, by: .operator("backup:op"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: stranger), "a file backups never write is left for verify to name")
        XCTAssertThrowsError(try f.vault.backups.prune(at: backup, keep: 1, discard: [only, only], by: .operator("backup:op"))) {
            XCTAssertTrue("\($0)".contains("at least one must stay"), "\($0)")
        }
        XCTAssertEqual(try Vault.listBackups(at: backup).map(\.snapshot), [only])
        XCTAssertTrue(BackupRepository.isBackupBlobName(String(repeating: "ab", count: 16) + ".blob", shard: "ab"))
        XCTAssertTrue(BackupRepository.isBackupBlobName(String(repeating: "ab", count: 16) + ".blob.tmp-0123456789ab", shard: "ab"))
        for name in ["tmp", String(repeating: "ab", count: 16) + ".blob", "x" + String(repeating: "b", count: 31) + ".blob"] {
            XCTAssertFalse(BackupRepository.isBackupBlobName(name, shard: name == "tmp" ? "ab" : "cd"), name)
        }
    }

    /// One snapshot that does not load (damaged, or signed by another key) must not hold every
    /// other snapshot hostage; but the default choice never silently falls back to an older one.
    func testOneBadSnapshotDoesNotBlockRestoringAnotherAndPruneCanDiscardIt() throws {
        let first = try put(1)
        let older = try takeBackup().snapshot
        let second = try put(2)
        let newer = try takeBackup().snapshot
        let (keys, ledger) = try keysAndLedger()
        let pristine = f.root + "/pristine"
        try FileManager.default.copyItem(atPath: backup, toPath: pristine)
        func damage(_ snapshot: String) throws {
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: backup + "/snapshots/" + snapshot + "/manifest.json"))
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(" ".utf8))
            try handle.close()
        }

        try damage(older)
        let restored = try restore(to: f.root + "/r1", keys: keys, ledger: ledger)
        XCTAssertEqual(restored.snapshot, newer)
        XCTAssertTrue(restored.warnings.contains { $0.contains(older) }, "the damaged snapshot is named: \(restored.warnings)")
        XCTAssertEqual(try f.get(second.id, from: try openRestored(f.root + "/r1")), content(2, "S1"))
        XCTAssertThrowsError(try f.vault.backups.prune(at: backup, keep: 1, by: .operator("backup:op"))) { XCTAssertTrue("\($0)".contains("--discard \(older)"), "\($0)") }
        let pruned = try f.vault.backups.prune(at: backup, keep: 1, discard: [older], by: .operator("backup:op"))
        XCTAssertEqual(pruned.removed, [older])
        XCTAssertTrue(try Vault.verifyBackup(at: backup, publicKey: signer.publicKey).isIntact)
        XCTAssertThrowsError(try f.vault.backups.prune(at: backup, keep: 1, discard: ["no-such-snapshot"], by: .operator("backup:op")))

        // The newest damaged: the default restore refuses, naming it; the older one is still there.
        try FileManager.default.removeItem(atPath: backup)
        try FileManager.default.copyItem(atPath: pristine, toPath: backup)
        try damage(newer)
        XCTAssertThrowsError(try restore(to: f.root + "/r2", keys: keys, ledger: ledger)) { XCTAssertTrue("\($0)".contains(newer), "\($0)") }
        XCTAssertFalse(FileManager.default.fileExists(atPath: f.root + "/r2"))
        let fallback = try restore(to: f.root + "/r3", keys: keys, ledger: ledger, snapshot: older)
        XCTAssertEqual(fallback.records, 1)
        XCTAssertEqual(try f.get(first.id, from: try openRestored(f.root + "/r3")), content(1, "S1"))
    }

    /// A folder holds one vault's snapshots under one backup key. A snapshot slipped in under
    /// another key (dated in 2099) cannot make prune delete the real ones.
    func testAFolderHoldsOneVaultUnderOneKeyAndAForeignSnapshotDecidesNothing() throws {
        let record = try put(1)
        try takeBackup()
        XCTAssertThrowsError(try takeBackup(signer: otherSigner)) { XCTAssertTrue("\($0)".contains("another backup key"), "\($0)") }

        let other = try VaultFixture()
        try other.put(Array("Another school's minutes.\n".utf8), kind: "minutes")
        let otherKeyless = try Vault.open(at: other.layout, master: nil)
        defer { otherKeyless.close() }
        XCTAssertThrowsError(try otherKeyless.createBackup(to: backup, signingKey: signer, by: .operator("backup:op"))) {
            XCTAssertTrue("\($0)".contains("another vault"), "\($0)")
        }

        // Put in by hand: another vault's snapshot (same operator key), then an attacker's.
        let mixed = other.root + "/mixed"
        let foreign = try otherKeyless.createBackup(to: mixed, signingKey: signer, by: .operator("backup:op"))
        try FileManager.default.copyItem(atPath: mixed + "/snapshots/" + foreign.snapshot, toPath: backup + "/snapshots/" + foreign.snapshot)
        for path in try FileManager.default.subpathsOfDirectory(atPath: mixed + "/blobs") where path.hasSuffix(".blob") {
            try? FileManager.default.createDirectory(atPath: DurableFile.directory(of: backup + "/blobs/" + path), withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: mixed + "/blobs/" + path, toPath: backup + "/blobs/" + path)
        }
        let (keys, ledger) = try keysAndLedger()
        XCTAssertThrowsError(try restore(to: f.root + "/r", keys: nil, ledger: ledger)) { XCTAssertTrue("\($0)".contains("more than one vault"), "\($0)") }
        XCTAssertThrowsError(try f.vault.backups.prune(at: backup, keep: 1, by: .operator("backup:op"))) { XCTAssertTrue("\($0)".contains("different vaults"), "\($0)") }
        XCTAssertEqual(try f.vault.backups.prune(at: backup, keep: 1, discard: [foreign.snapshot], by: .operator("backup:op")).removed, [foreign.snapshot])

        let attacker = f.root + "/attacker"
        var future = Vault.Options()
        future.clock = { Date(timeIntervalSince1970: 4_070_908_800) }
        let keyless = try f.openKeyless(options: future)
        defer { keyless.close() }
        let forged = try keyless.backups.create(to: attacker, signingKey: otherSigner, by: .operator("attacker"))
        try FileManager.default.copyItem(atPath: attacker + "/snapshots/" + forged.snapshot, toPath: backup + "/snapshots/" + forged.snapshot)
        let blobs = try FileManager.default.subpathsOfDirectory(atPath: backup + "/blobs")
        XCTAssertThrowsError(try f.vault.backups.prune(at: backup, keep: 1, by: .operator("backup:op"))) { XCTAssertTrue("\($0)".contains("different backup keys"), "\($0)") }
        XCTAssertThrowsError(try f.vault.backups.prune(at: backup, keep: 1, publicKey: signer.publicKey, by: .operator("backup:op")))
        XCTAssertEqual(try FileManager.default.subpathsOfDirectory(atPath: backup + "/blobs"), blobs, "no blob was deleted")
        // The operator's own key restores the real snapshot by name, with the forgery named.
        let real = try Vault.listBackups(at: backup).first { $0.signingKey == signer.publicKey.minisignBase64 }!.snapshot
        let restored = try restore(to: f.root + "/r2", keys: keys, ledger: ledger, snapshot: real)
        XCTAssertTrue(restored.warnings.contains { $0.contains(forged.snapshot) }, "\(restored.warnings)")
        XCTAssertEqual(try f.get(record.id, from: try openRestored(f.root + "/r2")), content(1, "S1"))
        XCTAssertEqual(try f.vault.backups.prune(at: backup, keep: 1, publicKey: signer.publicKey, discard: [forged.snapshot], by: .operator("backup:op")).removed, [forged.snapshot])
    }

    /// A FIFO where a snapshot's small file belongs would hang every daily verify; it is named.
    func testAFifoInASnapshotFolderIsNamedNotWaitedFor() throws {
        try put(1)
        let snapshot = try takeBackup().snapshot
        let (keys, ledger) = try keysAndLedger()
        for name in ["manifest.json.minisig", "manifest.json", "files.txt"] {
            let path = backup + "/snapshots/" + snapshot + "/" + name
            let saved = try Data(contentsOf: URL(fileURLWithPath: path))
            try FileManager.default.removeItem(atPath: path)
            XCTAssertEqual(mkfifo(path, 0o600), 0)
            let report = try Vault.verifyBackup(at: backup, publicKey: signer.publicKey)
            XCTAssertTrue(report.problems.contains { $0.kind == "manifest" && $0.detail.contains("not a regular file") }, "\(name): \(report.problems)")
            XCTAssertNotNil(try Vault.listBackups(at: backup).first?.problem, name)
            XCTAssertThrowsError(try restore(to: f.root + "/r", keys: keys, ledger: ledger), name)
            XCTAssertThrowsError(try f.vault.backups.prune(at: backup, keep: 1, by: .operator("backup:op")), name)
            try FileManager.default.removeItem(atPath: path)
            try saved.write(to: URL(fileURLWithPath: path))
        }
        XCTAssertTrue(try Vault.verifyBackup(at: backup, publicKey: signer.publicKey).isIntact)
    }

    /// A record shredded after the backup leaves no trace in the restored store's files, not
    /// even in the main database file behind a write-ahead log that has not been checkpointed.
    func testARestoredStoreHoldsNoTraceOfARecordShreddedAgain() throws {
        let secretName = "secret-filename-\(UUID().uuidString.prefix(8)).txt"
        let doomed = try f.put(Array("To be erased.\n".utf8), kind: "minutes", filename: secretName)
        try put(2)
        try takeBackup()
        try shred([doomed])
        let (keys, ledger) = try keysAndLedger()
        let target = f.root + "/restored"
        let summary = try restore(to: target, keys: keys, ledger: ledger)
        XCTAssertEqual(summary.reshredded, [doomed.id])
        for name in try FileManager.default.contentsOfDirectory(atPath: target) where name.hasPrefix("metadata.sqlite") {
            let bytes = try Data(contentsOf: URL(fileURLWithPath: target + "/" + name))
            XCTAssertNil(bytes.range(of: Data(secretName.utf8)), "\(name) still holds the shredded record's row")
            XCTAssertNil(bytes.range(of: doomed.wrappedDEK), "\(name) still holds the shredded record's wrapped key")
        }
    }

    func testARestoreWithoutKeysSaysTheLedgerWasNotCheckedForFreshness() throws {
        try put(1)
        try takeBackup()
        let (_, ledger) = try keysAndLedger()
        let summary = try restore(to: f.root + "/r", keys: nil, ledger: ledger)
        XCTAssertTrue(summary.warnings.contains { $0.contains("freshness") }, "\(summary.warnings)")
    }
}

final class Acknowledged: @unchecked Sendable {
    private let lock = NSLock()
    private var ids = Set<String>()
    func add(_ id: String) { lock.withLock { _ = ids.insert(id) } }
    var count: Int { lock.withLock { ids.count } }
    func snapshot() -> Set<String> { lock.withLock { ids } }
}

final class Flag: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}
