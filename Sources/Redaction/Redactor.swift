import Foundation
import KeyManagement

/// A rectangle to fill: for an image, in pixels of the image as shown (EXIF orientation
/// applied); for a PDF, in points (1/72 inch) from the page's top-left corner, on one page
/// (1-based) or, with `page` nil, on every page.
public struct RedactionRect: Sendable, Equatable, Codable {
    public var x: Double
    public var y: Double
    public var width: Double
    public var height: Double
    public var page: Int?

    public init(x: Double, y: Double, width: Double, height: Double, page: Int? = nil) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
        self.page = page
    }
}

/// The output of a redaction: new bytes, written from pixels or text, never an overlay.
public struct RedactedFile: Sendable {
    public var bytes: [UInt8]
    /// The file-name extension of what `bytes` is (a HEIF image comes out as a JPEG).
    public var fileExtension: String
    public var mimeType: String
    /// What was done, in words for the bundle's manifest (never the content or the terms);
    /// nil when the bytes are unchanged.
    public var applied: String?

    public init(bytes: [UInt8], fileExtension: String, mimeType: String, applied: String?) {
        self.bytes = bytes
        self.fileExtension = fileExtension
        self.mimeType = mimeType
        self.applied = applied
    }
}

/// Where a text redaction falls: see `Redactor.matches`.
public struct TextMatches: Sendable, Equatable {
    public struct Run: Sendable, Equatable {
        public var text: String
        /// Replaced by the marker as a whole.
        public var matched: Bool
    }

    /// How many times each term occurs, in the order the terms were given.
    public var counts: [Int]
    /// The whole text, in order: the runs joined are the text.
    public var runs: [Run]
}

/// True redaction. Images are decoded, filled and encoded again from pixels, with no EXIF, XMP,
/// IPTC, comments, thumbnails or bytes after the image; PDFs are rendered page by page and
/// rebuilt as an image-only PDF of one revision; text has terms and spans replaced.
public struct Redactor: Sendable {
    /// Images whose header declares more pixels than this are refused before decoding (a PDF
    /// page is held to the same budget at `pdfDPI`).
    public var maxPixels: UInt64
    /// Resolution PDF pages are rendered at.
    public var pdfDPI: Double
    public var maxPDFPages: Int
    /// All the pages of one PDF together, rendered, at most (bounds time and memory).
    public var maxPDFPixels: UInt64 = 1_000_000_000
    public var jpegQuality: Int

    public static let marker = "[REDACTED]"

    public init(maxPixels: UInt64 = 50_000_000, pdfDPI: Double = 150, maxPDFPages: Int = 300, jpegQuality: Int = 90) {
        self.maxPixels = maxPixels
        self.pdfDPI = pdfDPI
        self.maxPDFPages = maxPDFPages
        self.jpegQuality = jpegQuality
    }

    /// Redraws an image with `rects` filled in black. With no rectangles this is the metadata
    /// strip every as-is image gets.
    public func image(_ bytes: [UInt8], format: ImageFormat, rects: [RedactionRect]) throws -> RedactedFile {
        let pixels = try rects.map { rect -> PixelRect in
            guard rect.page == nil else { throw RedactionError.rectangleOutside("an image has no pages; leave out the rectangle's page") }
            return try Self.pixelRect(rect, scale: 1)
        }
        let out = format.redrawnAs
        let redrawn = try Imaging.redraw(bytes, format: format.code, maxPixels: maxPixels, rects: pixels, output: out, quality: jpegQuality)
        let what = rects.isEmpty
            ? "re-encoded from pixels as \(out.rawValue.uppercased()), metadata and trailing bytes removed"
            : "\(rects.count) rectangle\(rects.count == 1 ? "" : "s") filled; re-encoded from pixels as \(out.rawValue.uppercased()), metadata and trailing bytes removed"
        return RedactedFile(bytes: redrawn.bytes, fileExtension: out.fileExtension, mimeType: out.mimeType, applied: what)
    }

