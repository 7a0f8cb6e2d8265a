import Foundation
import Redaction
import Storage
import TestSupport
import XCTest
@testable import Vault

/// Body maps: staff mark where an injury was seen; the vault draws the picture itself, stores it
/// as a body-map record like any upload, and gives the marks back as a list to those who may
/// look at the evidence.
final class BodyMapTests: XCTestCase {
    var f: VaultFixture!
    var dsl: Principal!
    var staff: Principal!
    var dpo: Principal!

    let marks = [
        BodyMark(side: .front, shape: .point, points: [[0.62, 0.30]], colour: .purple, size: 3, note: "Bruise on upper arm, about 3 cm"),
        BodyMark(side: .back, shape: .area, points: [[0.42, 0.30], [0.58, 0.30], [0.58, 0.42], [0.42, 0.42]], colour: .red, size: 2,
                 note: "Red marks across the lower back"),
    ]

    override func setUpWithError() throws {
        f = try VaultFixture()
        dsl = try f.signIn("dsl1", .dsl, schools: ["S1"])
        staff = try f.signIn("staff1", .staff, schools: ["S1"])
        dpo = try f.signIn("dpo1", .dpo, schools: ["S1"])
    }

    func testStaffSaveABodyMapThatIsStoredAsAPNGAndReadBackAsTheSameMarks() throws {
        let record = try f.vault.records.saveBodyMap(school: "S1", child: "C1", concern: "K1", marks: marks, by: .integration(staff))
        XCTAssertEqual(record.kind, "body-map")
        XCTAssertEqual(record.sniffedType, "image/png")
        XCTAssertEqual(try f.vault.records.bodyMapMarks(id: record.id, by: .integration(dsl)), marks)
        let bytes = try f.get(record.id, by: .integration(dsl))
        let path = f.root + "/body-map.png"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let info = try runTool("exiftool", ["-s", "-ImageSize", "-FileType", path]).text
        XCTAssertTrue(info.contains("PNG"), info)
        XCTAssertTrue(info.contains("920x910"), info)
        // Kept for a reviewer to look at, beside the console's screenshots.
        let shots = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent(".build/console-screenshots")
        try? FileManager.default.createDirectory(at: shots, withIntermediateDirectories: true)
        try? Data(bytes).write(to: shots.appendingPathComponent("body-map-drawing.png"))
        XCTAssertTrue(try f.events.contains { $0.action == "put" && $0.outcome == "ok" && $0.actor == staff.actor.description })
        XCTAssertTrue(try f.events.contains { $0.action == "view" && $0.reason == "marks" })
    }

    func testTheDrawingShowsEachMarkInItsColour() throws {
        let record = try f.vault.records.saveBodyMap(school: "S1", child: "C1", concern: "K1", marks: marks, by: .integration(staff))
        let bytes = try f.get(record.id, by: .integration(dsl))
        let decoded = try Redactor().decode(bytes, format: .png)
        // The point mark's centre, where BodyMapDrawing places the front view's (0.62, 0.30).
        let x = Int(BodyMapDrawing.margin + 0.62 * BodyMapDrawing.panelWidth)
        let y = Int(BodyMapDrawing.top + 0.30 * BodyMapDrawing.panelHeight)
        XCTAssertEqual(Array(decoded.pixel(x: x, y: y).prefix(3)), [120, 40, 160], "purple at the point mark")
        XCTAssertEqual(Array(decoded.pixel(x: 5, y: decoded.height - 5).prefix(3)), [255, 255, 255], "white paper")
    }

    func testMalformedMarksAreRefusedNamingTheMarkNotItsNote() throws {
        var point = marks[0]
        point.points = [[0.5, 1.5]]
        var area = marks[1]
        area.points = [[0.1, 0.1], [0.2, 0.2]]
        var silent = marks[0]
        silent.note = "   "
        var loud = marks[0]
        loud.note = "Bruise\u{0}hidden"
        for (bad, reason) in [([point], "mark 1: positions"), ([marks[0], area], "mark 2: an area"), ([silent], "a note"),
                              ([loud], "control"), ([], "1 to 50 marks"), (Array(repeating: marks[0], count: 51), "1 to 50 marks")] {
            XCTAssertThrowsError(try f.vault.records.saveBodyMap(school: "S1", child: "C1", concern: "K1", marks: bad, by: .integration(staff))) {
                guard case VaultError.invalidArgument(let why) = $0 else { return XCTFail("\($0)") }
                XCTAssertTrue(why.contains(reason), why)
                XCTAssertFalse(why.contains("Bruise"), why)
            }
        }
        XCTAssertEqual(try f.vault.records.chronology(child: "C1", school: "S1", limit: 10, offset: 0, by: .integration(dsl)).count, 0)
    }

    func testOnlyThoseWhoMayLookAtEvidenceReadTheMarks() throws {
        let record = try f.vault.records.saveBodyMap(school: "S1", child: "C1", concern: "K1", marks: marks, by: .integration(staff))
        XCTAssertThrowsError(try f.vault.records.bodyMapMarks(id: record.id, by: .integration(staff)), "staff do not read evidence back")
        XCTAssertThrowsError(try f.vault.records.bodyMapMarks(id: record.id, by: .integration(dpo)))
        let photo = try f.put(try VaultFixture.sampleBytes("body-map-front.png"), kind: "body-map", by: .integration(staff))
        XCTAssertThrowsError(try f.vault.records.bodyMapMarks(id: photo.id, by: .integration(dsl))) {
            guard case VaultError.noPreview = $0 else { return XCTFail("\($0)") }
        }
    }

    func testAPNGCarryingMarksTheEditorCouldNotHaveSavedShowsNoList() throws {
        var flood = marks[0]
        flood.note = String(repeating: "x", count: 600)
        let drawn = try BodyMapDrawing.png([marks[0]])
        for forged in [Array(repeating: marks[0], count: 60), [flood]] {
            // Put in by hand, past the validation a save goes through.
            let png = try BodyMapPNG.embed(forged, in: drawn)
            let record = try f.put(png, kind: "body-map", filename: "forged.png", by: .integration(staff))
            XCTAssertThrowsError(try f.vault.records.bodyMapMarks(id: record.id, by: .integration(dsl))) {
                guard case VaultError.noPreview = $0 else { return XCTFail("\($0)") }
            }
        }
    }
}
