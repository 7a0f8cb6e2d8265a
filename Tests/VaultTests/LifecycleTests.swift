import Foundation
import GRDB
import KeyManagement
import Storage
import TestSupport
import XCTest
@testable import Vault

/// A clock the tests move by hand.
final class TestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var now: Date
    init(_ text: String) { now = ISO8601DateFormatter().date(from: text + "T10:00:00Z")! }
    func read() -> Date { lock.withLock { now } }
    func advance(days: Int) { lock.withLock { now += Double(days) * 86_400 } }
    func set(_ text: String) { lock.withLock { now = ISO8601DateFormatter().date(from: text + "T10:00:00Z")! } }
}

/// Retention, legal holds, two-person shredding, certificates and the key lifecycle, with a clock
/// the test controls.
final class LifecycleTests: XCTestCase {
    var clock: TestClock!
    var f: VaultFixture!
    var dsl: Principal!
    var deputy: Principal!
    var dpo: Principal!
    var dpo2: Principal!
    var otherDSL: Principal!
    var staff: Principal!

    override func setUpWithError() throws {
        clock = TestClock("2026-01-15")
        var options = Vault.Options()
        let c = clock!
        options.clock = { c.read() }
        f = try VaultFixture(options: options)
        dsl = try f.signIn("dsl1", .dsl, schools: ["S1"])
        deputy = try f.signIn("deputy1", .deputy, schools: ["S1"])
        dpo = try f.signIn("dpo1", .dpo, schools: ["S1", "S2"])
        dpo2 = try f.signIn("dpo2", .dpo, schools: ["S1"])
        otherDSL = try f.signIn("dsl2", .dsl, schools: ["S2"])
        staff = try f.signIn("staff1", .staff, schools: ["S1"])
    }

    func put(_ text: String, school: String = "S1", child: String = "C1", concern: String = "K1") throws -> EvidenceRecord {
        try f.put(content(text), kind: "disclosure", school: school, child: child, concern: concern)
    }

    /// A plain-text note libmagic recognises as text.
    func content(_ text: String) -> [UInt8] { Array("Note of a disclosure, written down by staff: \(text).\n".utf8) }

    func events(_ action: String) throws -> [AuditEvent] { try f.events.filter { $0.action == action } }

    /// A hold's release as two people do it: one asks, another approves.
    @discardableResult
    func release(_ hold: Hold, reason: String = "investigation closed", by requester: Principal, approver: Principal) throws -> Hold {
        _ = try f.vault.lifecycle.requestHoldRelease(id: hold.id, reason: reason, by: .integration(requester))
        return try f.vault.lifecycle.approveHoldRelease(id: hold.id, by: .integration(approver))
    }

    func shred(_ ids: [String], by requester: Principal? = nil, approver: Principal? = nil) throws -> CertificateOfDestruction {
        let request = try f.vault.lifecycle.requestShred(school: "S1", records: ids, reason: "retention reviewed", by: .integration(requester ?? dpo))
        return try f.vault.lifecycle.approveShred(id: request.id, by: .integration(approver ?? dsl))
    }

    // MARK: retention

    func testReviewDateIsThe25thBirthdayOr25YearsFromCreation() throws {
        let r = try put("disclosure")
        XCTAssertEqual(r.reviewOn, "2051-01-15", "no date of birth: 25 years from creation")
        XCTAssertEqual(try f.vault.lifecycle.setDateOfBirth(child: "C1", dob: "2012-02-29", by: .operator("op")), 1)
        let after = try f.vault.catalog.record(id: r.id)!
        XCTAssertEqual(after.reviewOn, "2037-03-01", "25th birthday (29 February is 1 March in a year without one: never a day early)")
        XCTAssertNotEqual(after.kekID, r.kekID, "the data key moved to the KEK of its new review month")
        XCTAssertEqual(try f.vault.keys.status(by: .operator("test")).first { $0.info.id == after.kekID }?.info.period, "2037-03")
        XCTAssertEqual(try f.get(r.id), content("disclosure"), "still readable under its new KEK")
        let later = try put("later disclosure")
        XCTAssertEqual(later.reviewOn, "2037-03-01", "a new record of the child takes the date of birth")
        XCTAssertEqual(later.kekID, after.kekID)
        XCTAssertEqual(try events("set-dob").count, 1)
        XCTAssertEqual(try events("kek-create").compactMap(\.reason).map { String($0.suffix(7)) }, ["2051-01", "2037-03"],
                       "each new period KEK is an audit event")
    }

    func testDateOfBirthMustBeARealPastDay() throws {
        for bad in ["2012-13-01", "2013-02-29", "12-01-2012", "2012-1-1", "tomorrow", "2027-01-01", "2012-01-01T00:00"] {
            XCTAssertThrowsError(try f.vault.lifecycle.setDateOfBirth(child: "C1", dob: bad, by: .operator("op")), bad) {
                guard case VaultError.invalidArgument = $0 else { return XCTFail("\(bad): \($0)") }
            }
        }
        XCTAssertThrowsError(try f.vault.lifecycle.setDateOfBirth(child: "C1", dob: "2012-01-01", school: "S1", by: .integration(staff))) {
            XCTAssertEqual($0 as? VaultError, .forbidden("the staff role may not set-dob evidence"))
        }
        XCTAssertThrowsError(try f.vault.lifecycle.setDateOfBirth(child: "C1", dob: "2012-01-01", school: "S2", by: .integration(dsl)))
        XCTAssertEqual(try events("set-dob").filter { $0.outcome == "denied" }.count, 2)
    }

