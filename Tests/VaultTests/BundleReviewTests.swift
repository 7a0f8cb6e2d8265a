import Foundation
import KeyManagement
import Redaction
import Storage
import TestSupport
import XCTest
@testable import Vault

/// What the DSL drafting and the DSL approving see before a bundle leaves: previews drawn by the
/// code that makes the bundle, term counts from the redactor's own matcher, and a draft sent
/// back instead of released.
final class BundleReviewTests: XCTestCase {
    var f: VaultFixture!
    let dsl = Principal(name: "dsl1", role: .dsl, schools: ["S1"])
    let deputy = Principal(name: "deputy1", role: .deputy, schools: ["S1"])
    let otherDSL = Principal(name: "dsl2", role: .dsl, schools: ["S2"])
    let staff = Principal(name: "staff1", role: .staff, schools: ["S1"])

    override func setUpWithError() throws {
        f = try VaultFixture()
        _ = try f.vault.bundles.addRecipient(.init(school: "S1", name: "Police", ageRecipient: nil, passphrase: true), by: .integration(dsl))
    }

    func put(_ sample: String, kind: String = "document") throws -> EvidenceRecord {
        try f.put(try VaultFixture.sampleBytes(sample), kind: kind, filename: sample)
    }

    func png(_ preview: RecordPreview) throws -> (Decoded, page: Int, pages: Int) {
        guard case .image(let bytes, let page, let pages, _) = preview else { XCTFail("not an image: \(preview)"); throw VaultError.noPreview("") }
        return (try Redactor().decode(bytes, format: .png), page, pages)
    }

    func dark(_ d: Decoded, _ x: Int, _ y: Int) -> Bool { d.pixel(x: x, y: y).prefix(3).allSatisfy { $0 < 16 } }

    func twoPagePDF() throws -> EvidenceRecord {
        let dir = f.root + "/pdf"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let one = dir + "/one.pdf"
        try Data(try VaultFixture.sampleBytes("strategy-meeting-minutes.pdf")).write(to: URL(fileURLWithPath: one))
        let run = try runTool("pdfunite", [one, one, dir + "/two.pdf"])
        XCTAssertEqual(run.status, 0, run.stderr)
        return try f.put(Array(try Data(contentsOf: URL(fileURLWithPath: dir + "/two.pdf"))), kind: "minutes", filename: "two.pdf")
    }

    func testAnImagesRedactionPreviewIsTheReleasedImageWithTheBoxFilledScaledDown() throws {
        let photo = try put("injury-photo-with-gps.jpg", kind: "body-map")
        let original = try Redactor().decode(try VaultFixture.sampleBytes("injury-photo-with-gps.jpg"), format: .jpeg)
        let choice = BundleItemRequest(record: photo.id, mode: .redacted, rects: [[100, 200, 300, 150]])
        let (shown, page, pages) = try png(try f.vault.bundles.redactionPreview(record: photo.id, choice: choice, page: 1, by: .integration(dsl)))
        XCTAssertEqual([page, pages], [1, 1])
        XCTAssertLessThanOrEqual(max(shown.width, shown.height), PreviewImage.maxSide)
        let scale = Double(shown.width) / Double(original.width)
        XCTAssertTrue(dark(shown, Int(250 * scale), Int(275 * scale)), "the box is filled by the server")
        XCTAssertFalse(dark(shown, Int(50 * scale), Int(50 * scale)) && dark(shown, Int(600 * scale), Int(100 * scale)), "only the box")

        // Nothing drawn, nothing filled: the same spot as the photo shows it.
        let (plain, _, _) = try png(try f.vault.records.preview(id: photo.id, page: 1, by: .integration(dsl)))
        XCTAssertFalse(dark(plain, Int(250 * scale), Int(275 * scale)) && dark(plain, Int(260 * scale), Int(280 * scale)) && dark(plain, Int(390 * scale), Int(340 * scale)))
        let views = try f.events.filter { $0.action == "view" && $0.record == photo.id }
        XCTAssertTrue(views.contains { ($0.reason ?? "").contains("redaction preview") }, "the preview read the record on the record")
    }

