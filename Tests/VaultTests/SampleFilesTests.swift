import Foundation
import KeyManagement
import Storage
import XCTest
@testable import Vault

/// Every file in ../shared/samples, with what its README says the vault must do with it.
final class SampleFilesTests: XCTestCase {
    let accepted: [(String, String, String)] = [
        ("body-map-front.png", "body-map", "image/png"),
        ("injury-photo-with-gps.jpg", "body-map", "image/jpeg"),
        ("strategy-meeting-minutes.pdf", "minutes", "application/pdf"),
        ("tac-meeting-minutes.docx", "minutes", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("disclosure-note.txt", "disclosure", "text/plain"),
        ("truncated.png", "body-map", "image/png"),
    ]

    let refused: [(String, String, Refusal.Reason)] = [
        ("program-disguised.pdf", "minutes", .dangerous("an executable program")),
        ("program-disguised.docx", "minutes", .dangerous("an executable program")),
        ("script-disguised.png", "body-map", .dangerous("a script or program source")),
        ("image-with-script.svg", "body-map", .dangerous("an SVG image, which can carry script")),
        ("page-with-script.html", "document", .dangerous("an HTML page")),
        ("empty.pdf", "minutes", .empty),
        ("zip-bomb.docx", "minutes", .dangerous("an archive")),
    ]

    func testAcceptedSamplesComeBackByteForByte() throws {
        let f = try VaultFixture()
        for (name, kind, type) in accepted {
            let original = try VaultFixture.sampleBytes(name)
            let record = try f.putSample(name, kind: kind)
            XCTAssertEqual(record.sniffedType, type, name)
            XCTAssertEqual(record.size, Int64(original.count))
            XCTAssertEqual(record.filename, name)
            XCTAssertEqual(try f.get(record.id), original, "\(name) must come back exactly as it went in")
        }
        XCTAssertEqual(try f.vault.records.list(RecordFilter(), by: .operator("t")).count, accepted.count)
    }

    func testPhotoKeepsItsMetadataByteForByteInTheVault() throws {
        // The vault keeps evidence unaltered; stripping GPS is for shared bundles, not storage.
        let f = try VaultFixture()
        let record = try f.putSample("injury-photo-with-gps.jpg", kind: "body-map")
        let back = try f.get(record.id)
        XCTAssertNotNil(Data(back).range(of: Data("Phonemaker".utf8)))
        XCTAssertEqual(Hex.encode(SHA256Hasher.hash(back)), record.sha256)
    }

    func testHostileSamplesAreRefusedWithTheReasonAndLeaveNothing() throws {
        let f = try VaultFixture()
        for (name, kind, reason) in refused {
            XCTAssertThrowsError(try f.putSample(name, kind: kind), name) { error in
                guard let r = refusal(error) else { return XCTFail("\(name): \(error)") }
                XCTAssertEqual(r.reason, reason, name)
                XCTAssertEqual(r.kind, kind)
                XCTAssertFalse(r.allowed.isEmpty)
                XCTAssertFalse(r.description.contains(name), "a refusal never repeats the filename")
            }
        }
        XCTAssertEqual(try f.vault.records.list(RecordFilter(), by: .operator("t")).count, 0)
        XCTAssertEqual(try FileBlobStore(root: f.layout.blobs).storedRecordIDs(), [])
        XCTAssertEqual(try FileBlobStore(root: f.layout.blobs).leftoverUploads(), [])
        let refusals = try f.events.filter { $0.action == "put" && $0.outcome == "refused" }
        XCTAssertEqual(refusals.count, refused.count, "every refusal is an audit event")
        for event in refusals {
            XCTAssertNotNil(event.reason)
            for (name, _, _) in refused { XCTAssertFalse(event.reason!.contains(name), "no filenames in audit events") }
        }
    }

    func testSamplesWithLyingDeclaredTypesAreRefused() throws {
        let f = try VaultFixture()
        XCTAssertThrowsError(try f.putSample("body-map-front.png", kind: "body-map", declared: "image/jpeg")) {
            XCTAssertEqual(refusal($0)?.reason, .declaredMismatch)
            XCTAssertTrue(refusal($0)!.description.contains("declared image/jpeg but the content is image/png"), refusal($0)!.description)
        }
        XCTAssertThrowsError(try f.putSample("script-disguised.png", kind: "body-map", declared: "image/png")) {
            XCTAssertEqual(refusal($0)?.reason, .dangerous("a script or program source"))
            XCTAssertTrue(refusal($0)!.description.contains("declared image/png"))
        }
        XCTAssertThrowsError(try f.putSample("program-disguised.pdf", kind: "minutes", declared: "application/pdf"))
        XCTAssertThrowsError(try f.putSample("strategy-meeting-minutes.pdf", kind: "minutes", declared: "text/plain"))
        // Correct declarations, with parameters, aliases and case, are fine.
        XCTAssertNoThrow(try f.putSample("strategy-meeting-minutes.pdf", kind: "minutes", declared: "Application/PDF"))
        XCTAssertNoThrow(try f.putSample("disclosure-note.txt", kind: "disclosure", declared: "text/plain; charset=utf-8"))
        XCTAssertNoThrow(try f.putSample("injury-photo-with-gps.jpg", kind: "body-map", declared: "image/jpg"))
        XCTAssertNoThrow(try f.putSample("body-map-front.png", kind: "body-map", declared: "application/octet-stream"))
    }

    func testZipBombIsNeverInflated() throws {
        // libmagic is told not to decompress; the refusal comes from the first bytes alone.
        let f = try VaultFixture()
        XCTAssertThrowsError(try f.putSample("zip-bomb.docx", kind: "document")) {
            XCTAssertEqual(refusal($0)?.found, "application/zip")
        }
    }

    func testNoPlaintextOfAnySampleIsWrittenToTheStore() throws {
        let f = try VaultFixture()
        for (name, kind, _) in accepted { _ = try f.putSample(name, kind: kind) }
        for (name, kind, _) in refused { _ = try? f.putSample(name, kind: kind) }
        let markers = ["go home tonight", "Phonemaker", "Third-Party", "IHDR", "word/document.xml", "<script"]
        // Every file of the folder, or a dump of the database and every object of the bucket.
        let stored = try f.store.contents()
        XCTAssertGreaterThan(stored.count, accepted.count, "every blob was searched")
        for (place, bytes) in stored {
            for marker in markers {
                XCTAssertNil(bytes.firstRange(of: Array(marker.utf8)), "'\(marker)' found in \(place)")
            }
        }
    }
}
