import Foundation
import Redaction
import Storage

/// How an item goes into a bundle.
public enum BundleItemMode: String, Sendable, Codable, CaseIterable {
    /// The record as stored, except that images lose their metadata and any bytes after the image
    /// (they are re-encoded from pixels). Office documents need `confirm`.
    case asIs = "as-is"
    /// Truly redacted: images and PDFs redrawn from pixels with rectangles filled, text with
    /// terms and spans replaced.
    case redacted
    /// The exact stored bytes, metadata and all (evidence for the police).
    case original
}

/// One item of a bundle request (POST /v1/bundles).
public struct BundleItemRequest: Sendable, Codable, Equatable {
    public var record: String
    public var mode: BundleItemMode
    /// Images: [x, y, width, height] in pixels. PDFs: in points from the page's top-left corner,
    /// with an optional fifth number, the page (1-based); without it the rectangle is on every page.
    public var rects: [[Double]]?
    /// Text: terms replaced wherever they occur (case ignored).
    public var terms: [String]?
    /// Text: [offset, length] in UTF-8 bytes.
    public var spans: [[Int]]?
    /// An office document goes in as-is only with this set: it cannot be redacted in place and may
    /// hold tracked changes, comments and earlier text.
    public var confirm: Bool?
    /// Set by the vault at draft time for an office document's redacted copy: the copy and its
    /// SHA-256, so the release ships exactly what was drafted (what a client sends is replaced).
    public var copy: String?
    public var copySHA256: String?

    public init(record: String, mode: BundleItemMode, rects: [[Double]]? = nil, terms: [String]? = nil, spans: [[Int]]? = nil,
                confirm: Bool? = nil) {
        self.record = record
        self.mode = mode
        self.rects = rects
        self.terms = terms
        self.spans = spans
        self.confirm = confirm
    }

    func redactionRects() throws -> [RedactionRect] {
        try (rects ?? []).map { r in
            guard r.count == 4 || r.count == 5 else {
                throw VaultError.invalidArgument("a rectangle is [x, y, width, height] or, for a PDF, [x, y, width, height, page]")
            }
            var page: Int?
            if r.count == 5 {
                guard r[4] >= 1, r[4] <= 100_000, r[4] == r[4].rounded() else { throw VaultError.invalidArgument("a rectangle's page is a whole number from 1") }
                page = Int(r[4])
            }
            return RedactionRect(x: r[0], y: r[1], width: r[2], height: r[3], page: page)
        }
    }
}

/// A request to share records with a recipient of the school's directory.
public struct BundleRequest: Sendable, Codable {
    public var school: String
    public var recipient: String
    public var reason: String
    public var items: [BundleItemRequest]
    /// Every record of these children, and of these concerns, in the school joins the bundle
    /// as-is, oldest first, unless `items` names it (with its own mode) or `leaveOut` does.
    public var children: [String]?
    public var concerns: [String]?
    public var leaveOut: [String]?

    public init(school: String, recipient: String, reason: String, items: [BundleItemRequest], children: [String]? = nil,
                concerns: [String]? = nil, leaveOut: [String]? = nil) {
        self.school = school
        self.recipient = recipient
        self.reason = reason
        self.items = items
        self.children = children
        self.concerns = concerns
        self.leaveOut = leaveOut
    }
}

/// How long a release's download link lives and how often it may be used.
public struct LinkTerms: Sendable {
    public var expiresInDays: Int
    public var maxDownloads: Int?
    public static let defaultDays = 7

    public init(expiresInDays: Int = LinkTerms.defaultDays, maxDownloads: Int? = nil) {
        self.expiresInDays = expiresInDays
        self.maxDownloads = maxDownloads
    }
}

/// What a release hands back, once: the link's token is never stored, nor is a passphrase.
public struct ReleasedBundle: Sendable {
    public var bundle: BundleRow
    /// 43 characters of base64url; the download link is /v1/shared/TOKEN.
    public var token: String
    /// A second token, for the receipt only (it is in the README inside the bundle, which the
    /// agency may pass on; it cannot download).
    public var receiptToken: String
    /// Set for a passphrase recipient: give it to them out of band.
    public var passphrase: String?
    public var downloadPath: String { "/v1/shared/\(token)" }
    public var receiptPath: String { "/v1/receipts/\(receiptToken)" }
}

/// What the second person checks before approving a draft.
public struct BundleReview: Sendable {
    public var choices: [BundleItemRequest]
    /// Nil if the recipient has left the directory (the release will refuse).
    public var recipient: Recipient?
}

/// A bundle that included records of a child: what the chronology shows.
public struct ShareEntry: Sendable {
    public var bundle: BundleRow
    public var items: [BundleItemRow]
}