    func testRetentionDueListsWhatIsDuePerSchoolAndOnlyTheCallersSchools() throws {
        let a = try put("a", child: "C1")
        let b = try put("b", school: "S2", child: "C2")
        _ = try put("c", child: "C3")
        _ = try f.vault.lifecycle.setDateOfBirth(child: "C1", dob: "2005-06-01", by: .operator("op"))   // due 2030-06-01
        _ = try f.vault.lifecycle.setDateOfBirth(child: "C2", dob: "2004-01-01", by: .operator("op"))   // due 2029-01-01
        XCTAssertTrue(try f.vault.lifecycle.retentionDue(asOf: "2028-12-31", by: .operator("op")).isEmpty)
        let due = try f.vault.lifecycle.retentionDue(asOf: "2030-06-01", by: .operator("op"))
        XCTAssertEqual(due.map(\.school), ["S1", "S2"])
        XCTAssertEqual(due.map { $0.records.map(\.id) }, [[a.id], [b.id]])
        XCTAssertEqual(try f.vault.lifecycle.retentionDue(asOf: "2030-06-01", by: .integration(dsl)).map(\.school), ["S1"], "a DSL sees only their school")
        XCTAssertThrowsError(try f.vault.lifecycle.retentionDue(asOf: "2030-06-01", school: "S2", by: .integration(dsl)))
        XCTAssertThrowsError(try f.vault.lifecycle.retentionDue(asOf: "2030-06-01", by: .integration(staff)))
        XCTAssertThrowsError(try f.vault.lifecycle.retentionDue(asOf: "2030-02-30", by: .operator("op")))
        _ = try f.vault.lifecycle.placeHold(school: "S1", scope: .record, target: a.id, reason: "police investigation", by: .integration(dpo))
        XCTAssertEqual(try f.vault.lifecycle.retentionDue(asOf: "2030-06-01", school: "S1", by: .integration(dpo)).first?.records.first?.held, true)
        XCTAssertGreaterThanOrEqual(try events("retention-due").filter { $0.outcome == "ok" }.count, 3)
    }

    // MARK: holds

    func testAHeldRecordCannotBeShreddedByAnyPathAndEachRefusalIsAudited() throws {
        let r = try put("held")
        let scopes: [(Hold.Scope, String)] = [(.record, r.id), (.child, "C1"), (.concern, "K1")]
        for (scope, target) in scopes {
            let hold = try f.vault.lifecycle.placeHold(school: "S1", scope: scope, target: target, reason: "police investigation", by: .integration(dsl))
            XCTAssertEqual(try f.vault.catalog.record(id: r.id)?.kekID,
                           try f.vault.keys.status(by: .operator("test")).first { $0.info.period == KeyStore.holdPeriod }?.info.id,
                           "a held record's key sits under the hold KEK")
            // Path 1: asking for the shred.
            XCTAssertThrowsError(try f.vault.lifecycle.requestShred(school: "S1", records: [r.id], reason: "erasure", by: .integration(dpo))) {
                guard case VaultError.conflict = $0 else { return XCTFail("\($0)") }
            }
            // Path 2: a request made before the hold, approved after it.
            try release(hold, by: dsl, approver: dpo)
            let request = try f.vault.lifecycle.requestShred(school: "S1", records: [r.id], reason: "erasure", by: .integration(dpo))
            let again = try f.vault.lifecycle.placeHold(school: "S1", scope: scope, target: target, reason: "inquiry do-not-destroy", by: .integration(dpo))
            XCTAssertThrowsError(try f.vault.lifecycle.approveShred(id: request.id, by: .integration(dsl))) {
                guard case VaultError.conflict(let why) = $0 else { return XCTFail("\($0)") }
                XCTAssertTrue(why.contains("legal hold"), why)
            }
            XCTAssertEqual(try f.get(r.id), content("held"), "\(scope): still there and readable")
            XCTAssertEqual(try f.vault.lifecycle.shredRequest(id: request.id)?.state, .void, "refused for a hold: dead for good")
            try release(again, reason: "inquiry released it", by: dpo, approver: deputy)
        }
        XCTAssertEqual(try events("shred-request").filter { $0.outcome == "refused" }.count, 3)
        XCTAssertEqual(try events("shred-approve").filter { $0.outcome == "refused" }.count, 3)
        XCTAssertEqual(try f.vault.catalog.record(id: r.id)?.reviewOn, r.reviewOn)
        XCTAssertNotEqual(try f.vault.catalog.record(id: r.id)?.kekID, try f.vault.keys.status(by: .operator("test")).first { $0.info.period == KeyStore.holdPeriod }?.info.id,
                          "released: back under its period KEK")
    }

    func testHoldsNeedAReasonToPlaceAndToRelease() throws {
        let r = try put("x")
        XCTAssertThrowsError(try f.vault.lifecycle.placeHold(school: "S1", scope: .record, target: r.id, reason: "  ", by: .integration(dsl)))
        let hold = try f.vault.lifecycle.placeHold(school: "S1", scope: .record, target: r.id, reason: "police", by: .integration(dsl))
        XCTAssertThrowsError(try f.vault.lifecycle.requestHoldRelease(id: hold.id, reason: "", by: .integration(dsl)))
        XCTAssertThrowsError(try f.vault.lifecycle.requestHoldRelease(id: hold.id, reason: "done", by: .integration(otherDSL))) {
            guard case VaultError.notFound = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try f.vault.lifecycle.placeHold(school: "S1", scope: .record, target: r.id, reason: "x", by: .integration(staff)))
        XCTAssertThrowsError(try f.vault.lifecycle.placeHold(school: "S2", scope: .record, target: r.id, reason: "x", by: .integration(otherDSL))) {
            guard case VaultError.notFound = $0 else { return XCTFail("another school's record looks missing: \($0)") }
        }
        try release(hold, reason: "done", by: dsl, approver: deputy)
        XCTAssertThrowsError(try f.vault.lifecycle.requestHoldRelease(id: hold.id, reason: "again", by: .integration(dsl))) {
            guard case VaultError.conflict = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try f.vault.lifecycle.approveHoldRelease(id: hold.id, by: .integration(dpo))) {
            guard case VaultError.conflict = $0 else { return XCTFail("\($0)") }
        }
    }

    // MARK: two people

