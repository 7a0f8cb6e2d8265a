import Foundation
import KeyManagement
import Storage
import TestSupport
import XCTest
@testable import Vault

final class VerifyAndRecoveryTests: XCTestCase {
    let text = Array("Minutes of the strategy discussion.\n".utf8)

    func testVerifyNamesMissingDamagedAndOrphanedRecords() throws {
        let f = try VaultFixture()
        let intact = try f.put(text, kind: "minutes")
        let missing = try f.put(text, kind: "minutes")
        let flipped = try f.put(text, kind: "minutes")
        try FileManager.default.removeItem(atPath: f.blobPath(missing.id))
        var bytes = try Data(contentsOf: URL(fileURLWithPath: f.blobPath(flipped.id)))
        bytes[bytes.count - 5] ^= 0x10
        try bytes.write(to: URL(fileURLWithPath: f.blobPath(flipped.id)))
        // An orphan: a committed blob whose record never committed.
        let orphanID = String(repeating: "d", count: 32)
        try FileManager.default.createDirectory(atPath: f.layout.blobs + "/dd", withIntermediateDirectories: true)
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: f.blobPath(orphanID)))
        try Data([4]).write(to: URL(fileURLWithPath: f.layout.blobs + "/tmp/" + orphanID + ".0000.tmp"))

        for useKeys in [true, false] {
            let report = try f.vault.audit.verify(by: .operator("backup:op"), useKeys: useKeys)
            XCTAssertFalse(report.isIntact)
            XCTAssertEqual(report.records, 3)
            XCTAssertEqual(report.intact, 1)
            XCTAssertEqual(report.missing, [missing.id])
            XCTAssertEqual(report.damaged.map(\.record), [flipped.id])
            XCTAssertEqual(report.damaged.first?.kind, useKeys ? "altered" : "ciphertext-hash-mismatch")
            XCTAssertEqual(report.orphans, [orphanID])
            XCTAssertEqual(report.leftovers.count, 1)
        }
        XCTAssertTrue(try f.events.contains { $0.action == "verify" && $0.outcome == "failed" })
        _ = intact
    }

    func testVerifyWithoutKeysNeedsNoMasterKey() throws {
        let f = try VaultFixture()
        let a = try f.put(text, kind: "minutes")
        try FileManager.default.moveItem(atPath: f.layout.defaultMasterKey, toPath: f.root + "/elsewhere.key")
        let keyless = try f.openKeyless()
        XCTAssertTrue(try keyless.audit.verify(by: .operator("backup:op"), useKeys: false).isIntact)
        XCTAssertThrowsError(try keyless.audit.verify(by: .operator("backup:op"), useKeys: true))
        XCTAssertThrowsError(try keyless.records.get(id: a.id, by: .operator("backup:op")) { _ in XCTFail("no bytes without keys") })
        XCTAssertTrue(try keyless.audit.verifyLog(by: .operator("test")).isIntact)
    }

    func testGCRemovesOrphansAndLeftoversButNoRecord() throws {
        let f = try VaultFixture()
        let keep = try f.put(text, kind: "minutes")
        let orphanID = String(repeating: "d", count: 32)
        try FileManager.default.createDirectory(atPath: f.layout.blobs + "/dd", withIntermediateDirectories: true)
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: f.blobPath(orphanID)))
        try Data([4]).write(to: URL(fileURLWithPath: f.layout.blobs + "/tmp/" + orphanID + ".0000.tmp"))
        let report = try f.vault.audit.gc(by: .operator("op"))
        XCTAssertEqual(report.removedOrphans, [orphanID])
        XCTAssertEqual(report.removedLeftovers.count, 1)
        let after = try f.vault.audit.verify(by: .operator("op"), useKeys: true)
        XCTAssertTrue(after.isIntact)
        XCTAssertEqual(after.orphans, [])
        XCTAssertEqual(after.leftovers, [])
        XCTAssertEqual(try f.get(keep.id), text)
    }

    /// An attacker with the database file deletes a row, or moves a record to another child:
    /// the blob and keys say nothing of either, but the signed put event does. verify names
    /// both, and gc never destroys the blob of a record whose row was deleted.
    func testARowDeletedOrRefiledWithoutAShredIsNamedAndGCKeepsItsBlob() throws {
        let f = try VaultFixture()
        let deleted = try f.put(text, kind: "minutes", child: "C1")
        let moved = try f.put(text, kind: "minutes", child: "C1")
        let untouched = try f.put(text, kind: "minutes", child: "C1")
        try f.tamper("DELETE FROM records WHERE id = ?", [deleted.id])
        try f.tamper("UPDATE records SET child = 'C7', concern = 'K7' WHERE id = ?", [moved.id])
        for useKeys in [true, false] {
            let report = try f.vault.audit.verify(by: .operator("op"), useKeys: useKeys)
            XCTAssertFalse(report.isIntact)
            XCTAssertEqual(report.vanished, [deleted.id])
            XCTAssertEqual(report.refiled.map(\.record), [moved.id])
            XCTAssertEqual(report.orphans, [], "a deleted row's blob is not an orphan")
        }
        let gc = try f.vault.audit.gc(by: .operator("op"))
        XCTAssertEqual(gc.removedOrphans, [])
        XCTAssertEqual(gc.keptVanished, [deleted.id])
        XCTAssertTrue(FileManager.default.fileExists(atPath: f.blobPath(deleted.id)), "the evidence is still there to recover")
        XCTAssertEqual(try f.get(untouched.id), text)
    }

    func testGCWaitsForNoUploadInFlight() throws {
        let f = try VaultFixture()
        let session = try f.vault.records.beginPut(PutRequest(school: "S1", child: "C1", concern: "K1", kind: "minutes", filename: "a.txt"), by: .operator("t"))
        let big = [UInt8](repeating: UInt8(ascii: "a"), count: 100_000)
        try big.withUnsafeBytes { try session.write($0) }
        XCTAssertThrowsError(try f.vault.audit.gc(by: .operator("op"))) {
            guard case VaultError.busy = $0 else { return XCTFail("\($0)") }
        }
        let record = try session.finish()
        XCTAssertEqual(try f.get(record.id), big)
        XCTAssertNoThrow(try f.vault.audit.gc(by: .operator("op")))
    }

    func failingVault(_ configure: (FailingFileOps) -> Void) throws -> (VaultFixture, Vault) {
        let f = try VaultFixture()
        _ = try f.put(text, kind: "minutes")
        let ops = FailingFileOps()
        configure(ops)
        var options = Vault.Options()
        options.fileOps = ops
        return (f, try f.reopen(options: options))
    }

    func assertCleanAfterFailedPut(_ f: VaultFixture, file: StaticString = #filePath, line: UInt = #line) throws {
        XCTAssertEqual(try f.vault.records.list(RecordFilter(), by: .operator("t")).count, 1, file: file, line: line)
        let report = try f.vault.audit.verify(by: .operator("t"), useKeys: true)
        XCTAssertTrue(report.isIntact, file: file, line: line)
        XCTAssertEqual(report.orphans, [], file: file, line: line)
        XCTAssertEqual(report.leftovers, [], file: file, line: line)
        XCTAssertTrue(try f.vault.audit.verifyLog(by: .operator("test")).isIntact, file: file, line: line)
    }

    func testDiskFullDuringPutGivesACleanErrorAndLeavesTheStoreVerifiable() throws {
        let (f, vault) = try failingVault { $0.failWriteAfter = 3 }
        XCTAssertThrowsError(try f.put(Array(String(repeating: "x", count: 400_000).utf8), kind: "minutes", into: vault)) { error in
            guard case VaultError.storage(.io("write", _, ENOSPC)) = error else { return XCTFail("\(error)") }
            XCTAssertTrue("\(error)".contains("No space left on device"))
        }
        try assertCleanAfterFailedPut(f)
    }

    func testEIOOnFsyncDuringPutGivesACleanErrorAndLeavesTheStoreVerifiable() throws {
        let (f, vault) = try failingVault { $0.failFsync = EIO }
        XCTAssertThrowsError(try f.put(text, kind: "minutes", into: vault)) { error in
            guard case VaultError.storage(.io("fsync", _, EIO)) = error else { return XCTFail("\(error)") }
        }
        try assertCleanAfterFailedPut(f)
    }

    func testFailedDirectoryFsyncDuringPutLeavesNoRecord() throws {
        let (f, vault) = try failingVault { $0.failDirectoryFsync = EIO }
        XCTAssertThrowsError(try f.put(text, kind: "minutes", into: vault))
        try assertCleanAfterFailedPut(f)
    }

    func testFailedCommitRemovesTheBlob() throws {
        let f = try VaultFixture()
        var options = Vault.Options()
        options.catalog.readOnly = true
        let vault = try f.reopen(options: options)
        XCTAssertThrowsError(try f.put(text, kind: "minutes", into: vault))
        let report = try f.vault.audit.verify(by: .operator("t"), useKeys: true)
        XCTAssertEqual(report.records, 0)
        XCTAssertEqual(report.orphans, [])
        XCTAssertEqual(report.leftovers, [])
    }

    func testInitRefusesToOverwriteAStore() throws {
        let f = try VaultFixture()
        XCTAssertThrowsError(try Vault.create(at: f.layout, master: f.store.master, by: .operator("t"), options: f.store.options())) {
            XCTAssertEqual($0 as? VaultError, .storeExists(f.layout.root))
        }
        XCTAssertNoThrow(try f.reopen())
    }

    func testPassphraseStoreOpensOnlyWithItsPassphrase() throws {
        let root = NSTemporaryDirectory() + "pp-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: root) }
        let layout = StoreLayout(root: root)
        func phrase(_ s: String) throws -> SecretBytes {
            let b = Array(s.utf8)
            let secret = try SecretBytes(count: b.count)
            secret.withUnsafeMutableBytes { $0.copyBytes(from: b) }
            return secret
        }
        _ = try Vault.create(at: layout, master: .passphrase(try phrase("plaster cast ladder"), cost: .interactive), by: .operator("t"))
        XCTAssertThrowsError(try Vault.open(at: layout, master: .passphrase(try phrase("plaster cast ladders")))) {
            XCTAssertEqual($0 as? VaultError, .key(.wrongMasterKey))
        }
        XCTAssertThrowsError(try Vault.open(at: layout, master: .keyFile(nil))) {
            guard case VaultError.needsMasterKey = $0 else { return XCTFail("\($0)") }
        }
        let vault = try Vault.open(at: layout, master: .passphrase(try phrase("plaster cast ladder")))
        XCTAssertFalse(FileManager.default.fileExists(atPath: layout.defaultMasterKey))
        XCTAssertTrue(try vault.audit.verifyLog(by: .operator("test")).isIntact)
    }

    func testCheckpointKeptOutsideCatchesALaterTruncation() throws {
        let f = try VaultFixture()
        for _ in 0..<3 { _ = try f.put(text, kind: "minutes") }
        let kept = try f.vault.audit.checkpoint(by: .operator("dpo"))
        XCTAssertTrue(kept.verifySignature(publicKey: f.vault.publicKey))
        XCTAssertTrue(try f.vault.audit.verifyLog(externalCheckpoint: kept, by: .operator("test")).isIntact)
        try f.tamper("DROP TRIGGER audit_events_no_delete; DELETE FROM audit_events WHERE seq >= 3; DELETE FROM audit_checkpoints;")
        let report = try f.vault.audit.verifyLog(externalCheckpoint: kept, by: .operator("test"))
        XCTAssertFalse(report.isIntact)
        XCTAssertEqual(report.firstBadSequence, 3)
    }
}