    /// Renders every page, fills the rectangles, and writes an image-only PDF: no text, no layer,
    /// no annotation, no earlier revision and no metadata survive.
    public func pdf(_ bytes: [UInt8], rects: [RedactionRect]) throws -> RedactedFile {
        let pages = try pageCount(bytes, rects: rects)
        var rendered: [ImageOnlyPDF.Page] = []
        var pixelsSoFar: UInt64 = 0
        for index in 0..<pages {
            rendered.append(try renderPage(bytes, index: index, rects: rects, pixelsSoFar: &pixelsSoFar))
        }
        let what = "\(pages) page\(pages == 1 ? "" : "s") rendered at \(Int(pdfDPI)) dpi"
            + (rects.isEmpty ? "" : ", \(rects.count) rectangle\(rects.count == 1 ? "" : "s") filled")
            + "; rebuilt as an image-only PDF of one revision (no text, layers, annotations or metadata)"
        return RedactedFile(bytes: ImageOnlyPDF.write(rendered), fileExtension: "pdf", mimeType: "application/pdf", applied: what)
    }

    /// One page (from 1) of what `pdf` makes of `bytes` with `rects`, made by the same code and
    /// checked against the same rules (every rectangle, on whichever page, is checked): the JPEG
    /// that page becomes, to show before a release. Returns the page count with it.
    public func pdfPage(_ bytes: [UInt8], page: Int, rects: [RedactionRect]) throws -> (jpeg: [UInt8], pages: Int) {
        let pages = try pageCount(bytes, rects: rects)
        guard (1...pages).contains(page) else { throw RedactionError.pages("the PDF has \(pages) page\(pages == 1 ? "" : "s")") }
        var pixels: UInt64 = 0
        for index in 0..<pages where index != page - 1 {
            // The other pages' rectangles are checked against their pages, as a release would.
            let onPage = rects.filter { $0.page == index + 1 }
            if !onPage.isEmpty { _ = try pagePixelRects(bytes, index: index, rects: onPage) }
        }
        return (try renderPage(bytes, index: page - 1, rects: rects, pixelsSoFar: &pixels).jpeg, pages)
    }

    private func pageCount(_ bytes: [UInt8], rects: [RedactionRect]) throws -> Int {
        let pages = try Imaging.probe(bytes, format: Imaging.pdfCode).pages
        guard pages >= 1 else { throw RedactionError.pages("the PDF has no pages") }
        guard pages <= maxPDFPages else {
            throw RedactionError.pages("the PDF has \(pages) pages; redaction renders at most \(maxPDFPages)")
        }
        for rect in rects {
            if let page = rect.page, !(1...pages).contains(page) {
                throw RedactionError.pages("a rectangle names page \(page), but the PDF has \(pages) page\(pages == 1 ? "" : "s")")
            }
        }
        return pages
    }

    /// The page's size in pixels at `pdfDPI` and the rectangles that fall on it, in its pixels.
    private func pagePixelRects(_ bytes: [UInt8], index: Int, rects: [RedactionRect]) throws -> (width: Int, height: Int, rects: [PixelRect]) {
        // The page as it will be rendered, from its header alone; its size in points is that
        // over the scale, to half a pixel.
        let scale = pdfDPI / 72
        let size = try Imaging.probe(bytes, format: Imaging.pdfCode, page: index, dpi: pdfDPI)
        let widthPoints = Double(size.width) / scale, heightPoints = Double(size.height) / scale, pixel = 1 / scale
        let onPage = rects.filter { $0.page == nil || $0.page == index + 1 }
        let pixels = try onPage.map { rect -> PixelRect in
            guard rect.x < widthPoints, rect.y < heightPoints,
                  rect.x + rect.width <= widthPoints + pixel, rect.y + rect.height <= heightPoints + pixel else {
                throw RedactionError.rectangleOutside(String(
                    format: "a rectangle [%g, %g, %g, %g] does not lie inside page %d of %.2f x %.2f points",
                    rect.x, rect.y, rect.width, rect.height, index + 1, widthPoints, heightPoints))
            }
            // Outer edges are rounded outwards; only that sub-pixel overshoot is trimmed.
            return clamp(try Self.pixelRect(rect, scale: scale), width: size.width, height: size.height)
        }
        return (size.width, size.height, pixels)
    }

