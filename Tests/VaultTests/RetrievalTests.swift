import Foundation
import GRDB
import KeyManagement
import Storage
import TestSupport
import XCTest
@testable import Vault

final class RetrievalTests: XCTestCase {
    let text = Array("The child said she did not want to go home tonight.\n".utf8)

    func testGetWritesItsAuditEventBeforeTheFirstByte() throws {
        let f = try VaultFixture()
        let record = try f.put(text, kind: "disclosure")
        var checked = false
        try f.vault.records.get(id: record.id, by: .operator("dsl:jo")) { _ in
            if !checked {
                // Read the log through a separate connection: the event must already be committed.
                let count = try f.store.count(
                    "SELECT COUNT(*) FROM audit_events WHERE action = 'get' AND outcome = 'ok' AND record = ? AND actor = 'dsl:jo'", [record.id])
                XCTAssertEqual(count, 1)
                checked = true
            }
        }
        XCTAssertTrue(checked)
    }

    func testLockedAuditLogRefusesGetAndReturnsNoByte() throws {
        try TestBackend.requireEmbedded("holds SQLite's write lock from a second connection (a database that does not answer is the cluster test's)")
        let f = try VaultFixture()
        let record = try f.put(text, kind: "disclosure")
        var options = Vault.Options()
        options.catalog.busyTimeout = 0.2
        let vault = try f.reopen(options: options)
        // Another process holds the write lock: the audit event cannot be written.
        let holder = try DatabaseQueue(path: f.layout.metadata)
        try holder.inDatabase { db in
            try db.execute(sql: "BEGIN EXCLUSIVE")
            var bytes = 0
            XCTAssertThrowsError(try vault.records.get(id: record.id, by: .operator("dsl:jo")) { bytes += $0.count }) { error in
                guard case VaultError.storage(.auditUnavailable) = error else { return XCTFail("\(error)") }
            }
            XCTAssertEqual(bytes, 0, "no plaintext without an audit record")
            try db.execute(sql: "ROLLBACK")
        }
    }

    func testReadOnlyAuditLogRefusesEveryEvidenceOperation() throws {
        try TestBackend.requireEmbedded("opens the SQLite file read-only")
        let f = try VaultFixture()
        let record = try f.put(text, kind: "disclosure")
        var options = Vault.Options()
        options.catalog.readOnly = true
        let vault = try f.reopen(options: options)
        var bytes = 0
        XCTAssertThrowsError(try vault.records.get(id: record.id, by: .operator("dsl:jo")) { bytes += $0.count }) { error in
            // Said as what it is (the CLI's exit 69), not as a generic I/O error.
            guard case VaultError.storage(.auditUnavailable) = error else { return XCTFail("\(error)") }
        }
        XCTAssertEqual(bytes, 0)
        XCTAssertThrowsError(try vault.records.show(id: record.id, by: .operator("dsl:jo")))
        XCTAssertThrowsError(try vault.records.list(RecordFilter(), by: .operator("dsl:jo")))
        XCTAssertThrowsError(try f.put(text, kind: "disclosure", into: vault))
        XCTAssertEqual(try f.vault.records.list(RecordFilter(), by: .operator("t")).count, 1, "the refused put left nothing")
        XCTAssertEqual(try FileBlobStore(root: f.layout.blobs).storedRecordIDs().count, 1)
    }

