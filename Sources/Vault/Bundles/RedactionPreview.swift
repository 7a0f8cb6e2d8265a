import Foundation
import KeyManagement
import Redaction
import Storage

/// What an item will look like in a bundle, before anyone releases it: made by the code that
/// makes the bundle (`plan` and `deliver`'s redactor), then scaled down as any preview is. The
/// DSL drafting sees the boxes they drew filled by the server, not by their browser; the
/// approver sees each item of the draft as it will leave. Audited as `view`, like a preview.
extension Vault {
    /// `choice` as it would be drafted for record `id`, shown at `page` (a PDF's page, from 1).
    func redactionPreview(id: String, choice: BundleItemRequest, page: Int, by caller: Caller,
                          redactor: Redactor = Redactor()) throws -> RecordPreview {
        let record = try record(id: id, by: caller, for: .preview)
        var item = choice
        item.record = record.id
        item.copy = nil
        item.copySHA256 = nil
        return try shipped(record, choice: item, page: page, by: caller, redactor: redactor, why: "redaction preview")
    }

    /// Item `position` (from 1) of draft `id` as it will be released, for a DSL or deputy of
    /// its school (its creator, or the approver checking it).
    func bundleItemPreview(id: String, position: Int, page: Int, by caller: Caller,
                           redactor: Redactor = Redactor()) throws -> RecordPreview {
        let principal = try principalOrOperator(.share, caller)
        let bundle = try visibleBundle(id, principal: principal, action: .view)
        guard bundle.state == .draft || bundle.state == .returned else {
            throw VaultError.conflict("a released bundle's items are not previewed: its choices were forgotten at release")
        }
        let keys = try requireKeys("previewing a bundle")
        let choices = try unseal(bundle, keys: keys)
        guard (1...choices.count).contains(position) else {
            throw VaultError.notFound("item \(position) of bundle \(id)")
        }
        let choice = choices[position - 1]
        let record = try bundleRecord(choice.record, school: bundle.school, principal: principal)
        return try shipped(record, choice: choice, page: page, by: caller, redactor: redactor,
                           why: "bundle \(id) item \(position) as it will be released")
    }

    /// Where the terms fall in a text record (each term's count, and the text in runs to show
    /// them highlighted), by the redactor's own matcher. Audited as a `view` of the record.
    func termMatches(id: String, terms: [String], by caller: Caller, redactor: Redactor = Redactor()) throws -> TextMatches {
        let record = try record(id: id, by: caller, for: .preview)
        guard EvidenceType(mime: record.sniffedType) == .text else {
            throw VaultError.invalidArgument("terms are looked for in text only; draw boxes on images and PDF pages")
        }
        guard (1...Self.maxListLength).contains(terms.count) else {
            throw VaultError.invalidArgument("give 1 to \(Self.maxListLength) terms")
        }
        var plain = try readForPreview(record, by: caller, why: "terms looked for")
        defer { plain.wipe() }
        do {
            return try redactor.matches(plain, terms: terms)
        } catch let error as RedactionError {
            throw VaultError.invalidArgument("\(error)")
        }
    }

    private func shipped(_ record: EvidenceRecord, choice: BundleItemRequest, page: Int, by caller: Caller, redactor: Redactor,
                         why: String) throws -> RecordPreview {
        guard (1...10_000).contains(page) else { throw VaultError.invalidArgument("page must be 1 to 10000") }
        var plan = try Self.plan(choice, record: record, position: 0)
        var source = record
        if plan == .redactedCopy {
            // The office document goes out as its redacted PDF copy, flattened: show that.
            source = choice.copy == nil ? try redactedCopy(of: record, position: 0) : try pinnedCopy(choice, of: record, position: 0)
            plan = .pdf([])
        }
        guard source.size <= Self.maxPreviewBytes else {
            throw VaultError.noPreview("the file is larger than \(Self.maxPreviewBytes >> 20) MiB: it is not previewed")
        }
        if plan == .bytes {
            // Sent byte for byte: what it looks like is the ordinary preview.
            _ = try Self.previewSource(source)
        }
        var plain = try readForPreview(source, by: caller, why: why + (plan == .bytes ? "" : ", page \(page)"))
        defer { plain.wipe() }
        do {
            switch plan {
            case .image(let format, let rects):
                guard page == 1 else { throw VaultError.invalidArgument("an image has one page") }
                var redrawn = try redactor.image(plain, format: format, rects: rects)
                defer { redrawn.bytes.wipe() }
                let (png, _) = try PreviewImage.render(redrawn.bytes, .image(format.redrawnAs))
                return .image(png: png, page: 1, pages: 1, space: try? redactor.rectangleSpace(plain, .image(format)))
            case .pdf(let rects):
                var (jpeg, pages) = try redactor.pdfPage(plain, page: page, rects: rects)
                defer { jpeg.wipe() }
                let (png, _) = try PreviewImage.render(jpeg, .image(.jpeg))
                return .image(png: png, page: page, pages: pages, space: try? redactor.rectangleSpace(plain, .pdf, page: page))
            case .text(let terms, let spans):
                var redacted = try redactor.text(plain, terms: terms, spans: spans)
                defer { redacted.bytes.wipe() }
                return Self.textPreview(redacted.bytes)
            case .bytes:
                guard let kind = try Self.previewSource(source) else { return Self.textPreview(plain) }
                let (png, pages) = try PreviewImage.render(plain, kind, page: page)
                return .image(png: png, page: page, pages: pages, space: try? redactor.rectangleSpace(plain, kind, page: page))
            case .redactedCopy:
                throw VaultError.invalidArgument("the redacted copy was not looked up")
            }
        } catch let error as RedactionError {
            switch error {
            case .rectangleOutside, .pages, .text: throw VaultError.invalidArgument("\(error)")
            case .unreadable(let why) where why.hasPrefix("the document has"): throw VaultError.invalidArgument(why)
            case .unreadable, .tooManyPixels, .imaging: throw VaultError.cannotRedact("\(error)")
            }
        }
    }

    /// A record's plaintext for a preview, after its `view` event is durable.
    private func readForPreview(_ record: EvidenceRecord, by caller: Caller, why: String) throws -> [UInt8] {
        guard record.size <= Self.maxPreviewBytes else {
            throw VaultError.noPreview("the file is larger than \(Self.maxPreviewBytes >> 20) MiB: it is not previewed")
        }
        let keys = try requireKeys("previewing a record")
        return try vaulting { () -> [UInt8] in
            let reader = try openRecord(record, keys: keys) { [self] error in
                _ = try? audit(event(record, actor: caller.actor, action: .view, outcome: .failed, reason: "\(error)"))
            }
            // No audit record, no access: the view is durable before anything is decrypted.
            try audit(event(record, actor: caller.actor, action: .view, outcome: .ok, reason: why))
            var bytes: [UInt8] = []
            bytes.reserveCapacity(Int(record.size))
            while try reader.next({ bytes += $0 }) {}
            return bytes
        }
    }
}
