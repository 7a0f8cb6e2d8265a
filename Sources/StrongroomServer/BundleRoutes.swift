import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOPosix
import Storage
import Vault

/// Bundles for agencies (docs/openapi.yaml, docs/bundles.md): drafted by a DSL or deputy,
/// released by another, fetched by the recipient through a link that needs no account.
struct BundleRoutes {
    let vault: Vault
    let pool: BlockingPool

    func register(on group: RouterGroup<StrongroomContext>) {
        group.post("bundles", use: create)
        group.get("bundles", use: list)
        group.get("bundles/:id", use: show)
        group.post("bundles/:id/approve", use: approve)
        group.post("bundles/:id/return", use: sendBack)
        group.delete("bundles/:id/link", use: revoke)
    }

    struct ApproveBody: Decodable {
        var expiresInDays: Int?
        var maxDownloads: Int?
    }

    @Sendable func create(_ request: Request, context: StrongroomContext) async throws -> Response {
        let caller = try context.requireCaller()
        let body = try await LifecycleRoutes.decode(BundleRequest.self, request)
        let vault = self.vault
        let row = try await pool.run { try vault.bundles.createBundle(body, by: caller) }
        let items = try await pool.run { try vault.bundles.bundle(id: row.id, by: caller).1 }
        return try jsonResponse(BundleJSON(row, items: items, review: nil), status: .created, extra: [.location: "/v1/bundles/\(row.id)"])
    }

    @Sendable func list(_ request: Request, context: StrongroomContext) async throws -> Response {
        let caller = try context.requireCaller()
        let school = try requiredQuery("school", request)
        let vault = self.vault
        let rows = try await pool.run { try vault.bundles.list(school: school, by: caller) }
        return try jsonResponse(rows.map { BundleJSON($0, items: nil, review: nil) })
    }

    @Sendable func show(_ request: Request, context: StrongroomContext) async throws -> Response {
        let caller = try context.requireCaller()
        let id = context.parameters.get("id") ?? ""
        let vault = self.vault
        let (row, items, review) = try await pool.run { try vault.bundles.bundle(id: id, by: caller) }
        return try jsonResponse(BundleJSON(row, items: items, review: review))
    }

    @Sendable func approve(_ request: Request, context: StrongroomContext) async throws -> Response {
        let caller = try context.requireCaller()
        let id = context.parameters.get("id") ?? ""
        let body = try await LifecycleRoutes.decode(ApproveBody.self, request, ifEmpty: ApproveBody())
        let link = LinkTerms(expiresInDays: body.expiresInDays ?? LinkTerms.defaultDays, maxDownloads: body.maxDownloads)
        let vault = self.vault
        let released = try await pool.run { try vault.bundles.approveBundle(id: id, link: link, by: caller) }
        return try jsonResponse(ReleaseJSON(released))
    }

    struct ReturnBody: Decodable { var comment: String }

    @Sendable func sendBack(_ request: Request, context: StrongroomContext) async throws -> Response {
        let caller = try context.requireCaller()
        let id = context.parameters.get("id") ?? ""
        let body = try await LifecycleRoutes.decode(ReturnBody.self, request)
        let vault = self.vault
        let row = try await pool.run { try vault.bundles.returnBundle(id: id, comment: body.comment, by: caller) }
        return try jsonResponse(BundleJSON(row, items: nil, review: nil))
    }

    @Sendable func revoke(_ request: Request, context: StrongroomContext) async throws -> Response {
        let caller = try context.requireCaller()
        let id = context.parameters.get("id") ?? ""
        let vault = self.vault
        try await pool.run { try vault.bundles.revokeBundleLink(id: id, by: caller) }
        return Response(status: .noContent)
    }
}

/// The recipient's side: no account, the token in the path is the credential.
struct SharedLinkRoutes {
    let vault: Vault
    let pool: BlockingPool

    func register(on router: Router<StrongroomContext>) {
        router.get("v1/shared/:token", use: download)
        router.post("v1/receipts/:token", use: receipt)
    }

    static func noSuchLink(_ error: Error) -> Error {
        if case VaultError.notFound = error {
            return Problem(status: .notFound, slug: "not-found", title: "No such link", detail: "this download link does not exist")
        }
        return error
    }

    @Sendable func download(_ request: Request, context: StrongroomContext) async throws -> Response {
        let token = context.parameters.get("token") ?? ""
        let vault = self.vault
        let source = context.refusalSource
        // The download is counted and audited before the first byte is sent.
        let use: Vault.BundleDownload
        do {
            use = try await pool.run { try vault.bundles.useBundleLink(token: token, by: .linkHolder(source: source)) }
        } catch { throw Self.noSuchLink(error) }
        let headers: HTTPFields = [
            .contentType: "application/octet-stream",
            .contentDisposition: ContentDisposition.attachment(filename: "bundle-\(use.bundle.id).age"),
            HTTPField.Name("X-Content-Type-Options")!: "nosniff",
            .contentSecurityPolicy: "sandbox",
            .cacheControl: "no-store",
        ]
        let pool = self.pool
        let size = Int(use.size)
        let handed = Handoff(value: use.file)
        let paced = PacedBody(channel: context.channel)
        let body = ResponseBody(contentLength: size) { writer in
            var paced = paced
            defer { handed.value.close() }
            var sent = 0
            do {
                while sent < size {
                    // Read only once the client has taken what was sent (`PacedBody`).
                    let left = size - sent, count = sent == 0 ? PacedBody.firstHopChunks(size: Int64(size)) : PacedBody.chunksPerHop
                    let chunks = try await pool.run { try Self.readChunks(handed.value, count: count, upTo: left) }
                    try await paced.write(chunks, to: &writer)
                    sent += chunks.reduce(0) { $0 + $1.readableBytes }
                }
                try await writer.finish(nil)
            } catch {
                let reason = "the download broke off after \(sent) of \(size) bytes"
                try? await pool.run { vault.bundles.recordBundleDownloadFailure(use, reason: reason) }
                throw error
            }
            if use.last { vault.bundles.discardBundleFiles(use.bundle.id) }
        }
        return Response(status: .ok, headers: headers, body: body)
    }