    func testAShredNeedsTwoPeopleOfComplementaryRoles() throws {
        let r = try put("x")
        let request = try f.vault.lifecycle.requestShred(school: "S1", records: [r.id], reason: "erasure", by: .integration(dpo))
        XCTAssertThrowsError(try f.vault.lifecycle.approveShred(id: request.id, by: .integration(dpo)), "the requester") {
            guard case VaultError.conflict(let why) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(why.contains("second person"), why)
        }
        XCTAssertThrowsError(try f.vault.lifecycle.approveShred(id: request.id, by: .integration(dpo2)), "two DPOs") {
            guard case VaultError.conflict = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try f.vault.lifecycle.approveShred(id: request.id, by: .integration(otherDSL)), "a DSL of another school") {
            guard case VaultError.notFound = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try f.vault.lifecycle.approveShred(id: request.id, by: .integration(staff))) {
            guard case VaultError.forbidden = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertEqual(try f.get(r.id), content("x"), "nothing happened yet")
        let certificate = try f.vault.lifecycle.approveShred(id: request.id, by: .integration(deputy))
        XCTAssertEqual(certificate.requestedBy, dpo.actor.description)
        XCTAssertEqual(certificate.approvedBy, deputy.actor.description)
        XCTAssertThrowsError(try f.vault.lifecycle.approveShred(id: request.id, by: .integration(dsl)), "no replay of an approval") {
            guard case VaultError.conflict = $0 else { return XCTFail("\($0)") }
        }
        // And the other way round: a DSL asks, a DPO approves.
        let s = try put("y")
        XCTAssertEqual(try shred([s.id], by: dsl, approver: dpo).records.map(\.id), [s.id])
        XCTAssertEqual(try events("shred-approve").filter { $0.outcome == "refused" }.count, 3)
        XCTAssertEqual(try events("shred").filter { $0.outcome == "denied" }.count, 2)
    }

    func testRequestsNamingMissingOrForeignRecordsAreRefusedAlike() throws {
        let foreign = try put("s2", school: "S2", child: "C9")
        for ids in [[foreign.id], [RecordID.generate()], ["not-an-id"], []] {
            XCTAssertThrowsError(try f.vault.lifecycle.requestShred(school: "S1", records: ids, reason: "x", by: .integration(dpo))) { error in
                switch error as? VaultError {
                case .notFound?, .invalidArgument?: break
                default: XCTFail("\(ids): \(error)")
                }
            }
        }
        XCTAssertEqual(try f.get(foreign.id), content("s2"))
    }

    // MARK: what a shred leaves

    func testAShreddedRecordIsGoneFromEveryFileAndItsCertificateVerifies() throws {
        let keep = try put("keep this", child: "C2")
        let r = try put("shred this one")
        _ = try f.vault.lifecycle.setDateOfBirth(child: "C2", dob: "2010-01-01", by: .operator("op"))
        let wrapped = try f.vault.catalog.record(id: r.id)!.wrappedDEK
        // Control: the search finds the wrapped key while the record stands.
        XCTAssertTrue(try f.store.contents().contains { $0.1.firstRange(of: Array(wrapped)) != nil }, "the search finds nothing at all")
        let certificate = try shred([r.id])

        XCTAssertThrowsError(try f.get(r.id)) { guard case VaultError.notFound = $0 else { return XCTFail("\($0)") } }
        XCTAssertFalse(try f.vault.records.list(RecordFilter(), by: .operator("t")).map(\.id).contains(r.id))
        XCTAssertFalse(try f.store.storedBlobs().contains { $0.contains(r.id) }, "the blob is gone")
        // While the store is open (a serving process) and after it closed: every file of the
        // folder, or a dump of the database and every object of the bucket.
        for (place, bytes) in try f.store.contents() {
            XCTAssertNil(bytes.firstRange(of: Array(wrapped)), "the wrapped data key survives in \(place) of the open store")
        }
        f.vault.close()
        for (place, bytes) in try f.store.contents() {
            XCTAssertNil(bytes.firstRange(of: Array(wrapped)), "the wrapped data key survives in \(place)")
        }
        f.vault = try f.reopen()
        let tombstone = try XCTUnwrap(try f.vault.catalog.tombstone(record: r.id))
        XCTAssertEqual(tombstone.sha256, r.sha256)
        XCTAssertEqual(tombstone.requestedBy, dpo.actor.description)
        XCTAssertEqual(tombstone.approvedBy, dsl.actor.description)
        XCTAssertTrue(f.vault.publicKey.verify(signature: Array(tombstone.signature), message: tombstone.signedMessage(vaultID: f.vault.vaultID)))
        let report = try f.vault.audit.verify(by: .operator("t"), useKeys: true)
        XCTAssertTrue(report.isIntact, "\(report)")
        XCTAssertEqual(report.tombstones, 1)
        XCTAssertTrue(try f.vault.audit.verifyLog(by: .operator("test")).isIntact)

        // The certificate: verifies with the public key alone; any changed byte fails.
        let bytes = try certificate.fileBytes()
        XCTAssertEqual(try CertificateOfDestruction.verify(bytes, publicKey: f.vault.publicKey), certificate)
        XCTAssertEqual(certificate.records.map(\.sha256), [r.sha256])
        XCTAssertEqual(certificate.records.first?.kekDestroyed, true, "it was the only record of its period")
        XCTAssertFalse(String(decoding: bytes, as: UTF8.self).contains("evidence"), "no filename in a certificate")
        for i in stride(from: 0, to: bytes.count, by: max(1, bytes.count / 97)) {
            var changed = bytes
            changed[i] ^= 0x01
            XCTAssertThrowsError(try CertificateOfDestruction.verify(changed, publicKey: f.vault.publicKey), "byte \(i) changed")
        }
        let otherVault = try VaultFixture()
        XCTAssertThrowsError(try CertificateOfDestruction.verify(bytes, publicKey: otherVault.vault.publicKey))
        XCTAssertEqual(try f.vault.lifecycle.shredCertificate(id: certificate.request, by: .integration(dpo)), certificate)

        // The deletion ledger names it, signed.
        let ledger = try DeletionLedger(files: f.vault.keyFiles, vaultID: f.vault.vaultID).entries(publicKey: f.vault.publicKey)
        XCTAssertEqual(ledger.map(\.record), [r.id])
        XCTAssertEqual(try f.get(keep.id), content("keep this"))
        XCTAssertEqual(try events("shred").map(\.record), [r.id])
        XCTAssertEqual(try events("kek-destroy").count, 1)
    }

    func testResurrectionFromANaiveBackupCannotBeDecrypted() throws {
        try TestBackend.requireEmbedded("copies the store folder as a naive backup")
        let keep = try put("keep", child: "C2")
        let r = try put("gone", child: "C1")
        let shared = try put("shared period", child: "C3")
        _ = try f.vault.lifecycle.setDateOfBirth(child: "C1", dob: "2001-03-10", by: .operator("op"))   // its own period, 2026-03
        _ = try f.vault.lifecycle.setDateOfBirth(child: "C3", dob: "2001-04-10", by: .operator("op"))
        let s = try put("shares a period with the one below", child: "C3")
        let periodKEK = try f.vault.catalog.record(id: r.id)!.kekID
        // A naive backup: the whole store folder, copied while it runs.
        f.vault.close()
        let backup = f.root + "/naive-backup"
        try FileManager.default.copyItem(atPath: f.layout.root, toPath: backup)
        f.vault = try f.reopen()
        _ = try shred([r.id, s.id])
        XCTAssertEqual(try f.vault.keys.status(by: .operator("test")).first { $0.info.id == periodKEK }?.info.state, .destroyed)
        // Put the old data back beside the current key store.
        f.vault.close()
        try putBackDataFrom(backup)
        f.vault = try f.reopen()
        XCTAssertNotNil(try f.vault.catalog.record(id: r.id), "the old row and wrapped key are back")
        for id in [r.id, s.id] {
            XCTAssertThrowsError(try f.get(id), "get") { guard case VaultError.notFound = $0 else { return XCTFail("\($0)") } }
            XCTAssertThrowsError(try f.vault.records.show(id: id, by: .operator("t")))
            XCTAssertThrowsError(try f.vault.records.download(id: id, by: .integration(dsl)))
        }
        // Even the raw path, bypassing the ledger: the period KEK is gone from the key store.
        XCTAssertThrowsError(try f.vault.keyStore!.kek(id: periodKEK)) {
            XCTAssertEqual($0 as? KeyManagementError, .kekDestroyed(periodKEK))
        }
        let report = try f.vault.audit.verify(by: .operator("t"), useKeys: true)
        XCTAssertEqual(Set(report.resurrected), [r.id, s.id], "verify names the shredded records that came back")
        XCTAssertFalse(report.isIntact)
        XCTAssertEqual(try f.get(keep.id), content("keep"))
        XCTAssertEqual(try f.get(shared.id), content("shared period"))
    }

    // MARK: key lifecycle

    func testRotationRewrapsEveryLiveKeyAndRetiredKEKsAreDestroyedAfterTheWindow() throws {
        var ids: [String: String] = [:]
        for i in 0..<30 {
            let r = try put("record \(i)", school: i % 2 == 0 ? "S1" : "S2", child: "C\(i % 4)")
            ids[r.id] = "record \(i)"
        }
        _ = try f.vault.lifecycle.setDateOfBirth(child: "C1", dob: "2011-05-05", by: .operator("op"))
        let before = try f.vault.keys.status(by: .operator("test")).filter { $0.info.state == .active }
        let report = try f.vault.keys.rotateKEKs(by: .operator("op"), batchSize: 7)
        XCTAssertEqual(report.rewrapped, 30)
        XCTAssertEqual(Set(report.retired), Set(before.map(\.info.id)))
        let status = try f.vault.keys.status(by: .operator("test"))
        for old in before { XCTAssertEqual(status.first { $0.info.id == old.info.id }?.records, 0) }
        for (id, text) in ids { XCTAssertEqual(try f.get(id), content(text)) }
        XCTAssertTrue(try f.vault.keys.destroyRetiredKEKs(by: .operator("op")).isEmpty, "inside the key-store backup window nothing is destroyed")
        clock.advance(days: 36)
        XCTAssertEqual(Set(try f.vault.keys.destroyRetiredKEKs(by: .operator("op"))), Set(before.map(\.info.id)))
        for (id, text) in ids { XCTAssertEqual(try f.get(id), content(text), "live records are unaffected") }
        XCTAssertTrue(try f.vault.audit.verify(by: .operator("t"), useKeys: true).isIntact)
        XCTAssertEqual(try events("kek-rotate").count, 1)
        XCTAssertEqual(try events("kek-destroy").count, before.count)
        XCTAssertTrue(try f.vault.audit.verifyLog(by: .operator("test")).isIntact)
    }

    func testARetiredKEKStillInUseIsNotDestroyed() throws {
        let r = try put("x")
        let kek = r.kekID
        try f.vault.keyStore!.retire(ids: [kek])
        clock.advance(days: 100)
        XCTAssertTrue(try f.vault.keys.destroyRetiredKEKs(olderThanDays: 0, by: .operator("op")).isEmpty)
        XCTAssertEqual(try f.get(r.id), content("x"))
    }

    func testANewMasterKeyOpensTheStoreAndTheOldOneNoLonger() throws {
        let r = try put("x")
        let newKey = f.root + "/new-master.key"
        try f.vault.keys.rotateMasterKey(to: .keyFile(newKey), by: .operator("op"))
        f.vault.close()
        XCTAssertThrowsError(try Vault.open(at: f.layout, master: f.store.master, options: f.store.options())) {
            XCTAssertEqual($0 as? VaultError, .key(.wrongMasterKey))
        }
        f.vault = try Vault.open(at: f.layout, master: .keyFile(newKey), options: f.store.options())
        XCTAssertEqual(try f.get(r.id), content("x"))
        XCTAssertEqual(try events("master-rotate").count, 1)
        XCTAssertTrue(try f.vault.audit.verifyLog(by: .operator("test")).isIntact, "the signing key survived the change")
    }

    func testTheDeletionLedgerRefusesEditsTruncationAndReordering() throws {
        let a = try put("a"), b = try put("b")
        _ = try shred([a.id])
        _ = try shred([b.id])
        let ledger = DeletionLedger(files: f.vault.keyFiles, vaultID: f.vault.vaultID)
        let name = DeletionLedger.fileName
        let original = Data(try f.store.keyFile(name))
        XCTAssertEqual(try ledger.entries(publicKey: f.vault.publicKey).count, 2)
        let lines = original.split(separator: 0x0a)
        let variants: [Data] = [
            Data(lines[1] + [0x0a] + lines[0] + [0x0a]),                                // reordered
            Data(lines[1] + [0x0a]),                                                      // first entry dropped
            original.dropLast(5),                                                         // truncated
            Data(String(decoding: original, as: UTF8.self).replacingOccurrences(of: a.id, with: b.id).utf8),  // edited
        ]
        for (i, variant) in variants.enumerated() {
            try f.store.replaceKeyFile(name, with: Array(variant))
            XCTAssertThrowsError(try ledger.entries(publicKey: f.vault.publicKey), "variant \(i)")
            XCTAssertNotNil(try f.vault.audit.verify(by: .operator("t"), useKeys: false).ledgerProblem, "variant \(i)")
        }
        try f.store.replaceKeyFile(name, with: Array(original))
        XCTAssertNil(try f.vault.audit.verify(by: .operator("t"), useKeys: false).ledgerProblem)
    }
}

extension LifecycleTests {
    /// Child ids are each school's own: a date of birth set for S1's "C1" must not re-date S2's "C1".
    func testADateOfBirthBelongsToOneSchoolsChild() throws {
        let s1 = try put("s1", school: "S1", child: "C1")
        let s2 = try put("s2", school: "S2", child: "C1")
        _ = try f.vault.lifecycle.setDateOfBirth(child: "C1", dob: "2010-01-01", school: "S1", by: .integration(dsl))
        XCTAssertEqual(try f.vault.catalog.record(id: s1.id)?.reviewOn, "2035-01-01")
        XCTAssertEqual(try f.vault.catalog.record(id: s2.id)?.reviewOn, s2.reviewOn)
        // The operator's every-school date does not override S1's own.
        _ = try f.vault.lifecycle.setDateOfBirth(child: "C1", dob: "2011-01-01", by: .operator("op"))
        XCTAssertEqual(try f.vault.catalog.record(id: s1.id)?.reviewOn, "2035-01-01")
        XCTAssertEqual(try f.vault.catalog.record(id: s2.id)?.reviewOn, "2036-01-01")
        XCTAssertEqual(try put("later", school: "S1", child: "C1").reviewOn, "2035-01-01")
        XCTAssertEqual(try put("later", school: "S3", child: "C1").reviewOn, "2036-01-01")
        XCTAssertThrowsError(try f.vault.lifecycle.setDateOfBirth(child: "C1", dob: "2010-01-01", by: .integration(dsl)), "a user names the school")
    }
}

extension LifecycleTests {
    func testRotationLeavesADamagedKeyWhereItIsAndMovesEveryOther() throws {
        let good = try put("good"), bad = try put("bad", child: "C2")
        var wrapped = [UInt8](try f.vault.catalog.record(id: bad.id)!.wrappedDEK)
        wrapped[30] ^= 1
        try f.tamper("UPDATE records SET wrapped_dek = ? WHERE id = ?", [Data(wrapped), bad.id])
        let report = try f.vault.keys.rotateKEKs(by: .operator("op"))
        XCTAssertEqual(report.skipped, [bad.id])
        XCTAssertEqual(report.rewrapped, 1)
        XCTAssertEqual(try f.get(good.id), content("good"))
        XCTAssertNil(f.vault.rotationInProgress)
    }

