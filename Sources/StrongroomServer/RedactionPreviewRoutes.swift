import Foundation
import Hummingbird
import Vault

/// What the console's bundle pages show before a release, drawn by the code that makes the
/// bundle (docs/bundles.md, "Seeing a redaction before it is sent"):
///
/// - `POST /v1/attachments/{id}/redaction-preview[?page=N]` with an item's choice (`mode`,
///   `rects`, `terms`, `spans`, `confirm`) → the item as a bundle would carry it: a PNG of the
///   image or PDF page with the rectangles filled, or the text with the terms replaced.
/// - `POST /v1/attachments/{id}/term-matches` with `{"terms": [...]}` → how often each term
///   occurs and the text in runs, to highlight them; a term found nowhere counts 0.
/// - `GET /v1/bundles/{id}/items/{position}/preview[?page=N]` → a draft's item as its release
///   will make it, from the draft's sealed choices (what the approver checks).
///
/// Each is a `view` of the record in the audit log, as a preview is.
struct RedactionPreviewRoutes {
    let vault: Vault
    let pool: BlockingPool

    func register(on group: RouterGroup<StrongroomContext>) {
        group.post("attachments/:id/redaction-preview", use: redactionPreview)
        group.post("attachments/:id/term-matches", use: termMatches)
        group.get("bundles/:id/items/:position/preview", use: itemPreview)
    }

    struct TermsBody: Decodable { var terms: [String] }

    struct MatchesJSON: Encodable {
        struct Run: Encodable { var text: String; var matched: Bool }
        var counts: [Int]
        var runs: [Run]
    }

    @Sendable func redactionPreview(_ request: Request, context: StrongroomContext) async throws -> Response {
        let caller = try context.requireCaller()
        let id = context.parameters.get("id") ?? ""
        let page = try PreviewRoute.page(request)
        let choice = try await LifecycleRoutes.decode(ChoiceBody.self, request)
        let item = BundleItemRequest(record: id, mode: choice.mode, rects: choice.rects, terms: choice.terms, spans: choice.spans,
                                     confirm: choice.confirm)
        let vault = self.vault
        let shown = try await pool.run { try vault.bundles.redactionPreview(record: id, choice: item, page: page, by: caller) }
        return PreviewRoute.response(shown)
    }

    @Sendable func termMatches(_ request: Request, context: StrongroomContext) async throws -> Response {
        let caller = try context.requireCaller()
        let id = context.parameters.get("id") ?? ""
        let body = try await LifecycleRoutes.decode(TermsBody.self, request)
        let vault = self.vault
        let found = try await pool.run { try vault.bundles.termMatches(record: id, terms: body.terms, by: caller) }
        var response = try jsonResponse(MatchesJSON(counts: found.counts, runs: found.runs.map { .init(text: $0.text, matched: $0.matched) }))
        response.headers[.cacheControl] = "no-store"
        return response
    }

    @Sendable func itemPreview(_ request: Request, context: StrongroomContext) async throws -> Response {
        let caller = try context.requireCaller()
        let id = context.parameters.get("id") ?? ""
        guard let position = context.parameters.get("position").flatMap(Int.init), (1...Vault.maxBundleItems).contains(position) else {
            throw Problem(status: .badRequest, slug: "invalid-argument", title: "Invalid request",
                          detail: "an item's position is 1 to \(Vault.maxBundleItems)")
        }
        let page = try PreviewRoute.page(request)
        let vault = self.vault
        let shown = try await pool.run { try vault.bundles.itemPreview(id: id, position: position, page: page, by: caller) }
        return PreviewRoute.response(shown)
    }

    /// One item's choice, as POST /v1/bundles takes it, without the record (the path names it).
    struct ChoiceBody: Decodable {
        var mode: BundleItemMode
        var rects: [[Double]]?
        var terms: [String]?
        var spans: [[Int]]?
        var confirm: Bool?
    }
}
