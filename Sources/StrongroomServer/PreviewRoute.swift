import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Vault

/// `GET /v1/attachments/{id}/preview[?page=N]`: what the console shows of a record. An image
/// or PDF page comes as a PNG the server drew (no metadata, at most 1600 px), text as
/// `text/plain; charset=utf-8`, and a kind without a preview as 415. Never cached, never
/// sniffed, never run: the text is served under a sandboxing CSP in case it is opened directly.
struct PreviewRoute {
    let vault: Vault
    let pool: BlockingPool

    static let pagesHeader = HTTPField.Name("Strongroom-Preview-Pages")!
    static let truncatedHeader = HTTPField.Name("Strongroom-Preview-Truncated")!
    /// What the preview shows, measured in the units a bundle's rectangles are given in:
    /// `WIDTH HEIGHT pixels` for an image, `WIDTH HEIGHT points` for a PDF page.
    static let spaceHeader = HTTPField.Name("Strongroom-Rectangle-Space")!

    func register(on group: RouterGroup<StrongroomContext>) {
        group.get("attachments/:id/preview", use: preview)
    }

    @Sendable func preview(_ request: Request, context: StrongroomContext) async throws -> Response {
        let caller = try context.requireCaller()
        let id = context.parameters.get("id") ?? ""
        let page = try Self.page(request)
        let vault = self.vault
        let shown = try await pool.run { try vault.records.preview(id: id, page: page, by: caller) }
        return Self.response(shown)
    }

    /// The `page` query (default 1), or a 400 naming it.
    static func page(_ request: Request) throws -> Int {
        guard let text = request.uri.queryParameters.get("page") else { return 1 }
        guard let n = Int(text), (1...10_000).contains(n) else {
            throw Problem(status: .badRequest, slug: "invalid-argument", title: "Invalid request", detail: "page must be 1 to 10000")
        }
        return n
    }

    /// A preview as the console takes it: never cached, never sniffed, never run.
    static func response(_ shown: RecordPreview) -> Response {
        var headers: HTTPFields = [
            .cacheControl: "no-store", .init("X-Content-Type-Options")!: "nosniff",
            .contentSecurityPolicy: "default-src 'none'; sandbox",
        ]
        switch shown {
        case .image(let png, _, let pages, let space):
            headers[.contentType] = "image/png"
            headers[Self.pagesHeader] = String(pages)
            if let space {
                headers[Self.spaceHeader] = String(format: "%.2f %.2f ", space.width, space.height) + space.unit.rawValue
            }
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: png)))
        case .text(let text, let truncated):
            headers[.contentType] = "text/plain; charset=utf-8"
            headers[Self.pagesHeader] = "1"
            if truncated { headers[Self.truncatedHeader] = "true" }
            return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
        }
    }
}
