import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Storage
import Vault

/// School-to-school transfers (docs/transfers.md, docs/openapi.yaml): the directory of schools,
/// drafts, approval that sends, receiving a package, and the sender's status.
struct TransferRoutes {
    let vault: Vault
    let pool: BlockingPool
    /// This vault's public address, if configured: links and the receipt address are absolute.
    let publicOrigin: String?

    func register(on group: RouterGroup<StrongroomContext>) {
        group.post("schools", use: trust)
        group.get("schools", use: directory)
        group.post("transfers", use: create)
        group.get("transfers", use: list)
        group.post("transfers/incoming", use: incoming)
        group.post("transfers/fetch", use: fetch)
        group.get("transfers/:id", use: show)
        group.post("transfers/:id/approve", use: approve)
        group.get("received-transfers/:id", use: received)
        group.get("transfer-settings", use: settings)
        group.put("transfer-settings", use: changeSettings)
    }

    struct TrustBody: Decodable {
        var school: String
        var card: SchoolCard
        var fingerprint: String
        var replace: Bool?
    }

    @Sendable func trust(_ request: Request, context: StrongroomContext) async throws -> Response {
        let caller = try context.requireCaller()
        let body = try await LifecycleRoutes.decode(TrustBody.self, request)
        let vault = self.vault
        let pinned = try await pool.run {
            try vault.transfers.trust(owner: body.school, card: body.card, fingerprint: body.fingerprint, replace: body.replace ?? false, by: caller)
        }
        return try jsonResponse(PinnedSchoolJSON(pinned), status: .created)
    }

    @Sendable func directory(_ request: Request, context: StrongroomContext) async throws -> Response {
        let caller = try context.requireCaller()
        let school = try requiredQuery("school", request)
        let vault = self.vault
        let list = try await pool.run { try vault.transfers.directory(owner: school, by: caller) }
        return try jsonResponse(list.map(PinnedSchoolJSON.init))
    }

    struct CreateBody: Decodable { var school, child, toSchool, reason: String }

    @Sendable func create(_ request: Request, context: StrongroomContext) async throws -> Response {
        let caller = try context.requireCaller()
        let body = try await LifecycleRoutes.decode(CreateBody.self, request)
        let vault = self.vault
        let status = try await pool.run { () -> TransferStatus in
            let row = try vault.transfers.create(school: body.school, child: body.child, toSchool: body.toSchool, reason: body.reason, by: caller)
            return try vault.transfers.status(id: row.id, by: caller)
        }
        return try jsonResponse(TransferJSON(status), status: .created, extra: [.location: "/v1/transfers/\(status.transfer.id)"])
    }

    @Sendable func list(_ request: Request, context: StrongroomContext) async throws -> Response {
        let caller = try context.requireCaller()
        let school = try requiredQuery("school", request)
        let child = request.uri.queryParameters.get("child")
        let vault = self.vault
        let (sent, received) = try await pool.run { try vault.transfers.list(school: school, child: child, by: caller) }
        return try jsonResponse(TransferListJSON(sent: sent.map(TransferJSON.init), received: received.map { ReceivedJSON($0, records: nil) }))
    }

    @Sendable func show(_ request: Request, context: StrongroomContext) async throws -> Response {
        let caller = try context.requireCaller()
        let id = context.parameters.get("id") ?? ""
        let vault = self.vault
        let status = try await pool.run { try vault.transfers.status(id: id, by: caller) }
        return try jsonResponse(TransferJSON(status))
    }

    @Sendable func approve(_ request: Request, context: StrongroomContext) async throws -> Response {
        let caller = try context.requireCaller()
        let id = context.parameters.get("id") ?? ""
        let vault = self.vault
        let receiptURL = publicOrigin.map { $0 + "/v1/transfer-receipts" }
        let sent = try await pool.run { try vault.transfers.approve(id: id, receiptURL: receiptURL, by: caller) }
        return try jsonResponse(SentJSON(id: sent.transfer.id, state: TransferStatus.State.sent.rawValue,
                                         downloadUrl: (publicOrigin ?? "") + sent.downloadPath,
                                         expiresAt: iso8601(millis: sent.transfer.linkExpiresMillis ?? 0),
                                         packageSHA256: sent.transfer.packageSHA256 ?? "", manifestSHA256: sent.transfer.manifestSHA256 ?? "",
                                         records: sent.transfer.recordCount ?? 0))
    }

    /// The package's bytes are the body (`application/octet-stream`).
    @Sendable func incoming(_ request: Request, context: StrongroomContext) async throws -> Response {
        let caller = try context.requireCaller()
        let school = try requiredQuery("school", request)
        let child = request.uri.queryParameters.get("child").map { String($0) }
        let limit = Vault.maxPackagePlaintextBytes + (1 << 20)
        let body: ByteBuffer
        do { body = try await request.body.collect(upTo: limit) } catch {
            throw Problem(status: .contentTooLarge, slug: "too-large", title: "Package too large",
                          detail: "a transfer package may be at most \(limit >> 20) MiB", closeConnection: true)
        }
        return try await receive(Array(body.readableBytesView), school: school, child: child, caller: caller)
    }

