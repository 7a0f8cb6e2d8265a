import Foundation
import XCTest
@testable import Redaction
import TestSupport

/// The samples the vault tests use (Tests/VaultTests/Samples).
func sample(_ name: String) throws -> [UInt8] {
    let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("VaultTests/Samples/\(name)")
    return Array(try Data(contentsOf: url))
}

func temporaryFile(_ bytes: [UInt8], suffix: String) throws -> String {
    let path = NSTemporaryDirectory() + "redaction-\(UUID().uuidString).\(suffix)"
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    return path
}

func isBlack(_ pixel: ArraySlice<UInt8>) -> Bool { pixel.prefix(3).allSatisfy { $0 < 16 } }

final class ImageRedactionTests: XCTestCase {
    let redactor = Redactor()

    func testARedactedJPEGHasNoEXIFOrGPSAndItsRectangleIsFilled() throws {
        let original = try sample("injury-photo-with-gps.jpg")
        let before = try runTool("exiftool", ["-a", "-G", "-s", try temporaryFile(original, suffix: "jpg")]).text
        XCTAssertTrue(before.contains("GPSLatitude"), "the sample should carry GPS to begin with")

        let rect = RedactionRect(x: 100, y: 200, width: 300, height: 150)
        let out = try redactor.image(original, format: .jpeg, rects: [rect])
        XCTAssertEqual(out.mimeType, "image/jpeg")
        let path = try temporaryFile(out.bytes, suffix: "jpg")
        let after = try runTool("exiftool", ["-a", "-G", "-s", path]).text
        for tag in ["[EXIF]", "[GPS]", "GPSLatitude", "[XMP]", "[IPTC]", "ThumbnailImage", "Comment", "[Composite] GPS"] {
            XCTAssertFalse(after.contains(tag), "\(tag) survived redaction:\n\(after)")
        }
        let pixels = try redactor.decode(out.bytes, format: .jpeg)
        XCTAssertEqual(pixels.width, 1600)
        for (x, y) in [(100, 200), (250, 270), (399, 349)] {
            XCTAssertTrue(isBlack(pixels.pixel(x: x, y: y)), "pixel \(x),\(y) inside the rectangle is \(Array(pixels.pixel(x: x, y: y)))")
        }
        // Outside it, the photo is still there (not all black).
        let outside = (0..<50).map { pixels.pixel(x: 800 + $0 * 10, y: 800) }
        XCTAssertFalse(outside.allSatisfy(isBlack))
    }

    /// HEIC (made by heif-enc) and WebP (made by Pillow), 320x240, in Tests/RedactionTests/Fixtures.
    func testHEICAndWebPAreRedactedFromPixelsAndHEICComesOutAsJPEG() throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")
        for (name, format, out) in [("gradient.heic", ImageFormat.heif, ImageFormat.jpeg), ("gradient.webp", .webp, .webp)] {
            let bytes = Array(try Data(contentsOf: folder.appendingPathComponent(name)))
            let redacted = try redactor.image(bytes, format: format, rects: [RedactionRect(x: 10, y: 10, width: 50, height: 40)])
            XCTAssertEqual(redacted.mimeType, out.mimeType, name)
            let pixels = try redactor.decode(redacted.bytes, format: out)
            XCTAssertEqual([pixels.width, pixels.height], [320, 240], name)
            XCTAssertTrue(isBlack(pixels.pixel(x: 30, y: 30)), "\(name): \(Array(pixels.pixel(x: 30, y: 30)))")
            XCTAssertFalse(isBlack(pixels.pixel(x: 310, y: 230)), "\(name): the gradient outside the rectangle is still there")
        }
    }

    func testAPNGWithDataAfterIENDComesOutWithoutIt() throws {
        let secret = Array("TRAILING-SECRET-Pupil-X".utf8)
        let png = try sample("body-map-front.png") + secret
        for rects in [[], [RedactionRect(x: 0, y: 0, width: 10, height: 10)]] {
            let out = try redactor.image(png, format: .png, rects: rects)
            XCTAssertNil(out.bytes.firstRange(of: secret), "bytes after IEND survived")
            XCTAssertEqual(Array(out.bytes.suffix(8)), [0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82], "the PNG must end at IEND")
        }
    }

    func testAPixelFloodImageIsRefusedBeforeDecoding() throws {
        // A valid PNG header declaring 100,000 x 100,000 pixels (10^10), and almost no data.
        let flood = pixelFloodPNG(width: 100_000, height: 100_000)
        XCTAssertThrowsError(try redactor.image(flood, format: .png, rects: [])) { error in
            guard case RedactionError.tooManyPixels(let why) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(why.contains("100000x100000"), why)
        }
        XCTAssertThrowsError(try redactor.decode(flood, format: .png))
    }

    func testARectangleOutsideTheImageIsRefusedNotClipped() throws {
        let png = try sample("body-map-front.png")
        let size = try redactor.decode(png, format: .png)
        for rect in [RedactionRect(x: Double(size.width) - 5, y: 0, width: 10, height: 10),
                     RedactionRect(x: -1, y: 0, width: 10, height: 10),
                     RedactionRect(x: 0, y: 0, width: 0, height: 10),
                     RedactionRect(x: 0, y: 0, width: .nan, height: 10)] {
            XCTAssertThrowsError(try redactor.image(png, format: .png, rects: [rect])) {
                guard case RedactionError.rectangleOutside = $0 else { return XCTFail("\($0)") }
            }
        }
    }

    func testAFileThatIsNotTheFormatIsRefusedWithTheDecodersWords() throws {
        let truncated = try sample("truncated.png")
        XCTAssertThrowsError(try redactor.image(truncated, format: .png, rects: [])) {
            guard case RedactionError.unreadable = $0 else { return XCTFail("\($0)") }
        }
        XCTAssertThrowsError(try redactor.image(Array("not a jpeg".utf8), format: .jpeg, rects: []))
    }

    func testAPNGsEXIFOrientationIsAppliedBeforeRectanglesAreFilled() throws {
        let png = try sample("body-map-front.png")
        let stored = try redactor.decode(png, format: .png)
        // An eXIf chunk (TIFF, big-endian) with Orientation 6 (rotate 90 degrees clockwise), after IHDR.
        let tiff: [UInt8] = Array("MM".utf8) + [0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0]
        let chunk = pngChunk("eXIf", tiff)
        let rotated = Array(png[0..<33]) + chunk + Array(png[33...])
        let out = try redactor.image(rotated, format: .png, rects: [RedactionRect(x: 0, y: 0, width: 5, height: 5)])
        let shown = try redactor.decode(out.bytes, format: .png)
        XCTAssertEqual([shown.width, shown.height], [stored.height, stored.width], "the output is the image as shown")
        // Boxes are drawn on the image as shown: the space they are given in is turned too.
        XCTAssertEqual(try redactor.rectangleSpace(rotated, .image(.png)),
                       RectangleSpace(width: Double(stored.height), height: Double(stored.width), unit: .pixels))
        XCTAssertEqual(try redactor.rectangleSpace(png, .image(.png)),
                       RectangleSpace(width: Double(stored.width), height: Double(stored.height), unit: .pixels))
    }
}

