import Foundation
import Redaction
import Storage
import TestSupport
import XCTest
@testable import Vault

/// What a DSL sees of evidence in the console: never the original bytes, but a picture the
/// server drew again without metadata, or the text; each look is a `view` in the audit log.
final class PreviewTests: XCTestCase {
    var f: VaultFixture!
    var dsl: Principal!
    var dpo: Principal!
    var staff: Principal!

    override func setUpWithError() throws {
        f = try VaultFixture()
        dsl = try f.signIn("dsl1", .dsl, schools: ["S1"])
        dpo = try f.signIn("dpo1", .dpo, schools: ["S1"])
        staff = try f.signIn("staff1", .staff, schools: ["S1"])
    }

    func store(_ sample: String, kind: String) throws -> EvidenceRecord {
        try f.put(try VaultFixture.sampleBytes(sample), kind: kind, filename: sample, by: .integration(staff))
    }

    func png(_ preview: RecordPreview) throws -> (bytes: [UInt8], pages: Int) {
        guard case .image(let png, _, let pages, _) = preview else { throw VaultError.invalidArgument("not an image") }
        return (png, pages)
    }

    func testAPhotoIsRedrawnSmallerWithoutItsLocation() throws {
        let photo = try store("injury-photo-with-gps.jpg", kind: "disclosure")
        let shown = try png(try f.vault.records.preview(id: photo.id, by: .integration(dsl)))
        XCTAssertEqual(Array(shown.bytes.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A], "a PNG")
        XCTAssertEqual(shown.pages, 1)
        let original = try VaultFixture.sampleBytes("injury-photo-with-gps.jpg")
        XCTAssertNotEqual(shown.bytes, original)
        let path = f.root + "/preview.png"
        try Data(shown.bytes).write(to: URL(fileURLWithPath: path))
        let exif = try runTool("exiftool", ["-s", "-GPSLatitude", "-Make", "-ImageSize", path]).text
        XCTAssertFalse(exif.contains("GPSLatitude"), exif)
        XCTAssertFalse(exif.contains("Make"), exif)
        XCTAssertTrue(exif.contains("ImageSize"), exif)
        let size = exif.split(separator: ":").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) } ?? ""
        let sides = size.split(separator: "x").compactMap { Int($0) }
        XCTAssertEqual(sides.count, 2, exif)
        XCTAssertLessThanOrEqual(sides.max() ?? .max, PreviewImage.maxSide)
    }

    func testAPDFPageIsDrawnAndAPageBeyondTheLastIsRefused() throws {
        let minutes = try store("strategy-meeting-minutes.pdf", kind: "minutes")
        let shown = try png(try f.vault.records.preview(id: minutes.id, page: 1, by: .integration(dsl)))
        XCTAssertEqual(shown.pages, 1)
        XCTAssertGreaterThan(shown.bytes.count, 1000)
        XCTAssertThrowsError(try f.vault.records.preview(id: minutes.id, page: 2, by: .integration(dsl))) {
            guard case VaultError.invalidArgument(let why) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(why.contains("1 page"), why)
        }
    }

    func testTextIsShownAsTextForTheConsoleToEscape() throws {
        let note = try store("disclosure-note.txt", kind: "disclosure")
        let expected = String(decoding: try VaultFixture.sampleBytes("disclosure-note.txt"), as: UTF8.self)
        XCTAssertEqual(try f.vault.records.preview(id: note.id, by: .integration(dsl)), .text(expected, truncated: false))
    }

    func testKindsWithoutAPreviewAreSaidToBeDownloadedInstead() throws {
        let docx = try store("tac-meeting-minutes.docx", kind: "minutes")
        XCTAssertThrowsError(try f.vault.records.preview(id: docx.id, by: .integration(dsl))) {
            guard case VaultError.noPreview(let why) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(why.contains("download it"), why)
        }
    }

    func testOnlyThoseWhoMayReadContentSeeAPreviewAndEachLookIsAViewEvent() throws {
        let photo = try store("body-map-front.png", kind: "body-map")
        XCTAssertThrowsError(try f.vault.records.preview(id: photo.id, by: .integration(dpo))) {
            guard case VaultError.forbidden = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try f.vault.records.preview(id: photo.id, by: .integration(staff)), "not even their own upload")
        XCTAssertThrowsError(try f.vault.records.preview(id: photo.id, by: .linkHolder(source: "198.51.100.1")))
        let stale = Caller.person(dsl, session: SessionFacts(handle: "0123456789abcdef", factorAt: Date(timeIntervalSinceNow: -86_400)))
        XCTAssertNoThrow(try f.vault.records.preview(id: photo.id, by: stale), "a preview asks for no step-up")
        let views = try f.events.filter { $0.action == "view" }
        XCTAssertEqual(views.filter { $0.outcome == "ok" }.map(\.actor), [dsl.actor.description])
        XCTAssertEqual(views.filter { $0.outcome == "denied" }.count, 3)
        XCTAssertFalse(try f.events.contains { $0.action == "get" && $0.outcome == "ok" }, "a preview is not a download")
    }
}