    private func renderPage(_ bytes: [UInt8], index: Int, rects: [RedactionRect], pixelsSoFar: inout UInt64) throws -> ImageOnlyPDF.Page {
        let scale = pdfDPI / 72
        let (width, height, pixels) = try pagePixelRects(bytes, index: index, rects: rects)
        pixelsSoFar += UInt64(width) * UInt64(height)
        guard pixelsSoFar <= maxPDFPixels else {
            throw RedactionError.tooManyPixels("the PDF's pages come to more than \(maxPDFPixels / 1_000_000) megapixels at \(Int(pdfDPI)) dpi")
        }
        let redrawn = try Imaging.redraw(
            bytes, format: Imaging.pdfCode, page: index, dpi: pdfDPI, maxPixels: maxPixels, rects: pixels,
            output: .jpeg, quality: jpegQuality)
        return ImageOnlyPDF.Page(
            jpeg: redrawn.bytes, pixelWidth: redrawn.width, pixelHeight: redrawn.height, gray: redrawn.bands == 1,
            pointWidth: Double(redrawn.width) / scale, pointHeight: Double(redrawn.height) / scale)
    }

    /// Replaces every occurrence of each term and every span (UTF-8 byte offset and length) with
    /// `marker`. Terms are matched as a reader would: case, accents, full-width forms, the kind of
    /// space or line break (and how many), and apostrophe and dash variants are ignored, so
    /// "O'Brien" finds "O’BRIEN" and "Jane Smith" finds "Jane\u{A0}Smith". A term found nowhere is
    /// refused (a misspelt name must not pass silently), naming its position, never its text.
    /// Text that is not UTF-8 is refused: it cannot be searched safely.
    public func text(_ bytes: [UInt8], terms: [String], spans: [[Int]] = []) throws -> RedactedFile {
        let found = try Self.mask(bytes, terms: terms, spans: spans)
        if let missing = found.counts.firstIndex(of: 0) {
            throw RedactionError.text("term \(missing + 1) of \(terms.count) occurs nowhere in the text; check its spelling")
        }
        var out = ""
        out.reserveCapacity(bytes.count)
        for run in found.runs {
            out += run.matched ? Self.marker : run.text
        }
        let replaced = spans.count + found.counts.reduce(0, +)
        let what = "\(replaced) replacement\(replaced == 1 ? "" : "s") with \(Self.marker) (\(terms.count) listed term\(terms.count == 1 ? "" : "s"), \(spans.count) marked span\(spans.count == 1 ? "" : "s"))"
        return RedactedFile(bytes: Array(out.utf8), fileExtension: "txt", mimeType: "text/plain", applied: what)
    }

    /// Where `text` would replace: how often each term occurs (0 for one found nowhere, which
    /// `text` refuses) and the text cut into runs, each replaced as a whole or kept, so a page
    /// can show the matches highlighted before the draft is saved. Same rules as `text`.
    public func matches(_ bytes: [UInt8], terms: [String], spans: [[Int]] = []) throws -> TextMatches {
        try Self.mask(bytes, terms: terms, spans: spans)
    }

