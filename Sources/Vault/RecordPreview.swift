import Foundation
import KeyManagement
import Redaction
import Storage

/// What a person sees of a record in the console: never its original bytes, but pixels the
/// server drew again (an image, a PDF page) or its text, for the console to escape.
public enum RecordPreview: Sendable, Equatable {
    /// A PNG, at most `PreviewImage.maxSide` on its longest side, with no metadata; `page` of
    /// `pages` (1 of 1 for an image); `space`, the size of what it shows in the units a bundle's
    /// rectangles are given in (nil when it could not be measured).
    case image(png: [UInt8], page: Int, pages: Int, space: RectangleSpace?)
    /// The record's text (UTF-8), at most `Vault.maxPreviewText` bytes of it; `truncated` when
    /// there was more.
    case text(String, truncated: Bool)
}

extension Vault {
    /// The longest text a preview shows; the rest is there to download.
    public static let maxPreviewText = 1 << 20
    /// Records larger than this are not previewed (download them): a preview is made in memory.
    public static let maxPreviewBytes: Int64 = 64 << 20

    /// A preview of record `id` (for a PDF, page `page`, from 1) for someone who may read its
    /// content. It is audited as `view`, apart from a download, and asks for no step-up: the
    /// evidence is looked at, not taken away. Kinds without a preview (audio, email, office
    /// documents) are `noPreview`.
    func preview(id: String, page: Int, by caller: Caller) throws -> RecordPreview {
        let record = try record(id: id, by: caller, for: .preview)
        let source = try Self.previewSource(record)
        guard record.size <= Self.maxPreviewBytes else {
            throw VaultError.noPreview("the file is larger than \(Self.maxPreviewBytes >> 20) MiB: download it to open it")
        }
        guard (1...10_000).contains(page) else { throw VaultError.invalidArgument("page must be 1 to 10000") }
        let keys = try requireKeys("previewing a record")
        let plaintext = try vaulting { () -> [UInt8] in
            let reader = try openRecord(record, keys: keys) { [self] error in
                _ = try? audit(event(record, actor: caller.actor, action: .view, outcome: .failed, reason: "\(error)"))
            }
            // No audit record, no access: the view is durable before anything is decrypted.
            try audit(event(record, actor: caller.actor, action: .view, outcome: .ok, reason: source == nil ? "text" : "page \(page)"))
            var bytes: [UInt8] = []
            bytes.reserveCapacity(Int(record.size))
            while try reader.next({ bytes += $0 }) {}
            return bytes
        }
        var plain = plaintext
        defer { plain.wipe() }
        guard let source else { return Self.textPreview(plain) }
        do {
            let (png, pages) = try PreviewImage.render(plain, source, page: page)
            return .image(png: png, page: page, pages: pages, space: try? Redactor().rectangleSpace(plain, source, page: page))
        } catch let error as RedactionError {
            if case .unreadable(let why) = error, why.hasPrefix("the document has") || why.contains("one page") {
                throw VaultError.invalidArgument(why)
            }
            throw VaultError.noPreview("this file could not be drawn as a preview: download it to open it")
        }
    }

    /// What the preview draws from (nil: text); `noPreview` for kinds shown as "download to open".
    static func previewSource(_ record: EvidenceRecord) throws -> PreviewImage.Source? {
        switch record.sniffedType {
        case "image/jpeg": return .image(.jpeg)
        case "image/png": return .image(.png)
        case "image/webp": return .image(.webp)
        case "image/heic", "image/heif": return .image(.heif)
        case "application/pdf": return .pdf
        case "text/plain": return nil
        default:
            throw VaultError.noPreview("there is no preview of this kind of file (\(record.sniffedType)): download it to open it")
        }
    }

    static func textPreview(_ bytes: [UInt8]) -> RecordPreview {
        var end = min(bytes.count, maxPreviewText)
        // Cut on a character boundary: back off continuation bytes.
        while end < bytes.count, end > 0, bytes[end] & 0xC0 == 0x80 { end -= 1 }
        return .text(String(decoding: bytes[..<end], as: UTF8.self), truncated: end < bytes.count)
    }
}