    struct FetchBody: Decodable { var school: String; var url: String; var child: String? }

    /// The receiving vault fetches the package from the sender's link itself.
    @Sendable func fetch(_ request: Request, context: StrongroomContext) async throws -> Response {
        let caller = try context.requireCaller()
        let body = try await LifecycleRoutes.decode(FetchBody.self, request)
        guard caller.principal.map({ AccessPolicy.grant($0.role, .transfer) != .denied && $0.schools.contains(body.school) }) ?? false else {
            // Refused before any request leaves this vault; the vault audits the denial.
            _ = try await pool.run { [vault] in try vault.transfers.list(school: body.school, by: caller) }
            throw Problem(status: .forbidden, slug: "forbidden", title: "Not allowed", detail: "you may not receive transfers for this school")
        }
        let package: [UInt8]
        do {
            package = try await TransferCourier.fetch(body.url, limit: Vault.maxPackagePlaintextBytes + (1 << 20))
        } catch let failure as TransferCourier.Failure {
            throw Problem(status: .badGateway, slug: "transfer-fetch-failed", title: "Could not fetch the package",
                          detail: "the package was not fetched: \(failure)")
        }
        return try await receive(package, school: body.school, child: body.child, caller: caller)
    }

    private func receive(_ package: [UInt8], school: String, child: String?, caller: Caller) async throws -> Response {
        let vault = self.vault
        let received = try await pool.run { try vault.transfers.receive(package, school: school, child: child, by: caller) }
        var delivered = false
        if let url = received.receiptURL {
            delivered = await TransferCourier.deliver(receipt: try received.receipt.jsonBytes(), to: url)
            if delivered { try? await pool.run { try vault.transfers.noteReceiptDelivered(incoming: received.incoming.id) } }
        }
        return try jsonResponse(IncomingJSON(
            id: received.incoming.id, child: received.incoming.child,
            records: received.records.map { .init(id: $0.id, originalId: $0.originalID, sha256: $0.sha256) },
            receipt: received.receipt, receiptDelivered: delivered), status: .created)
    }

    @Sendable func received(_ request: Request, context: StrongroomContext) async throws -> Response {
        let caller = try context.requireCaller()
        let id = context.parameters.get("id") ?? ""
        let vault = self.vault
        let (row, records) = try await pool.run { try vault.transfers.received(id: id, by: caller) }
        return try jsonResponse(ReceivedJSON(row, records: records))
    }

    struct SettingsJSON: Codable { var school: String?; var afterReceipt: String }

    @Sendable func settings(_ request: Request, context: StrongroomContext) async throws -> Response {
        let caller = try context.requireCaller()
        let school = try requiredQuery("school", request)
        let vault = self.vault
        let rule = try await pool.run { try vault.transfers.afterReceiptRule(school: school, by: caller) }
        return try jsonResponse(SettingsJSON(school: school, afterReceipt: rule.rawValue))
    }