    /// Uploads and downloads go on while a rotation walks the records.
    func testReadsAndWritesKeepWorkingDuringARotation() throws {
        var texts: [String: String] = [:]
        for i in 0..<60 { texts[try put("before \(i)", child: "C\(i % 5)").id] = "before \(i)" }
        let vault = f.vault
        let rotation = DispatchQueue(label: "rotation")
        let done = DispatchSemaphore(value: 0)
        final class Outcome: @unchecked Sendable { var error: Error?; var report: RotationReport? }
        let outcome = Outcome()
        rotation.async {
            do { outcome.report = try vault.keys.rotateKEKs(by: .operator("op"), batchSize: 3) } catch { outcome.error = error }
            done.signal()
        }
        for i in 0..<20 {
            texts[try put("during \(i)", child: "C\(i % 5)").id] = "during \(i)"
            let (id, text) = texts.first { $0.value == "before \(i)" }!
            XCTAssertEqual(try f.get(id), content(text))
        }
        done.wait()
        XCTAssertNil(outcome.error)
        for (id, text) in texts { XCTAssertEqual(try f.get(id), content(text), id) }
        XCTAssertTrue(try f.vault.audit.verify(by: .operator("t"), useKeys: true).isIntact)
        // A second rotation sweeps anything written under a KEK the first one retired.
        _ = try f.vault.keys.rotateKEKs(by: .operator("op"))
        let retired = Set(try f.vault.keys.status(by: .operator("test")).filter { $0.info.state == .retired }.map(\.info.id))
        XCTAssertEqual(try f.vault.keys.status(by: .operator("test")).filter { retired.contains($0.info.id) }.map(\.records).reduce(0, +), 0)
    }
}

extension LifecycleTests {
    /// The database and blobs of an older copy of the store put back, keys/ left as they are:
    /// what someone who kept a copy of the data (not of the keys) can do.
    func putBackDataFrom(_ backup: String) throws {
        for item in ["metadata.sqlite", "metadata.sqlite-wal", "metadata.sqlite-shm", "blobs"] {
            try? FileManager.default.removeItem(atPath: f.layout.root + "/" + item)
            if FileManager.default.fileExists(atPath: backup + "/" + item) {
                try FileManager.default.copyItem(atPath: backup + "/" + item, toPath: f.layout.root + "/" + item)
            }
        }
    }