final class PDFRedactionTests: XCTestCase {
    let redactor = Redactor()

    func testARedactedPDFHasNoTextAndOneRevisionAndItsRectangleIsFilled() throws {
        let original = try sample("strategy-meeting-minutes.pdf")
        XCTAssertTrue(try runTool("pdftotext", [try temporaryFile(original, suffix: "pdf"), "-"]).text.contains("Third-Party"))
        // The line naming the third party, on page 1, in points from the top-left corner.
        let rect = RedactionRect(x: 40, y: 150, width: 500, height: 60, page: 1)
        let out = try redactor.pdf(original, rects: [rect])
        let path = try temporaryFile(out.bytes, suffix: "pdf")

        let text = try runTool("pdftotext", [path, "-"])
        XCTAssertEqual(text.status, 0, text.text)
        XCTAssertEqual(text.text.trimmingCharacters(in: .whitespacesAndNewlines.union(.init(charactersIn: "\u{0C}"))), "",
                       "an image-only PDF has no text at all")
        let info = try runTool("pdfinfo", [path])
        XCTAssertEqual(info.status, 0, info.text)
        XCTAssertTrue(info.text.contains("Pages:           1"), info.text)
        XCTAssertTrue(info.text.contains("595") && info.text.contains("841"), "page size kept: \(info.text)")
        XCTAssertEqual(out.bytes.ranges(of: Array("%%EOF".utf8)).count, 1, "one revision")
        XCTAssertNil(out.bytes.firstRange(of: Array("/Prev".utf8)))
        XCTAssertNil(out.bytes.firstRange(of: Array("/Font".utf8)))

        // A rectangle over the whole page leaves no column or row of it.
        let whole = try redactor.pdf(original, rects: [RedactionRect(x: 0, y: 0, width: 595.28, height: 841.89)])
        let full = try redactor.decodePDFPage(whole.bytes, page: 0, dpi: 150)
        for (x, y) in [(0, 0), (full.width - 1, 0), (0, full.height - 1), (full.width - 1, full.height - 1)] {
            XCTAssertTrue(isBlack(full.pixel(x: x, y: y)), "corner \(x),\(y) is \(Array(full.pixel(x: x, y: y)))")
        }
        let page = try redactor.decodePDFPage(out.bytes, page: 0, dpi: 72)
        for (x, y) in [(45, 155), (300, 180), (535, 205)] {
            XCTAssertTrue(isBlack(page.pixel(x: x, y: y)), "\(x),\(y) is \(Array(page.pixel(x: x, y: y)))")
        }
        XCTAssertFalse(isBlack(page.pixel(x: 300, y: 600)), "the rest of the page is still white paper")
    }