    func testWrappedKeyCopiedFromAnotherRecordFailsToUnwrap() throws {
        let f = try VaultFixture()
        let a = try f.put(text, kind: "disclosure")
        let b = try f.put(Array("another record".utf8), kind: "disclosure")
        try f.tamper("UPDATE records SET wrapped_dek = (SELECT wrapped_dek FROM records WHERE id = ?) WHERE id = ?", [a.id, b.id])
        var bytes = 0
        XCTAssertThrowsError(try f.vault.records.get(id: b.id, by: .operator("dsl")) { bytes += $0.count }) {
            guard case VaultError.key(.unwrapFailed) = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertEqual(bytes, 0)
        let report = try f.vault.audit.verify(by: .operator("t"), useKeys: true)
        XCTAssertEqual(report.damaged.map(\.record), [b.id])
        XCTAssertEqual(report.damaged.first?.kind, "key-unwrap-failed")
    }

    func testWrappedKeyAndBlobCopiedFromAnotherRecordStillFail() throws {
        let f = try VaultFixture()
        let a = try f.put(text, kind: "disclosure")
        let b = try f.put(Array("another record".utf8), kind: "disclosure")
        try f.tamper("UPDATE records SET wrapped_dek = (SELECT wrapped_dek FROM records WHERE id = ?) WHERE id = ?", [a.id, b.id])
        try f.copyBlob(from: a.id, to: b.id)
        XCTAssertThrowsError(try f.get(b.id))
    }

    func testBlobCopiedOverAnotherRecordIsReportedAsSwapped() throws {
        let f = try VaultFixture()
        let a = try f.put(text, kind: "disclosure")
        let b = try f.put(Array("another record".utf8), kind: "disclosure")
        try f.copyBlob(from: a.id, to: b.id)
        XCTAssertThrowsError(try f.get(b.id)) {
            XCTAssertEqual($0 as? VaultError, .storage(.blobDamaged(record: b.id, damage: .belongsToAnotherRecord(school: "S1", record: a.id))))
        }
        for useKeys in [true, false] {
            let report = try f.vault.audit.verify(by: .operator("t"), useKeys: useKeys)
            XCTAssertEqual(report.damaged.map(\.kind), ["swapped"], "useKeys \(useKeys)")
        }
    }

    func testRecordMovedToAnotherSchoolCannotBeRead() throws {
        let f = try VaultFixture()
        let a = try f.put(text, kind: "disclosure", school: "S1")
        try f.tamper("UPDATE records SET school = 'S2' WHERE id = ?", [a.id])
        XCTAssertThrowsError(try f.get(a.id)) {
            guard case VaultError.key(.unwrapFailed) = $0 else { return XCTFail("\($0)") }
        }
    }

    func testBlobAndKeyOfAnotherSchoolCannotBeGraftedOntoARecord() throws {
        let f = try VaultFixture()
        let s1 = try f.put(text, kind: "disclosure", school: "S1")
        let s2 = try f.put(Array("school two".utf8), kind: "disclosure", school: "S2")
        try f.tamper("UPDATE records SET wrapped_dek = (SELECT wrapped_dek FROM records WHERE id = ?), sha256 = (SELECT sha256 FROM records WHERE id = ?), size = (SELECT size FROM records WHERE id = ?) WHERE id = ?",
                     [s2.id, s2.id, s2.id, s1.id])
        try f.copyBlob(from: s2.id, to: s1.id)
        XCTAssertThrowsError(try f.get(s1.id))
    }

    func testChangedRecordedHashIsCaughtOnGet() throws {
        let f = try VaultFixture()
        let a = try f.put(text, kind: "disclosure")
        try f.tamper("UPDATE records SET sha256 = ? WHERE id = ?", [String(repeating: "0", count: 64), a.id])
        XCTAssertThrowsError(try f.get(a.id)) {
            XCTAssertEqual($0 as? VaultError, .storage(.blobDamaged(record: a.id, damage: .plaintextMismatch)))
        }
        XCTAssertTrue(try f.events.contains { $0.action == "get" && $0.outcome == "failed" && $0.record == a.id })
    }

    func testDamagedBlobFailsGetWithTheKindOfDamage() throws {
        let f = try VaultFixture()
        let a = try f.put(Array(String(repeating: "minutes of the meeting\n", count: 9000).utf8), kind: "minutes", filename: "n.txt")
        try f.store.replaceBlob(a.id, with: Array(try f.store.blob(a.id).prefix(100_000)))
        XCTAssertThrowsError(try f.get(a.id)) {
            guard case VaultError.storage(.blobDamaged(a.id, .truncated)) = $0 else { return XCTFail("\($0)") }
        }
    }

    func testMissingRecordIsNotFoundAndAudited() throws {
        let f = try VaultFixture()
        let id = String(repeating: "e", count: 32)
        XCTAssertThrowsError(try f.get(id)) { XCTAssertEqual($0 as? VaultError, .notFound(id)) }
        XCTAssertTrue(try f.events.contains { $0.action == "get" && $0.outcome == "failed" && $0.record == id })
    }

    func testShowAndListAreAudited() throws {
        let f = try VaultFixture()
        let a = try f.put(text, kind: "disclosure", child: "C7")
        _ = try f.put(text, kind: "disclosure", child: "C8")
        XCTAssertEqual(try f.vault.records.show(id: a.id, by: .operator("dpo:sam")).id, a.id)
        let listed = try f.vault.records.list(RecordFilter(school: "S1", child: "C7"), by: .operator("dpo:sam"))
        XCTAssertEqual(listed.map(\.id), [a.id])
        let events = try f.events
        XCTAssertTrue(events.contains { $0.action == "show" && $0.actor == "dpo:sam" && $0.record == a.id })
        XCTAssertTrue(events.contains { $0.action == "list" && $0.actor == "dpo:sam" && $0.child == "C7" })
    }

    func testListIsChronological() throws {
        var now = Date(timeIntervalSince1970: 1_700_000_000)
        let lock = NSLock()
        var options = Vault.Options()
        let box = Box(now)
        options.clock = { lock.withLock { box.advance() } }
        let f = try VaultFixture(options: options)
        var ids: [String] = []
        for i in 0..<5 { ids.append(try f.put(Array("note \(i)".utf8), kind: "disclosure").id) }
        now = Date()
        XCTAssertEqual(try f.vault.records.list(RecordFilter(), by: .operator("t")).map(\.id), ids)
    }

    func testLargeFileStreamsThroughAndBack() throws {
        let f = try VaultFixture()
        var bytes = Array("%PDF-1.4\n".utf8)
        bytes += (0..<(5 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 13) }
        let record = try f.put(bytes, kind: "minutes", filename: "big.pdf")
        XCTAssertEqual(record.sniffedType, "application/pdf")
        XCTAssertEqual(try f.get(record.id), bytes)
    }
}

final class Box: @unchecked Sendable {
    var date: Date
    init(_ date: Date) { self.date = date }
    func advance() -> Date {
        date += 1
        return date
    }
}