    /// Up to `count` chunks of the file (no more than `limit` bytes), read straight into
    /// chunk-sized buffers. Throws if the file ends first.
    static func readChunks(_ file: any SharedFileReader, count: Int, upTo limit: Int) throws -> [ByteBuffer] {
        var chunks: [ByteBuffer] = []
        var total = 0
        while chunks.count < count, total < limit {
            var chunk = PacedBody.chunkBuffer()
            let want = min(PacedBody.chunkBytes, limit - total)
            let n = try chunk.writeWithUnsafeMutableBytes(minimumWritableBytes: want) { room in
                try file.read(into: UnsafeMutableRawBufferPointer(rebasing: room[..<want]))
            }
            guard n > 0 else { throw VaultError.linkUnusable("the bundle's file ended early") }
            total += n
            chunks.append(chunk)
        }
        return chunks
    }

    /// The receipt token is not the download token: whoever the agency passes the unpacked
    /// bundle (and its README) to can confirm receipt, but not download again.
    @Sendable func receipt(_ request: Request, context: StrongroomContext) async throws -> Response {
        let token = context.parameters.get("token") ?? ""
        let vault = self.vault
        let source = context.refusalSource
        do {
            let row = try await pool.run { try vault.bundles.confirmBundleReceipt(token: token, by: .linkHolder(source: source)) }
            return try jsonResponse(ReceiptJSON(bundle: row.id, receivedAt: iso8601(millis: row.receiptAtMillis ?? 0)))
        } catch { throw Self.noSuchLink(error) }
    }
}

struct ReceiptJSON: Encodable {
    var bundle: String
    var receivedAt: String
}

func iso8601(millis: Int64) -> String { iso8601(Date(timeIntervalSince1970: Double(millis) / 1000)) }

struct BundleJSON: Encodable {
    struct Item: Encodable { var record, child, mode: String }
    var id, school, recipient, reason, state, createdBy, createdAt: String
    var approvedBy, releasedAt, linkExpiresAt, linkRevokedAt, receiptAt, archiveSHA256: String?
    /// A draft sent back: by whom, when and why.
    var returnedBy, returnedAt, returnComment: String?
    var linkDownloads: Int
    var linkMaxDownloads: Int?
    var archiveSize: Int64?
    var items: [Item]?
    /// A draft's choices and recipient, for the approver.
    var choices: [BundleItemRequest]?
    var recipientKey: String?
    var recipientContact: String?
    var recipientAddedBy: String?

    init(_ row: BundleRow, items: [BundleItemRow]?, review: BundleReview?) {
        choices = review?.choices
        recipientKey = review?.recipient.map { $0.ageRecipient ?? "passphrase" }
        recipientContact = review?.recipient?.contact
        recipientAddedBy = review?.recipient?.createdBy
        id = row.id; school = row.school; recipient = row.recipient; reason = row.reason; state = row.state.rawValue
        createdBy = row.createdBy; createdAt = iso8601(millis: row.createdAtMillis)
        approvedBy = row.approvedBy; releasedAt = row.releasedAtMillis.map(iso8601(millis:))
        linkExpiresAt = row.linkExpiresMillis.map(iso8601(millis:)); linkRevokedAt = row.linkRevokedMillis.map(iso8601(millis:))
        receiptAt = row.receiptAtMillis.map(iso8601(millis:)); archiveSHA256 = row.archiveSHA256; archiveSize = row.archiveSize
        linkDownloads = row.linkDownloads; linkMaxDownloads = row.linkMaxDownloads
        returnedBy = row.returnedBy; returnedAt = row.returnedAtMillis.map(iso8601(millis:)); returnComment = row.returnComment
        self.items = items?.map { Item(record: $0.record, child: $0.child, mode: $0.mode) }
    }
}

struct ReleaseJSON: Encodable {
    var id, state, downloadUrl, receiptUrl, expiresAt, archiveSHA256: String
    var maxDownloads: Int?
    var passphrase: String?

    init(_ r: ReleasedBundle) {
        id = r.bundle.id; state = r.bundle.state.rawValue; downloadUrl = r.downloadPath; receiptUrl = r.receiptPath
        expiresAt = iso8601(millis: r.bundle.linkExpiresMillis ?? 0); archiveSHA256 = r.bundle.archiveSHA256 ?? ""
        maxDownloads = r.bundle.linkMaxDownloads; passphrase = r.passphrase
    }
}
