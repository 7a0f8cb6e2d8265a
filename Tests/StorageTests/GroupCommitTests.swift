import Foundation
import GRDB
import XCTest
@testable import KeyManagement
@testable import Storage

/// Concurrent writers share transactions (one fsync per group) without losing, reordering or
/// entangling each other's work.
final class GroupCommitTests: XCTestCase {
    var dir: String!
    var catalog: SQLiteCatalog!
    var signer: AuditSigner!
    var verifier: AuditVerifier!

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "group-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let keys = try KeyStore.create(directory: dir, master: try MasterKeyFile.create(at: dir + "/master.key"))
        signer = try keys.auditSigner()
        catalog = try SQLiteCatalog.create(path: dir + "/metadata.sqlite", vaultID: keys.vaultID)
        verifier = AuditVerifier(vaultID: keys.vaultID, publicKey: signer.publicKey)
        // A vault's log begins with its init event, as `Vault.create` writes it.
        try catalog.append([AuditEntry(actor: "cli:op", action: "init", outcome: .ok)], signer: signer)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    static func record(_ id: String) -> EvidenceRecord {
        EvidenceRecord(
            id: id, school: "S1", child: "C1", concern: "K1", kind: "minutes", filename: "f", declaredType: nil,
            sniffedType: "text/plain", size: 1, sha256: "00", ciphertextBlake2b: "00", ciphertextSize: 1,
            createdAtMillis: 0, createdBy: "t", kekID: "k", wrappedDEK: Data([1]))
    }

    func testConcurrentAppendsAllLandInOneIntactChain() throws {
        let catalog = self.catalog!, signer = self.signer!
        DispatchQueue.concurrentPerform(iterations: 400) { i in
            _ = try? catalog.append([AuditEntry(actor: "t\(i)", action: "get", outcome: .ok)], signer: signer)
        }
        let events = try catalog.events(record: nil)
        XCTAssertEqual(events.count, 1 + 400)
        XCTAssertEqual(Set(events.dropFirst().map(\.actor)).count, 400, "every writer's event is there once")
        let report = try verifier.verify(catalog)
        XCTAssertTrue(report.isIntact, "\(report.problems)")
        XCTAssertEqual(report.unsignedTail, 0, "the last group signed a checkpoint")
    }

    func testOneWritersFailureDoesNotUndoAnothersWorkInTheSameGroup() throws {
        let catalog = self.catalog!, signer = self.signer!
        let taken = RecordID.generate()
        try catalog.commitRecord(Self.record(taken), event: AuditEntry(actor: "t", action: "put", outcome: .ok, record: taken), signer: signer)
        let failed = Counter()
        DispatchQueue.concurrentPerform(iterations: 200) { i in
            // Every fourth writer reuses an existing id: its row and its event must both vanish.
            let id = i % 4 == 0 ? taken : RecordID.generate()
            do {
                try catalog.commitRecord(Self.record(id), event: AuditEntry(actor: "w\(i)", action: "put", outcome: .ok, record: id), signer: signer)
            } catch {
                failed.add()
            }
        }
        XCTAssertEqual(failed.value, 50)
        XCTAssertEqual(try catalog.allRecordIDs().count, 1 + 150)
        let events = try catalog.events(record: nil)
        XCTAssertEqual(events.count, 2 + 150, "a failed writer's event must not be committed (the log begins with init)")
        XCTAssertTrue(try verifier.verify(catalog).isIntact)
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func add() { lock.withLock { n += 1 } }
    var value: Int { lock.withLock { n } }
}
