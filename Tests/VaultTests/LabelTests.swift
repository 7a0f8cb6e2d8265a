import Foundation
import GRDB
import KeyManagement
import Storage
import XCTest
@testable import Vault

/// A child's label and a concern's title: what a school's people call them. They are personal
/// data, so they are sealed, shown only to those who see the school's records, never logged,
/// and gone with the child's last record.
final class LabelTests: XCTestCase {
    var f: VaultFixture!
    var dsl: Principal!
    var dpo: Principal!
    var staff: Principal!
    var otherDSL: Principal!
    let childName = "Amelia-Rose Whitfield-Okonkwo"

    override func setUpWithError() throws {
        f = try VaultFixture()
        dsl = try f.signIn("dsl1", .dsl, schools: ["S1"])
        dpo = try f.signIn("dpo1", .dpo, schools: ["S1"])
        staff = try f.signIn("staff1", .staff, schools: ["S1"])
        otherDSL = try f.signIn("dsl2", .dsl, schools: ["S2"])
    }

    func note(_ child: String = "C1") throws -> EvidenceRecord {
        try f.put(Array("Note of a disclosure, written down by staff.\n".utf8), kind: "disclosure", child: child, by: .integration(dsl))
    }

    func testADSLSetsALabelThatTheSchoolsReadersSeeAndNoOneElse() throws {
        _ = try note()
        try f.vault.records.setChildLabel(child: "C1", school: "S1", label: childName, by: .integration(dsl))
        XCTAssertEqual(try f.vault.records.childLabel(child: "C1", school: "S1", by: .integration(dsl)), childName)
        XCTAssertEqual(try f.vault.records.childLabel(child: "C1", school: "S1", by: .integration(dpo)), childName, "a DPO sees the school's records")
        XCTAssertThrowsError(try f.vault.records.childLabel(child: "C1", school: "S1", by: .integration(staff))) {
            guard case VaultError.forbidden = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try f.vault.records.childLabel(child: "C1", school: "S1", by: .integration(otherDSL)))
        XCTAssertThrowsError(try f.vault.records.setChildLabel(child: "C1", school: "S1", label: "someone else", by: .integration(staff)))
        XCTAssertThrowsError(try f.vault.records.setChildLabel(child: "C1", school: "S1", label: "someone else", by: .integration(dpo)))
        XCTAssertEqual(try f.vault.records.childLabel(child: "C1", school: "S1", by: .integration(dsl)), childName, "refused changes changed nothing")
        XCTAssertNil(try f.vault.records.childLabel(child: "C2", school: "S1", by: .integration(dsl)))
    }

    func testTheLabelIsNeverInTheDatabaseFileOrTheAuditLog() throws {
        _ = try note()
        try f.vault.records.setChildLabel(child: "C1", school: "S1", label: childName, by: .integration(dsl))
        try f.vault.records.setConcernTitle(concern: "K1", school: "S1", title: "Bruising seen by Mr Hargreaves", by: .integration(dsl))
        _ = try f.vault.records.childLabel(child: "C1", school: "S1", by: .integration(dsl))
        _ = try f.vault.records.findChildren(matching: "amelia", by: .integration(dsl))
        // Every file of the folder, or a dump of the database and every object of the bucket.
        let stored = try f.store.contents()
        XCTAssertFalse(stored.isEmpty)
        for (place, bytes) in stored {
            for secret in [childName, "Amelia", "Hargreaves", "amelia"] {
                XCTAssertNil(bytes.firstRange(of: Array(secret.utf8)), "\(secret) in \(place)")
            }
        }
        let text = try f.events.map { "\($0.actor) \($0.action) \($0.reason ?? "")" }.joined(separator: "\n")
        XCTAssertFalse(text.contains("Amelia") || text.contains("amelia") || text.contains("Hargreaves"), text)
        XCTAssertTrue(try f.events.contains { $0.action == "label-set" && $0.child == "C1" })
        XCTAssertTrue(try f.events.contains { $0.action == "label-read" && ($0.reason ?? "").contains("1 children found") })
    }