    func testARectangleOnAPageThatDoesNotExistIsRefused() throws {
        let original = try sample("strategy-meeting-minutes.pdf")
        XCTAssertThrowsError(try redactor.pdf(original, rects: [RedactionRect(x: 0, y: 0, width: 10, height: 10, page: 2)])) {
            guard case RedactionError.pages(let why) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(why.contains("page 2"), why)
        }
        for rect in [RedactionRect(x: 590, y: 0, width: 100, height: 10), RedactionRect(x: 595.5, y: 100, width: 0.5, height: 10, page: 1),
                     RedactionRect(x: 580, y: 100, width: 16, height: 10, page: 1)] {
            XCTAssertThrowsError(try redactor.pdf(original, rects: [rect]), "\(rect)") {
                guard case RedactionError.rectangleOutside = $0 else { return XCTFail("\($0)") }
            }
        }
        XCTAssertThrowsError(try redactor.pdf(try sample("empty.pdf"), rects: []))
    }
}

final class TextRedactionTests: XCTestCase {
    func testTermsAreReplacedWhateverTheirCaseAndSpansByOffset() throws {
        let text = Array("D. Third-Party hit her. third-party said so.\nCall Ms Ørsted on 0117.\n".utf8)
        let out = try Redactor().text(text, terms: ["third-party", "Ørsted"], spans: [[text.count - 6, 4]])
        let result = String(decoding: out.bytes, as: UTF8.self)
        XCTAssertEqual(result, "D. [REDACTED] hit her. [REDACTED] said so.\nCall Ms [REDACTED] on [REDACTED].\n")
        XCTAssertTrue(out.applied?.hasPrefix("4 replacements") == true, out.applied ?? "")
        XCTAssertFalse(out.applied?.contains("Third") == true, "the manifest line must not repeat a term")
    }

    func testTermsAreFoundWhateverTheSpacingApostropheAccentWidthOrLineBreak() throws {
        let text = "Jane\u{A0}Smith came. O\u{2019}BRIEN left. Zo\u{EB} stayed. \u{130}brahim spoke. \u{FF2A}\u{FF41}\u{FF4E}\u{FF45} wrote. Jane\nSmith again, jane   smith too.\n"
        let out = try Redactor().text(Array(text.utf8), terms: ["Jane Smith", "O'Brien", "Zoe", "ibrahim", "jane"])
        let result = String(decoding: out.bytes, as: UTF8.self)
        for leak in ["Smith", "BRIEN", "Zo", "brahim", "\u{FF2A}"] { XCTAssertFalse(result.contains(leak), "\(leak) survived: \(result)") }
        XCTAssertTrue(result.hasPrefix("[REDACTED] came. [REDACTED] left. [REDACTED] stayed. [REDACTED] spoke. [REDACTED] wrote."), result)
    }

    func testInvisibleCharactersAndLettersWithoutDecompositionDoNotHideATerm() throws {
        let text = "Jane Smi\u{AD}th, Jane Smi\u{200B}th, \u{FEFF}\u{141}ukasz, S\u{F8}ren, Stra\u{DF}e, \u{C6}lfred.\n"
        let out = try Redactor().text(Array(text.utf8), terms: ["Jane Smith", "Lukasz", "Soren", "strasse", "aelfred"])
        // The byte-order mark before the name is left where it was (it hides nothing).
        XCTAssertEqual(String(decoding: out.bytes, as: UTF8.self), "[REDACTED], [REDACTED], \u{FEFF}[REDACTED], [REDACTED], [REDACTED], [REDACTED].\n")
    }

    func testSpansAndTermsAreOneMaskOverTheOriginalText() throws {
        // "Ed" occurs in "[REDACTED]" but nowhere in the text: it must not match the marker.
        let text = Array("Call 0117 496 0000 now.\n".utf8)
        XCTAssertThrowsError(try Redactor().text(text, terms: ["Ed"], spans: [[5, 13]]))
        let out = try Redactor().text(text, terms: ["now"], spans: [[5, 13]])
        XCTAssertEqual(String(decoding: out.bytes, as: UTF8.self), "Call [REDACTED] [REDACTED].\n")
        let joined = try Redactor().text(Array("Ask Jo Bloggs.\n".utf8), terms: ["Bloggs"], spans: [[4, 3]])
        XCTAssertEqual(String(decoding: joined.bytes, as: UTF8.self), "Ask [REDACTED].\n", "a span and a term side by side are one run")
    }

    func testATermFoundNowhereIsRefusedWithoutRepeatingIt() throws {
        XCTAssertThrowsError(try Redactor().text(Array("Pupil X said so.\n".utf8), terms: ["Pupil X", "Jonh Smiht"])) {
            guard case RedactionError.text(let why) = $0 else { return XCTFail("\($0)") }
            XCTAssertTrue(why.contains("term 2 of 2"), why)
            XCTAssertFalse(why.contains("Smiht"), "the message must not repeat the term")
        }
    }

    func testTextThatIsNotUTF8OrASpanOutsideItIsRefused() throws {
        XCTAssertThrowsError(try Redactor().text([0x66, 0xff, 0xfe], terms: ["ab"]))
        XCTAssertThrowsError(try Redactor().text(Array("abc".utf8), terms: [], spans: [[2, 5]]))
        XCTAssertThrowsError(try Redactor().text(Array("é".utf8), terms: [], spans: [[1, 1]]))
        XCTAssertThrowsError(try Redactor().text(Array("abc".utf8), terms: ["a"]), "a one-letter term would blank the text")
    }
}