    /// Cutting the deletion ledger back, or deleting it, must not let an older database serve a
    /// shredded record: the key store remembers how long the ledger is.
    func testACutOrDeletedLedgerFailsClosed() throws {
        try TestBackend.requireEmbedded("puts back a copy of the store folder")
        let keep = try put("keep", child: "C2")
        let first = try put("first", child: "C3"), second = try put("second", child: "C4")
        f.vault.close()
        let backup = f.root + "/old"
        try FileManager.default.copyItem(atPath: f.layout.root, toPath: backup)
        f.vault = try f.reopen()
        _ = try shred([first.id])
        _ = try shred([second.id])
        f.vault.close()
        try putBackDataFrom(backup)
        let ledgerPath = f.layout.keys + "/" + DeletionLedger.fileName
        let full = try Data(contentsOf: URL(fileURLWithPath: ledgerPath))
        let firstAppend = full.prefix(through: full.firstIndex(of: 0x0a)!)
        for (name, cut) in [("cut to the first append", Data(firstAppend)), ("deleted", nil)] {
            if let cut { try cut.write(to: URL(fileURLWithPath: ledgerPath)) } else { try FileManager.default.removeItem(atPath: ledgerPath) }
            f.vault = try f.reopen()
            XCTAssertThrowsError(try f.get(second.id), name)
            XCTAssertThrowsError(try f.get(keep.id), "\(name): nothing is opened while the ledger is short")
            XCTAssertNotNil(try f.vault.audit.verify(by: .operator("t"), useKeys: false).ledgerProblem, name)
            f.vault.close()
        }
        try full.write(to: URL(fileURLWithPath: ledgerPath))
        f.vault = try f.reopen()
        XCTAssertThrowsError(try f.get(second.id))
        XCTAssertEqual(try f.get(keep.id), content("keep"))
    }

