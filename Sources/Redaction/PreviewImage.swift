import Foundation

/// What a person sees of an image or a PDF page in the console: pixels decoded and drawn again
/// by the server, scaled down, as a PNG with no metadata (no EXIF location, no camera, no
/// embedded thumbnail of what the picture showed before it was cropped). The original bytes
/// never reach the browser to be shown.
public enum PreviewImage {
    /// The longest side of a preview, in pixels.
    public static let maxSide = 1600

    public enum Source: Sendable, Equatable {
        case image(ImageFormat)
        case pdf
    }

    /// A PNG of `source` (for a PDF, page `page`, counted from 1), and how many pages it has.
    /// A page past the last is `RedactionError.unreadable`; more than `maxPixels` in an image
    /// is `tooManyPixels`.
    public static func render(_ bytes: [UInt8], _ source: Source, page: Int = 1, maxSide: Int = maxSide,
                              maxPixels: UInt64 = 50_000_000) throws -> (png: [UInt8], pages: Int) {
        guard page >= 1 else { throw RedactionError.unreadable("pages are counted from 1") }
        switch source {
        case .image(let format):
            guard page == 1 else { throw RedactionError.unreadable("an image has one page") }
            return try Imaging.preview(bytes, format: format.code, page: 0, maxSide: maxSide, maxPixels: maxPixels)
        case .pdf:
            let pages = try Imaging.probe(bytes, format: Imaging.pdfCode).pages
            guard page <= pages else { throw RedactionError.unreadable("the document has \(pages) page\(pages == 1 ? "" : "s")") }
            return try Imaging.preview(bytes, format: Imaging.pdfCode, page: page - 1, maxSide: maxSide, maxPixels: maxPixels)
        }
    }
}
