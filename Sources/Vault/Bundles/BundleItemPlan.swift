import Foundation
import Redaction
import Storage

/// What is done to one item's bytes before it goes into a bundle, decided from its mode and its
/// sniffed type. Every combination the table does not allow is refused with the reason.
enum BundleItemPlan: Equatable {
    /// Decoded and re-encoded from pixels with these rectangles filled (none: metadata strip).
    case image(ImageFormat, [RedactionRect])
    /// Rendered page by page into an image-only PDF.
    case pdf([RedactionRect])
    case text(terms: [String], spans: [[Int]])
    /// The stored bytes unchanged.
    case bytes
    /// An office document: the newest redacted PDF uploaded of it (`derivedFrom`) is shared in
    /// its place, rendered into an image-only PDF (so a box drawn over text hides it for good).
    case redactedCopy

    static let office: Set<EvidenceType> = [.docx, .odt, .rtf, .xlsx, .ods]

    var redaction: String? {
        switch self {
        case .bytes: nil
        default: "applied"
        }
    }
}

extension EvidenceType {
    var imageFormat: ImageFormat? {
        switch self {
        case .png: .png
        case .jpeg: .jpeg
        case .webp: .webp
        case .heic: .heif
        default: nil
        }
    }
}

extension Vault {
    static let maxListLength = 1000

    static func plan(_ item: BundleItemRequest, record: EvidenceRecord, position: Int) throws -> BundleItemPlan {
        let which = "item \(position + 1) (record \(item.record))"
        func refuse(_ why: String) -> VaultError { .invalidArgument("\(which): \(why)") }
        guard (item.rects?.count ?? 0) <= maxListLength, (item.terms?.count ?? 0) <= maxListLength, (item.spans?.count ?? 0) <= maxListLength else {
            throw refuse("at most \(maxListLength) rectangles, terms and spans each")
        }
        let rects = try item.redactionRects()
        let terms = item.terms ?? [], spans = item.spans ?? []
        guard let type = EvidenceType(mime: record.sniffedType) else { throw refuse("its stored type is not one the vault knows") }
        if record.derivedFrom != nil {
            // Its stored bytes may hide text under drawn boxes: it goes out only flattened, as its original's redaction.
            throw refuse("this is a redacted copy of record \(record.derivedFrom!); add the original with mode redacted and the copy is shared, flattened to pixels")
        }
        switch item.mode {
        case .original:
            guard rects.isEmpty, terms.isEmpty, spans.isEmpty else { throw refuse("original bytes take no rectangles, terms or spans") }
            if BundleItemPlan.office.contains(type), item.confirm != true {
                throw refuse("\(type.displayName) may hold tracked changes, comments and earlier text; include its original bytes only with confirm: true")
            }
            return .bytes
        case .asIs:
            guard rects.isEmpty, terms.isEmpty, spans.isEmpty else {
                throw refuse("as-is takes no rectangles, terms or spans; use mode redacted")
            }
            if BundleItemPlan.office.contains(type), item.confirm != true {
                throw refuse("""
                    \(type.displayName) cannot be redacted in place and may hold tracked changes, comments and earlier text; \
                    include it as-is with confirm: true, or upload a redacted PDF of it and share that
                    """)
            }
            if let format = type.imageFormat { return .image(format, []) }
            return .bytes
        case .redacted:
            if let format = type.imageFormat {
                guard !rects.isEmpty else { throw refuse("redacting an image needs at least one rectangle") }
                guard terms.isEmpty, spans.isEmpty else { throw refuse("an image takes rectangles, not terms or spans") }
                guard rects.allSatisfy({ $0.page == nil }) else { throw refuse("an image's rectangles have no page number") }
                return .image(format, rects)
            }
            switch type {
            case .pdf:
                guard !rects.isEmpty else { throw refuse("redacting a PDF needs at least one rectangle") }
                guard terms.isEmpty, spans.isEmpty else {
                    throw refuse("a PDF is redacted with rectangles (its text is not searched: it may be scanned)")
                }
                return .pdf(rects)
            case .text:
                guard !terms.isEmpty || !spans.isEmpty else { throw refuse("redacting text needs terms or spans") }
                guard rects.isEmpty else { throw refuse("text takes terms or spans, not rectangles") }
                return .text(terms: terms, spans: spans)
            default:
                if BundleItemPlan.office.contains(type) {
                    guard rects.isEmpty, terms.isEmpty, spans.isEmpty else {
                        throw refuse("\(type.displayName) cannot be redacted in place: its redacted PDF copy is shared as uploaded, so give no rectangles, terms or spans")
                    }
                    return .redactedCopy
                }
                throw refuse("\(type.displayName) cannot be redacted; include it as-is or leave it out")
            }
        }
    }
}