    @Sendable func changeSettings(_ request: Request, context: StrongroomContext) async throws -> Response {
        let caller = try context.requireCaller()
        let school = try requiredQuery("school", request)
        let body = try await LifecycleRoutes.decode(SettingsJSON.self, request)
        guard let rule = AfterReceiptRule(rawValue: body.afterReceipt) else {
            throw Problem(status: .badRequest, slug: "invalid-argument", title: "Invalid request",
                          detail: "afterReceipt is one of \(AfterReceiptRule.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let vault = self.vault
        try await pool.run { try vault.transfers.setAfterReceiptRule(school: school, rule: rule, by: caller) }
        return try jsonResponse(SettingsJSON(school: school, afterReceipt: rule.rawValue))
    }
}

/// The public side: this vault's card, the link the receiving vault fetches, and receipts.
struct PublicTransferRoutes {
    let vault: Vault
    let pool: BlockingPool

    func register(on router: Router<StrongroomContext>) {
        router.get("v1/transfer-card", use: card)
        router.get("v1/transfer-packages/:token", use: package)
        router.post("v1/transfer-receipts", use: receipt)
    }

    @Sendable func card(_ request: Request, context: StrongroomContext) async throws -> Response {
        let school = request.uri.queryParameters.get("school").map { String($0) }
        let vault = self.vault
        let card = try await pool.run { try vault.transfers.card(school: school) }
        return try jsonResponse(card)
    }

    /// Streams the package as the client takes it (`PacedBody`), never the whole file in memory.
    @Sendable func package(_ request: Request, context: StrongroomContext) async throws -> Response {
        let token = context.parameters.get("token") ?? ""
        let vault = self.vault
        let source = context.refusalSource
        let (row, handed, size) = try await pool.run { () -> (TransferRow, Handoff<any SharedFileReader>, Int) in
            let (row, package) = try vault.transfers.openPackage(token: token, by: .linkHolder(source: source))
            return (row, Handoff(value: package), Int(package.size))
        }
        let headers: HTTPFields = [
            .contentType: "application/octet-stream",
            .contentDisposition: ContentDisposition.attachment(filename: "transfer-\(row.id).age"),
            HTTPField.Name("X-Content-Type-Options")!: "nosniff",
            .contentSecurityPolicy: "sandbox",
            .cacheControl: "no-store",
        ]
        let pool = self.pool
        let paced = PacedBody(channel: context.channel)
        let body = ResponseBody(contentLength: size) { writer in
            var paced = paced
            defer { handed.value.close() }
            var sent = 0
            while sent < size {
                let left = size - sent, count = sent == 0 ? PacedBody.firstHopChunks(size: Int64(size)) : PacedBody.chunksPerHop
                let chunks = try await pool.run { try SharedLinkRoutes.readChunks(handed.value, count: count, upTo: left) }
                try await paced.write(chunks, to: &writer)
                sent += chunks.reduce(0) { $0 + $1.readableBytes }
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }

    @Sendable func receipt(_ request: Request, context: StrongroomContext) async throws -> Response {
        let buffer: ByteBuffer
        do { buffer = try await request.body.collect(upTo: 64 * 1024) } catch {
            throw Problem(status: .contentTooLarge, slug: "too-large", title: "Body too large", detail: "a receipt is a small JSON document", closeConnection: true)
        }
        let receipt = try TransferReceipt.parse(Array(buffer.readableBytesView))
        let vault = self.vault
        let source = context.refusalSource
        let row = try await pool.run { try vault.transfers.acceptReceipt(receipt, by: .linkHolder(source: source)) }
        return try jsonResponse(["transfer": row.id, "state": TransferStatus.State.received.rawValue])
    }
}

struct PinnedSchoolJSON: Encodable {
    var owner, school, name, ageRecipient, signingKey, fingerprint, addedBy, addedAt: String
    init(_ p: PinnedSchool) {
        owner = p.owner; school = p.school; name = p.name; ageRecipient = p.ageRecipient; signingKey = p.signingKey
        fingerprint = p.fingerprint; addedBy = p.addedBy; addedAt = iso8601(millis: p.addedAtMillis)
    }
}

struct TransferJSON: Encodable {
    var id, state, school, child, toSchool, reason, createdBy, createdAt: String
    var toName, approvedBy, sentAt, receiptDueAt, receivedAt, manifestSHA256, packageSHA256, afterReceipt, linkExpiresAt: String?
    var recordCount: Int?
    var linkDownloads: Int
    var receipt: TransferReceipt?

    init(_ s: TransferStatus) {
        let t = s.transfer
        id = t.id; state = s.state.rawValue; school = t.school; child = t.child; toSchool = t.toSchool; reason = t.reason
        createdBy = t.createdBy; createdAt = iso8601(millis: t.createdAtMillis); toName = s.toName; approvedBy = t.approvedBy
        sentAt = t.sentAtMillis.map(iso8601(millis:)); receiptDueAt = s.receiptDueMillis.map(iso8601(millis:))
        receivedAt = t.receiptAtMillis.map(iso8601(millis:)); manifestSHA256 = t.manifestSHA256; packageSHA256 = t.packageSHA256
        afterReceipt = t.afterReceipt; linkExpiresAt = t.linkExpiresMillis.map(iso8601(millis:)); recordCount = t.recordCount
        linkDownloads = t.linkDownloads
        receipt = t.receipt.flatMap { try? TransferReceipt.parse(Array($0)) }
    }
}

struct TransferListJSON: Encodable {
    var sent: [TransferJSON]
    var received: [ReceivedJSON]
}

struct SentJSON: Encodable {
    var id, state, downloadUrl, expiresAt, packageSHA256, manifestSHA256: String
    var records: Int
}

struct IncomingJSON: Encodable {
    struct Record: Encodable { var id, originalId, sha256: String }
    var id, child: String
    var records: [Record]
    var receipt: TransferReceipt
    var receiptDelivered: Bool
}

struct ReceivedJSON: Encodable {
    struct Record: Encodable { var id, originalId, originalSHA256, recordedAt, recordedBy: String }
    var id, school, child, fromSchool, fromName, transfer, manifestSHA256, sentAt, receivedAt, receivedBy: String
    var receiptDelivered: Bool
    var records: [Record]?

    init(_ r: IncomingTransferRow, records: [TransferredRecordRow]?) {
        id = r.id; school = r.school; child = r.child; fromSchool = r.fromSchool; fromName = r.fromName; transfer = r.transfer
        manifestSHA256 = r.manifestSHA256; sentAt = iso8601(millis: r.sentAtMillis); receivedAt = iso8601(millis: r.receivedAtMillis)
        receivedBy = r.receivedBy; receiptDelivered = r.receiptDeliveredMillis != nil
        self.records = records?.map {
            Record(id: $0.record, originalId: $0.originalID, originalSHA256: $0.originalSHA256, recordedAt: iso8601(millis: $0.recordedAtMillis),
                   recordedBy: $0.recordedBy)
        }
    }
}