    /// The key store's record of the ledger's length is signed: removing it (also by writing
    /// the file back as an older version), lowering it or forging it, with the ledger emptied
    /// and an older database put back, never serves a shredded record.
    func testARemovedLoweredOrDowngradedLedgerHeadFailsClosed() throws {
        try TestBackend.requireEmbedded("puts back a copy of the store folder")
        let keep = try put("keep", child: "C2")
        let gone = try put("gone", child: "C3")
        f.vault.close()
        let backup = f.root + "/old"
        try FileManager.default.copyItem(atPath: f.layout.root, toPath: backup)
        f.vault = try f.reopen()
        _ = try shred([gone.id])
        f.vault.close()
        try putBackDataFrom(backup)
        let ledgerPath = f.layout.keys + "/" + DeletionLedger.fileName
        let storePath = f.layout.keyStore
        let original = try Data(contentsOf: URL(fileURLWithPath: storePath))
        XCTAssertEqual(try KeyStore.ledgerHead(directory: f.layout.keys)?.seq, 1)
        func edited(_ change: (inout [String: Any]) -> Void) throws -> Data {
            var json = try JSONSerialization.jsonObject(with: original) as! [String: Any]
            change(&json)
            return try JSONSerialization.data(withJSONObject: json)
        }
        let tampered: [(String, Data, opensWithKeys: Bool)] = [
            ("head removed", try edited { $0["ledgerHead"] = nil }, true),
            ("head lowered to zero", try edited { $0["ledgerHead"] = ["seq": 0, "hash": "", "signature": ($0["ledgerHead"] as! [String: Any])["signature"]!] }, true),
            ("head unsigned", try edited { var h = $0["ledgerHead"] as! [String: Any]; h["signature"] = nil; $0["ledgerHead"] = h }, true),
            ("written back as version 2 without its head", try edited { $0["ledgerHead"] = nil; $0["version"] = 2 }, false),
        ]
        for (name, bytes, opens) in tampered {
            try Data().write(to: URL(fileURLWithPath: ledgerPath))
            try bytes.write(to: URL(fileURLWithPath: storePath))
            if opens {
                f.vault = try f.reopen()
                XCTAssertThrowsError(try f.get(gone.id), name)
                XCTAssertThrowsError(try f.get(keep.id), "\(name): nothing is opened while the head is in doubt")
                XCTAssertNotNil(try f.vault.audit.verify(by: .operator("t"), useKeys: false).ledgerProblem, name)
                f.vault.close()
            } else {
                XCTAssertThrowsError(try f.reopen(), name) {
                    XCTAssertTrue("\($0)".contains("tampered"), "\(name): \($0)")
                }
            }
        }
    }