    func testAPDFPagePreviewFillsThatPagesBoxesAndChecksEveryPagesBoxesAsTheDraftWould() throws {
        let pdf = try twoPagePDF()
        let box: [Double] = [40, 150, 500, 60, 2]
        let choice = BundleItemRequest(record: pdf.id, mode: .redacted, rects: [box])
        let (page2, n, pages) = try png(try f.vault.bundles.redactionPreview(record: pdf.id, choice: choice, page: 2, by: .integration(dsl)))
        XCTAssertEqual([n, pages], [2, 2])
        guard case .image(_, _, _, let space?) = try f.vault.records.preview(id: pdf.id, page: 2, by: .integration(dsl)) else {
            return XCTFail("a PDF page's preview says the space its boxes are drawn in")
        }
        XCTAssertEqual(space.unit, .points)
        XCTAssertEqual(space.width, 595, accuracy: 1, "A4 in points")
        XCTAssertEqual(space.height, 842, accuracy: 1)
        let (page1, _, _) = try png(try f.vault.bundles.redactionPreview(record: pdf.id, choice: choice, page: 1, by: .integration(dsl)))
        // A4 or letter: 595 or 612 points wide.
        let scale = Double(page2.width) / 595
        XCTAssertTrue(dark(page2, Int(290 * scale), Int(180 * scale)))
        XCTAssertFalse(dark(page1, Int(290 * scale), Int(180 * scale)) && dark(page1, Int(100 * scale), Int(160 * scale))
                       && dark(page1, Int(500 * scale), Int(200 * scale)), "page 1 has no box")
        // A box off page 1 is refused even when page 2 is shown, with the reason the draft gives.
        let bad = BundleItemRequest(record: pdf.id, mode: .redacted, rects: [box, [500, 900, 400, 40, 1]])
        XCTAssertThrowsError(try f.vault.bundles.redactionPreview(record: pdf.id, choice: bad, page: 2, by: .integration(dsl))) {
            guard case VaultError.invalidArgument(let why) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(why.contains("page 1"), why)
        }
        XCTAssertThrowsError(try f.vault.bundles.redactionPreview(record: pdf.id, choice: choice, page: 3, by: .integration(dsl))) {
            guard case VaultError.invalidArgument(let why) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(why.contains("2 pages"), why)
        }
    }

    func testTermsAreCountedAsTheRedactorMatchesThemAndOneFoundNowhereCountsZero() throws {
        let text = "Pupil X said D. Third-Party hit her.\nthird\u{2011}party lives at 4 Elm Road.\n"
        let note = try f.put(Array(text.utf8), kind: "disclosure", filename: "note.txt")
        let found = try f.vault.bundles.termMatches(record: note.id, terms: ["Third-Party", "4 elm road", "Thrid Party"], by: .integration(dsl))
        XCTAssertEqual(found.counts, [2, 1, 0])
        XCTAssertEqual(found.runs.map(\.text).joined(), text, "the runs are the whole text")
        XCTAssertEqual(found.runs.filter(\.matched).map(\.text), ["Third-Party", "third\u{2011}party", "4 Elm Road"])
        // The preview of the text as it will go: the terms replaced; a misspelt term refused by name of its position.
        let choice = BundleItemRequest(record: note.id, mode: .redacted, terms: ["Third-Party", "4 elm road"])
        XCTAssertEqual(try f.vault.bundles.redactionPreview(record: note.id, choice: choice, page: 1, by: .integration(dsl)),
                       .text("Pupil X said D. [REDACTED] hit her.\n[REDACTED] lives at [REDACTED].\n", truncated: false))
        let misspelt = BundleItemRequest(record: note.id, mode: .redacted, terms: ["Thrid Party"])
        XCTAssertThrowsError(try f.vault.bundles.redactionPreview(record: note.id, choice: misspelt, page: 1, by: .integration(dsl))) {
            guard case VaultError.invalidArgument(let why) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(why.contains("term 1 of 1 occurs nowhere"), why)
            XCTAssertFalse(why.contains("Thrid"), "a term is a name: never in an error")
        }
        let photo = try put("injury-photo-with-gps.jpg")
        XCTAssertThrowsError(try f.vault.bundles.termMatches(record: photo.id, terms: ["X"], by: .integration(dsl)))
    }