    /// The one place terms and spans are found: `text` and `matches` both read it.
    static func mask(_ bytes: [UInt8], terms: [String], spans: [[Int]]) throws -> TextMatches {
        guard bytes.count <= Self.maxTextBytes else {
            throw RedactionError.text("text over \(Self.maxTextBytes >> 20) MiB is not redacted here; upload a redacted PDF of it instead")
        }
        guard String(validating: bytes, as: UTF8.self) != nil else {
            throw RedactionError.text("the text is not UTF-8, so its terms cannot be found reliably; upload a redacted PDF instead")
        }
        let characters = Array(String(decoding: bytes, as: UTF8.self))
        // Where each character starts, in UTF-8 bytes (spans are given in bytes).
        var characterAt: [Int: Int] = [:]
        var offset = 0
        for (index, character) in characters.enumerated() {
            characterAt[offset] = index
            offset += character.utf8.count
        }
        characterAt[offset] = characters.count
        // One mask over the original text: spans and terms mark characters, and each run of
        // marked characters becomes one marker. Terms are searched in the original, so a term
        // never matches inside a marker.
        var redact = [Bool](repeating: false, count: characters.count)
        for span in spans {
            guard span.count == 2, span[0] >= 0, span[1] > 0, span[0] <= bytes.count - span[1] else {
                throw RedactionError.text("a span must be [offset, length] inside the text's \(bytes.count) bytes")
            }
            guard let first = characterAt[span[0]], let end = characterAt[span[0] + span[1]] else {
                throw RedactionError.text("a span starts or ends inside a character")
            }
            for k in first..<end { redact[k] = true }
        }

        // The folded text, one scalar at a time, each knowing the character it came from.
        var folded: [UInt32] = [], origin: [Int32] = []
        folded.reserveCapacity(characters.count)
        origin.reserveCapacity(characters.count)
        var lastWasSpace = false
        for (index, character) in characters.enumerated() {
            for scalar in Self.fold(character) {
                if scalar == 0x20 {
                    if lastWasSpace { continue }
                    lastWasSpace = true
                } else {
                    lastWasSpace = false
                }
                folded.append(scalar)
                origin.append(Int32(index))
            }
        }
        var counts: [Int] = []
        for (n, term) in terms.enumerated() {
            var needle: [UInt32] = []
            for character in term {
                for scalar in Self.fold(character) where !(scalar == 0x20 && (needle.isEmpty || needle.last == 0x20)) { needle.append(scalar) }
            }
            if needle.last == 0x20 { needle.removeLast() }
            guard needle.count >= 2 else { throw RedactionError.text("term \(n + 1) has fewer than two letters") }
            var found = 0, i = 0
            let first = needle[0]
            while i + needle.count <= folded.count {
                if folded[i] == first, folded[i..<(i + needle.count)].elementsEqual(needle) {
                    for k in Int(origin[i])...Int(origin[i + needle.count - 1]) { redact[k] = true }
                    found += 1
                    i += needle.count
                } else {
                    i += 1
                }
            }
            counts.append(found)
        }
        var runs: [TextMatches.Run] = []
        var i = 0
        while i < characters.count {
            let matched = redact[i]
            var text = ""
            while i < characters.count, redact[i] == matched {
                text.append(characters[i])
                i += 1
            }
            runs.append(TextMatches.Run(text: text, matched: matched))
        }
        return TextMatches(counts: counts, runs: runs)
    }

    /// Text redaction holds a few copies of the text per character: it takes text files up to this.
    public static let maxTextBytes = 4 << 20

    /// Letters that do not decompose into a base letter and an accent, as a reader reads them.
    static let plainLetters: [UInt32: [UInt32]] = [
        0x0142: [0x6c], 0x00f8: [0x6f], 0x00e6: [0x61, 0x65], 0x0153: [0x6f, 0x65], 0x0111: [0x64], 0x00f0: [0x64],
        0x00fe: [0x74, 0x68], 0x00df: [0x73, 0x73], 0x0131: [0x69], 0x0127: [0x68], 0x0140: [0x6c], 0x0167: [0x74],
    ]

    /// A character as it is compared: lower case, without accents, half-width; any space or line
    /// break is one space; apostrophe and dash variants are ' and -; invisible characters (soft
    /// hyphens, zero-width spaces and joiners, the BOM) vanish; ł, ø, æ, œ, đ, ð, þ, ß, ı, ħ are
    /// l, o, ae, oe, d, d, th, ss, i, h.
    static func fold(_ character: Character) -> [UInt32] {
        if character.isWhitespace { return [0x20] }
        if let ascii = character.asciiValue { return [UInt32((ascii >= 0x41 && ascii <= 0x5a) ? ascii + 0x20 : ascii)] }
        switch character {
        case "\u{2019}", "\u{2018}", "\u{02BC}", "\u{2032}", "\u{00B4}", "\u{0060}", "\u{FF07}": return [0x27]
        case "\u{2010}", "\u{2011}", "\u{2012}", "\u{2013}", "\u{2014}", "\u{2015}", "\u{2212}", "\u{FE63}", "\u{FF0D}": return [0x2d]
        default: break
        }
        let plain = String(character).folding(options: [.caseInsensitive, .diacriticInsensitive, .widthInsensitive], locale: nil)
        var out: [UInt32] = []
        for scalar in plain.unicodeScalars {
            if scalar.properties.isDefaultIgnorableCodePoint || (0x0300...0x036f).contains(scalar.value) { continue }
            let lower = scalar.properties.lowercaseMapping.unicodeScalars
            for s in lower { out += plainLetters[s.value] ?? [s.value] }
        }
        return out
    }