    /// A half-written append (a crash, a full disk) is cut off by the next append, which then
    /// carries on; nothing stays locked.
    func testAHalfWrittenLedgerAppendIsRepairedByTheNext() throws {
        try TestBackend.requireEmbedded("writes half an append into the ledger file")
        let a = try put("a", child: "C5"), b = try put("b", child: "C6")
        _ = try shred([a.id])
        let ledger = DeletionLedger(directory: f.layout.keys, vaultID: f.vault.vaultID)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: ledger.path))
        handle.seekToEndOfFile()
        handle.write(Data(#"{"hash":"00","kind":"shred","prev""#.utf8))
        try handle.close()
        _ = try shred([b.id])
        XCTAssertEqual(try ledger.entries(publicKey: f.vault.publicKey).map(\.record), [a.id, b.id])
    }

    /// Another process changing the master key must not let this one wrap a new KEK under the
    /// old key (which the operator is told to destroy).
    func testAMasterKeyChangedElsewhereStopsThisProcessWrappingUnderTheOldKey() throws {
        _ = try put("x", child: "C1")
        let other = try f.reopen()
        try other.keys.rotateMasterKey(to: .keyFile(f.root + "/new.key"), by: .operator("op"))
        XCTAssertThrowsError(try put("a new school's first record", school: "S9", child: "C1")) {
            XCTAssertEqual($0 as? VaultError, .key(.masterKeyChanged))
        }
        other.close()
        f.vault.close()
        f.vault = try Vault.open(at: f.layout, master: .keyFile(f.root + "/new.key"), options: f.store.options())
        XCTAssertNoThrow(try put("after a restart", school: "S9", child: "C1"))
        XCTAssertTrue(try f.vault.audit.verify(by: .operator("t"), useKeys: true).isIntact)
    }
}

extension LifecycleTests {
    /// An approval acts on a request a person made; if that person has since been revoked, or
    /// the request has waited past its lifetime, it must be made again.
    func testAnOldRequestOrOneByARevokedRequesterCannotBeApproved() throws {
        let r = try put("x")
        let old = try f.vault.lifecycle.requestShred(school: "S1", records: [r.id], reason: "erasure", by: .integration(dpo))
        clock.advance(days: ShredPolicy.requestLifetimeDays + 1)
        XCTAssertThrowsError(try f.vault.lifecycle.approveShred(id: old.id, by: .integration(dsl))) {
            guard case VaultError.conflict(let why) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(why.contains("older than"), why)
        }
        let fresh = try f.vault.lifecycle.requestShred(school: "S1", records: [r.id], reason: "erasure", by: .integration(dpo2))
        try f.vault.users.revoke(name: dpo2.name, by: .operator("test"))
        XCTAssertThrowsError(try f.vault.lifecycle.approveShred(id: fresh.id, by: .integration(dsl))) {
            guard case VaultError.conflict(let why) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(why.contains("revoked"), why)
        }
        // The name added again (a stolen token replaced): the old request stays dead.
        clock.advance(days: 1)
        _ = try f.vault.users.addIntegration(name: dpo2.name, role: dpo2.role, schools: dpo2.schools.sorted(), by: .operator("test"))
        XCTAssertThrowsError(try f.vault.lifecycle.approveShred(id: fresh.id, by: .integration(dsl))) {
            guard case VaultError.conflict(let why) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(why.contains("revoked"), why)
        }
        XCTAssertEqual(try f.get(r.id), content("x"))
        XCTAssertEqual(try events("shred-approve").filter { $0.outcome == "refused" }.count, 3)
    }
}

extension LifecycleTests {
    /// A request an approval found blocked by a legal hold is dead: releasing the hold does not
    /// bring it back, so nobody can approve, once the investigation ends, what was asked before it.
    func testAShredRequestRefusedForAHoldMustBeMadeAgainAfterTheHoldIsReleased() throws {
        let r = try put("x")
        let request = try f.vault.lifecycle.requestShred(school: "S1", records: [r.id], reason: "erasure", by: .integration(dpo))
        let hold = try f.vault.lifecycle.placeHold(school: "S1", scope: .child, target: "C1", reason: "police investigation", by: .integration(dsl))
        XCTAssertThrowsError(try f.vault.lifecycle.approveShred(id: request.id, by: .integration(dsl))) {
            guard case VaultError.conflict(let why) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(why.contains("legal hold"), why)
        }
        try release(hold, by: deputy, approver: dpo2)
        XCTAssertThrowsError(try f.vault.lifecycle.approveShred(id: request.id, by: .integration(dsl)), "the hold is gone, the request stays dead") {
            guard case VaultError.conflict(let why) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(why.contains("ask again"), why)
        }
        XCTAssertEqual(try f.get(r.id), content("x"))
        let refusals = try events("shred-approve").filter { $0.outcome == "refused" }
        XCTAssertEqual(refusals.count, 2)
        XCTAssertTrue(refusals.allSatisfy { ($0.reason ?? "").hasPrefix(request.id) }, "\(refusals.map(\.reason))")
        // A fresh request, made and approved after the release, goes through.
        clock.advance(days: 1)
        let fresh = try f.vault.lifecycle.requestShred(school: "S1", records: [r.id], reason: "erasure after the investigation", by: .integration(dpo))
        XCTAssertEqual(try f.vault.lifecycle.approveShred(id: fresh.id, by: .integration(dsl)).records.map(\.id), [r.id])
    }

    /// A hold placed and released while a request waited also ends the request, even though no
    /// approval was tried while it was active: the request was made before the hold's reason existed.
    func testAHoldPlacedAndReleasedWhileARequestWaitedEndsTheRequest() throws {
        let r = try put("x")
        let request = try f.vault.lifecycle.requestShred(school: "S1", records: [r.id], reason: "erasure", by: .integration(dpo))
        clock.advance(days: 1)
        let hold = try f.vault.lifecycle.placeHold(school: "S1", scope: .record, target: r.id, reason: "police investigation", by: .integration(dsl))
        clock.advance(days: 1)
        try release(hold, by: deputy, approver: dpo2)
        XCTAssertThrowsError(try f.vault.lifecycle.approveShred(id: request.id, by: .integration(dsl))) {
            guard case VaultError.conflict(let why) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(why.contains("legal hold") && why.contains("ask again"), why)
        }
        XCTAssertEqual(try f.get(r.id), content("x"))
    }