    func testASearchByLabelFindsOnlyChildrenOfTheCallersSchools() throws {
        _ = try note("C1")
        _ = try note("C2")
        try f.vault.records.setChildLabel(child: "C1", school: "S1", label: childName, by: .integration(dsl))
        try f.vault.records.setChildLabel(child: "C2", school: "S1", label: "Zoë Adeyemi", by: .integration(dsl))
        try f.vault.records.setChildLabel(child: "C9", school: "S2", label: "Amelia Jones", by: .integration(otherDSL))
        try f.vault.records.setChildLabel(child: "C3", school: "S1", label: "Amelia Before-Evidence", by: .integration(dsl))
        XCTAssertEqual(try f.vault.records.findChildren(matching: "AMELIA", by: .integration(dsl)).map(\.child), ["C1"])
        XCTAssertEqual(try f.vault.records.findChildren(matching: "zoe", by: .integration(dsl)).map(\.label), ["Zoë Adeyemi"], "accents ignored")
        XCTAssertEqual(try f.vault.records.findChildren(matching: "amelia", by: .integration(otherDSL)).map(\.child), [],
                       "a child with no records in the school is not found")
        try f.put(Array("A note.\n".utf8), kind: "disclosure", school: "S2", child: "C9", by: .integration(otherDSL))
        XCTAssertEqual(try f.vault.records.findChildren(matching: "amelia", by: .integration(otherDSL)).map(\.child), ["C9"])
        XCTAssertThrowsError(try f.vault.records.findChildren(matching: "amelia", by: .integration(staff)))
        XCTAssertThrowsError(try f.vault.records.findChildren(matching: "  ", by: .integration(dsl)))
    }

    func testAMalformedLabelIsRefusedWithoutRepeatingIt() throws {
        for bad in ["", "   ", String(repeating: "x", count: 201), "Amelia\u{0}Rose", "Amelia\u{202E}Rose", "Amelia\nRose"] {
            XCTAssertThrowsError(try f.vault.records.setChildLabel(child: "C1", school: "S1", label: bad, by: .integration(dsl))) {
                guard case VaultError.invalidArgument(let why) = $0 else { return XCTFail("\($0)") }
                XCTAssertFalse(why.contains("Amelia") || why.contains("xxxx"), why)
            }
        }
        XCTAssertThrowsError(try f.vault.records.setChildLabel(child: "Amelia Rose", school: "S1", label: "x", by: .integration(dsl)),
                             "a childName typed where an id belongs")
    }

    func testTheLabelGoesWithTheChildsLastShreddedRecord() throws {
        let first = try note()
        let second = try note()
        try f.vault.records.setChildLabel(child: "C1", school: "S1", label: childName, by: .integration(dsl))
        try f.vault.records.setConcernTitle(concern: "K1", school: "S1", title: "Disclosure at lunch", by: .integration(dsl))
        let shred = { (ids: [String]) in
            let request = try self.f.vault.lifecycle.requestShred(school: "S1", records: ids, reason: "retention reviewed", by: .integration(self.dpo))
            _ = try self.f.vault.lifecycle.approveShred(id: request.id, by: .integration(self.dsl))
        }
        try shred([first.id])
        XCTAssertEqual(try f.vault.records.childLabel(child: "C1", school: "S1", by: .integration(dsl)), childName, "a record is left")
        try shred([second.id])
        XCTAssertNil(try f.vault.records.childLabel(child: "C1", school: "S1", by: .integration(dsl)))
        XCTAssertNil(try f.vault.records.concernTitle(concern: "K1", school: "S1", by: .integration(dsl)))
        XCTAssertEqual(try f.vault.catalog.labels(schools: ["S1"], kind: .child), [], "the sealed row is gone too")
    }

    func testASealedLabelMovedToAnotherChildDoesNotOpen() throws {
        _ = try note("C1")
        _ = try note("C2")
        try f.vault.records.setChildLabel(child: "C1", school: "S1", label: childName, by: .integration(dsl))
        try f.vault.records.setChildLabel(child: "C2", school: "S1", label: "Another child", by: .integration(dsl))
        // An attacker with the database file copies C1's sealed label onto C2's row.
        try f.tamper("UPDATE labels SET sealed = (SELECT sealed FROM labels WHERE subject = 'C1') WHERE subject = 'C2'")
        XCTAssertThrowsError(try f.vault.records.childLabel(child: "C2", school: "S1", by: .integration(dsl)))
        XCTAssertEqual(try f.vault.records.childLabel(child: "C1", school: "S1", by: .integration(dsl)), childName)
    }
}