    /// Covers the rectangle fully: outer edges rounded outwards.
    static func pixelRect(_ rect: RedactionRect, scale: Double) throws -> PixelRect {
        guard [rect.x, rect.y, rect.width, rect.height].allSatisfy(\.isFinite), rect.x >= 0, rect.y >= 0, rect.width > 0, rect.height > 0,
              rect.x + rect.width < 1e7, rect.y + rect.height < 1e7 else {
            throw RedactionError.rectangleOutside("a rectangle needs x, y at least 0 and a width and height above 0")
        }
        let left = Int((rect.x * scale).rounded(.down)), top = Int((rect.y * scale).rounded(.down))
        let right = Int(((rect.x + rect.width) * scale).rounded(.up)), bottom = Int(((rect.y + rect.height) * scale).rounded(.up))
        return PixelRect(x: left, y: top, width: right - left, height: bottom - top)
    }
}

private func clamp(_ r: PixelRect, width: Int, height: Int) -> PixelRect {
    let x = min(r.x, max(width - 1, 0)), y = min(r.y, max(height - 1, 0))
    return PixelRect(x: x, y: y, width: max(1, min(r.width, width - x)), height: max(1, min(r.height, height - y)))
}

extension ImageFormat {
    public var mimeType: String {
        switch self {
        case .jpeg: "image/jpeg"
        case .png: "image/png"
        case .webp: "image/webp"
        case .heif: "image/heic"
        }
    }
}

/// The space a record's redaction rectangles are given in: an image's pixels as shown (EXIF
/// orientation applied), or a PDF page's points, as the redactor measures them.
public struct RectangleSpace: Sendable, Equatable {
    public var width: Double
    public var height: Double
    public var unit: Unit
    public enum Unit: String, Sendable { case pixels, points }

    public init(width: Double, height: Double, unit: Unit) {
        self.width = width
        self.height = height
        self.unit = unit
    }
}

extension Redactor {
    /// The size of an image, or of a PDF's page (from 1), in the units its rectangles are given
    /// in, from the file's header: what a page drawing boxes on a preview scales them to.
    public func rectangleSpace(_ bytes: [UInt8], _ source: PreviewImage.Source, page: Int = 1) throws -> RectangleSpace {
        switch source {
        case .image(let format):
            let size = try Imaging.probe(bytes, format: format.code)
            return RectangleSpace(width: Double(size.width), height: Double(size.height), unit: .pixels)
        case .pdf:
            // As `pdf` measures a page: its size at `pdfDPI`, over the scale.
            let size = try Imaging.probe(bytes, format: Imaging.pdfCode, page: page - 1, dpi: pdfDPI)
            let scale = pdfDPI / 72
            return RectangleSpace(width: Double(size.width) / scale, height: Double(size.height) / scale, unit: .points)
        }
    }

    /// The pixels of an image, within the pixel budget (to check a redaction).
    public func decode(_ bytes: [UInt8], format: ImageFormat) throws -> Decoded {
        try Imaging.decode(bytes, format: format.code, maxPixels: maxPixels)
    }

    /// The pixels of a PDF page (0-based) rendered at `dpi`.
    public func decodePDFPage(_ bytes: [UInt8], page: Int, dpi: Double) throws -> Decoded {
        try Imaging.decode(bytes, format: Imaging.pdfCode, page: page, dpi: dpi, maxPixels: maxPixels)
    }
}