    func testTheApproverSeesEachDraftItemAsItsReleaseWillMakeIt() throws {
        let photo = try put("injury-photo-with-gps.jpg", kind: "body-map")
        let note = try f.put(Array("Jane Doe saw it.\n".utf8), kind: "disclosure", filename: "note.txt")
        let items: [BundleItemRequest] = [.init(record: photo.id, mode: .redacted, rects: [[100, 200, 300, 150]]),
                                          .init(record: note.id, mode: .redacted, terms: ["Jane Doe"])]
        let draft = try f.vault.bundles.createBundle(.init(school: "S1", recipient: "Police", reason: "Strategy meeting", items: items),
                                                     by: .integration(dsl))
        let asDrafted = try f.vault.bundles.itemPreview(id: draft.id, position: 1, page: 1, by: .integration(deputy))
        XCTAssertEqual(asDrafted, try f.vault.bundles.redactionPreview(record: photo.id, choice: items[0], page: 1, by: .integration(deputy)))
        XCTAssertEqual(try f.vault.bundles.itemPreview(id: draft.id, position: 2, page: 1, by: .integration(deputy)),
                       .text("[REDACTED] saw it.\n", truncated: false))
        XCTAssertThrowsError(try f.vault.bundles.itemPreview(id: draft.id, position: 3, page: 1, by: .integration(deputy))) {
            guard case VaultError.notFound = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try f.vault.bundles.itemPreview(id: draft.id, position: 1, page: 1, by: .integration(otherDSL))) {
            guard case VaultError.notFound = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try f.vault.bundles.itemPreview(id: draft.id, position: 1, page: 1, by: .integration(staff))) {
            guard case VaultError.forbidden = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertTrue(try f.events.contains { $0.action == "view" && $0.record == note.id && ($0.reason ?? "").contains("item 2 as it will be released") })
        // Once released, the choices are gone: nothing to preview.
        _ = try f.vault.bundles.approveBundle(id: draft.id, by: .integration(deputy))
        XCTAssertThrowsError(try f.vault.bundles.itemPreview(id: draft.id, position: 1, page: 1, by: .integration(dsl))) {
            guard case VaultError.conflict = $0 else { return XCTFail("\($0)") }
        }
    }

    func testADraftSentBackIsNeverReleasedAndOnlyASecondPersonSendsItBack() throws {
        let note = try f.put(Array("A note.\n".utf8), kind: "disclosure", filename: "note.txt")
        let draft = try f.vault.bundles.createBundle(.init(school: "S1", recipient: "Police", reason: "r", items: [.init(record: note.id, mode: .asIs)]),
                                                     by: .integration(dsl))
        XCTAssertThrowsError(try f.vault.bundles.returnBundle(id: draft.id, comment: "not mine to judge", by: .integration(dsl))) {
            guard case VaultError.forbidden = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try f.vault.bundles.returnBundle(id: draft.id, comment: "  ", by: .integration(deputy))) {
            guard case VaultError.invalidArgument(let why) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(why.contains("comment"), why)
        }
        let back = try f.vault.bundles.returnBundle(id: draft.id, comment: "Redact the neighbour's address first", by: .integration(deputy))
        XCTAssertEqual(back.state, .returned)
        let (row, _, review) = try f.vault.bundles.bundle(id: draft.id, by: .integration(dsl))
        XCTAssertEqual(row.state, .returned)
        XCTAssertEqual(row.returnComment, "Redact the neighbour's address first")
        XCTAssertEqual(row.returnedBy, deputy.actor.description)
        XCTAssertEqual(review?.choices.map(\.record), [note.id], "the creator can draft it again from its choices")
        XCTAssertThrowsError(try f.vault.bundles.approveBundle(id: draft.id, by: .integration(deputy))) {
            guard case VaultError.conflict(let why) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(why.contains("sent back"), why)
        }
        XCTAssertThrowsError(try f.vault.bundles.returnBundle(id: draft.id, comment: "again", by: .integration(deputy))) {
            guard case VaultError.conflict = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertEqual(try f.events.filter { $0.action == "bundle-return" }.map(\.outcome), ["denied", "ok"])
        XCTAssertEqual((try? FileManager.default.contentsOfDirectory(atPath: f.layout.bundles)) ?? [], [], "nothing was built")
    }
}
