import Foundation
import Storage
import TestSupport
import XCTest
@testable import Vault

/// A child's chronology printed for a strategy meeting: a PDF the server makes, for those who
/// see the school's records, audited, with nothing of the evidence in it.
final class ChronologyPrintoutTests: XCTestCase {
    var f: VaultFixture!
    var dsl: Principal!
    var staff: Principal!

    override func setUpWithError() throws {
        f = try VaultFixture()
        dsl = try f.signIn("dsl1", .dsl, schools: ["S1"])
        staff = try f.signIn("staff1", .staff, schools: ["S1"])
    }

    func testADSLPrintsAChronologyOfManyPagesWithoutAnyEvidenceInIt() throws {
        let secret = "He said his uncle hit him with a belt"
        for n in 0..<60 {
            try f.put(Array("Note \(n): \(secret).\n".utf8), kind: "disclosure", concern: "K\(n % 3)", by: .integration(staff))
        }
        try f.vault.records.setChildLabel(child: "C1", school: "S1", label: "Amelia W.", by: .integration(dsl))
        try f.vault.records.setConcernTitle(concern: "K1", school: "S1", title: "Bruising", by: .integration(dsl))
        let pdf = try f.vault.records.printChronology(child: "C1", school: "S1", by: .integration(dsl))
        XCTAssertTrue(pdf.starts(with: Array("%PDF-".utf8)))
        let path = f.root + "/chronology.pdf"
        try Data(pdf).write(to: URL(fileURLWithPath: path))
        let info = try runTool("pdfinfo", [path]).text
        let pages = info.split(separator: "\n").first { $0.hasPrefix("Pages:") }.flatMap { Int($0.split(separator: " ").last ?? "") } ?? 0
        XCTAssertGreaterThanOrEqual(pages, 2, info)
        XCTAssertTrue(info.contains("595.28 x 841.89"), "A4: \(info)")
        for text in [secret, "uncle", "Amelia"] {
            XCTAssertNil(Data(pdf).range(of: Data(text.utf8)), "\(text) as text in the PDF")
        }
        let event = try XCTUnwrap(try f.events.last { $0.action == "print" })
        XCTAssertEqual(event.actor, dsl.actor.description)
        XCTAssertEqual(event.child, "C1")
        XCTAssertEqual(event.reason, "chronology printed: 60 records, 0 shares")
        // Kept for a reviewer to look at, beside the console's screenshots.
        let shots = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/console-screenshots")
        try? FileManager.default.createDirectory(at: shots, withIntermediateDirectories: true)
        _ = try? runTool("pdftoppm", ["-png", "-r", "60", "-f", "1", "-l", "1", path, shots.appendingPathComponent("chronology-print").path])
    }

    func testStaffAndOtherSchoolsCannotPrint() throws {
        try f.put(Array("Note.\n".utf8), kind: "disclosure", by: .integration(staff))
        XCTAssertThrowsError(try f.vault.records.printChronology(child: "C1", school: "S1", by: .integration(staff))) {
            guard case VaultError.forbidden = $0 else { return XCTFail("\($0)") }
        }
        let other = try f.signIn("dsl2", .dsl, schools: ["S2"])
        XCTAssertThrowsError(try f.vault.records.printChronology(child: "C1", school: "S1", by: .integration(other)))
        XCTAssertFalse(try f.events.contains { $0.action == "print" && $0.outcome == "ok" })
    }
}