    /// The hold check at request time is repeated in the transaction that stores the request, so
    /// a hold placed between the vault's look and the write is not missed.
    func testARequestCannotBeStoredWhileARecordItNamesIsHeld() throws {
        let r = try put("x")
        _ = try f.vault.lifecycle.placeHold(school: "S1", scope: .concern, target: "K1", reason: "police investigation", by: .integration(dsl))
        let request = ShredRequest(id: "shred-00000000000000aa", school: "S1", records: [r.id], reason: "erasure",
                                   requestedBy: dpo.actor.description, requestedRole: "dpo", requestedAtMillis: f.vault.nowMillis)
        XCTAssertThrowsError(try f.vault.catalog.createShredRequest(
            request, event: AuditEntry(actor: dpo.actor, action: .shredRequest, outcome: .ok, school: "S1"), signer: f.vault.signer)) {
            XCTAssertEqual($0 as? StorageError, .recordsHeld([r.id]))
        }
        XCTAssertNil(try f.vault.lifecycle.shredRequest(id: request.id))
    }
}

extension LifecycleTests {
    /// A hold protects evidence an investigation needs: one person alone can place it, but not
    /// end it. One DSL, deputy or DPO asks (with a reason); another approves, which releases it.
    func testReleasingAHoldNeedsASecondPerson() throws {
        let r = try put("held")
        let hold = try f.vault.lifecycle.placeHold(school: "S1", scope: .child, target: "C1", reason: "police investigation", by: .integration(dsl))
        let asked = try f.vault.lifecycle.requestHoldRelease(id: hold.id, reason: "investigation closed", by: .integration(dsl))
        XCTAssertTrue(asked.isActive)
        XCTAssertEqual(asked.releaseRequestedBy, dsl.actor.description)
        XCTAssertEqual(try f.vault.lifecycle.holds(school: "S1", by: .integration(dpo)).map(\.id), [hold.id], "asking releases nothing")
        XCTAssertThrowsError(try f.vault.lifecycle.requestShred(school: "S1", records: [r.id], reason: "erasure", by: .integration(dpo)), "still held") {
            guard case VaultError.conflict = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try f.vault.lifecycle.approveHoldRelease(id: hold.id, by: .integration(dsl)), "the requester") {
            guard case VaultError.conflict(let why) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(why.contains("second person"), why)
        }
        XCTAssertThrowsError(try f.vault.lifecycle.approveHoldRelease(id: hold.id, by: .integration(staff))) {
            guard case VaultError.forbidden = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try f.vault.lifecycle.approveHoldRelease(id: hold.id, by: .integration(otherDSL)), "another school's DSL") {
            guard case VaultError.notFound = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try f.vault.lifecycle.requestHoldRelease(id: hold.id, reason: "me too", by: .integration(dpo)), "one request at a time") {
            guard case VaultError.conflict = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertEqual(try f.vault.catalog.hold(id: hold.id)?.isActive, true)
        XCTAssertEqual(try f.vault.catalog.record(id: r.id)?.kekID,
                       try f.vault.keys.status(by: .operator("test")).first { $0.info.period == KeyStore.holdPeriod }?.info.id, "still under the hold KEK")

        let released = try f.vault.lifecycle.approveHoldRelease(id: hold.id, by: .integration(dpo))
        XCTAssertFalse(released.isActive)
        XCTAssertEqual(released.releasedBy, dpo.actor.description)
        XCTAssertEqual(released.releaseRequestedBy, dsl.actor.description)
        XCTAssertEqual(released.releaseReason, "investigation closed")
        XCTAssertEqual(try f.vault.catalog.hold(id: hold.id), released)
        XCTAssertNotEqual(try f.vault.catalog.record(id: r.id)?.kekID,
                          try f.vault.keys.status(by: .operator("test")).first { $0.info.period == KeyStore.holdPeriod }?.info.id, "back under its period KEK")
        clock.advance(days: 1)
        XCTAssertNoThrow(try shred([r.id]), "a fresh request after the release")
        XCTAssertEqual(try events("hold-release-request").map(\.outcome), ["ok", "refused"])
        XCTAssertEqual(try events("hold-release").map(\.outcome), ["refused", "ok"])
        XCTAssertEqual(try events("hold").filter { $0.outcome == "denied" }.count, 2, "the staff member and the other school's DSL")
        XCTAssertTrue(try f.vault.audit.verifyLog(by: .operator("test")).isIntact)
    }

    /// A release request is approved within 30 days and while its requester's account is active
    /// with the same role and school; otherwise it lapses, and someone asks again.
    func testAHoldReleaseRequestLapsesAfter30DaysOrWithItsRequestersAccount() throws {
        let r = try put("held")
        let hold = try f.vault.lifecycle.placeHold(school: "S1", scope: .record, target: r.id, reason: "police investigation", by: .integration(dsl))
        XCTAssertThrowsError(try f.vault.lifecycle.approveHoldRelease(id: hold.id, by: .integration(dpo)), "nothing asked yet") {
            guard case VaultError.conflict(let why) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(why.contains("no release"), why)
        }
        _ = try f.vault.lifecycle.requestHoldRelease(id: hold.id, reason: "investigation closed", by: .integration(dsl))
        clock.advance(days: HoldReleasePolicy.requestLifetimeDays + 1)
        XCTAssertThrowsError(try f.vault.lifecycle.approveHoldRelease(id: hold.id, by: .integration(dpo))) {
            guard case VaultError.conflict(let why) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(why.contains("older than") && why.contains("ask again"), why)
        }
        // A lapsed request gives way to a new one.
        _ = try f.vault.lifecycle.requestHoldRelease(id: hold.id, reason: "investigation closed", by: .integration(deputy))
        try f.vault.users.revoke(name: deputy.name, by: .operator("test"))
        XCTAssertThrowsError(try f.vault.lifecycle.approveHoldRelease(id: hold.id, by: .integration(dpo))) {
            guard case VaultError.conflict(let why) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(why.contains("revoked"), why)
        }
        // The name added again is another account: the request stays dead.
        let newDeputy = try f.signIn(deputy.name, .deputy, schools: ["S1"])
        XCTAssertThrowsError(try f.vault.lifecycle.approveHoldRelease(id: hold.id, by: .integration(dpo))) {
            guard case VaultError.conflict(let why) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(why.contains("revoked"), why)
        }
        XCTAssertEqual(try f.vault.catalog.hold(id: hold.id)?.isActive, true)
        XCTAssertTrue(try events("hold-release-request").last?.reason?.contains("lapsed") == true)
        try release(hold, by: newDeputy, approver: dpo)
        XCTAssertEqual(try f.vault.catalog.hold(id: hold.id)?.isActive, false)
        XCTAssertEqual(try events("hold-release").map(\.outcome), ["refused", "refused", "refused", "refused", "ok"])
    }
}
