import Foundation
import HTTPTypes
import Hummingbird
import KeyManagement
import NIOCore
import Storage
import Vault

/// The /v1 routes. Every handler does its vault work on the blocking pool; bodies stream in
/// both directions, so the server's memory does not grow with file size.
struct AttachmentRoutes {
    /// How many bytes cross to the blocking pool at a time: big enough that the hop costs
    /// nothing next to the crypto and the write, small enough to bound memory per request.
    static let handoffBytes = 1 << 20
    let vault: Vault
    let pool: BlockingPool
    let maxUploadBytes: Int64

    func register(on group: RouterGroup<StrongroomContext>) {
        group.post("attachments", use: upload)
        group.get("attachments/:id", use: download)
        group.get("attachments/:id/metadata", use: metadata)
        group.get("attachments/:id/audit", use: auditTrail)
        group.get("children/:child/attachments", use: chronology)
    }

    // MARK: upload

    @Sendable func upload(_ request: Request, context: StrongroomContext) async throws -> Response {
        let caller = try context.requireCaller()
        let q = request.uri.queryParameters
        // The body is not read after a refusal here, so the connection closes.
        func required(_ name: String) throws -> String { try requiredQuery(name, request, closeConnection: true) }
        guard let declared = request.headers[.contentType], !declared.isEmpty else {
            throw Problem(status: .badRequest, slug: "missing-content-type", title: "Missing Content-Type",
                          detail: "send the file's type in Content-Type (for example application/pdf)", closeConnection: true)
        }
        var put = PutRequest(
            school: try required("school"), child: try required("child"), concern: try required("concern"),
            kind: try required("kind"), filename: try required("filename"), declaredType: declared,
            maxBytes: maxUploadBytes)
        if let category = q.get("category"), !category.isEmpty { put.category = category }
        if let original = q.get("derivedFrom"), !original.isEmpty { put.derivedFrom = original }
        let vault = self.vault
        let putRequest = put
        let session = Handoff(value: try await pool.run { Handoff(value: try vault.records.beginPut(putRequest, by: caller)) }.value)
        let announced = request.headers[.contentLength].flatMap { Int64($0) }
        do {
            if let announced { try await pool.run { try session.value.expectLength(announced) } }
            var pending = ByteBuffer()
            var received: Int64 = 0
            var body = request.body.makeAsyncIterator()
            while let buffer = try await Self.nextPart(of: &body) {
                received += Int64(buffer.readableBytes)
                var buffer = buffer
                pending.writeBuffer(&buffer)
                if pending.readableBytes >= Self.handoffBytes {
                    let chunk = pending
                    pending = ByteBuffer()
                    try await pool.run { try chunk.withUnsafeReadableBytes { try session.value.write($0) } }
                }
            }
            if let announced, received != announced {
                throw Problem(status: .badRequest, slug: "incomplete-body", title: "Incomplete upload",
                              detail: "the body ended after \(received) of \(announced) bytes; nothing was stored", closeConnection: true)
            }
            let last = pending
            let record = try await pool.run { () throws -> EvidenceRecord in
                if last.readableBytes > 0 { try last.withUnsafeReadableBytes { try session.value.write($0) } }
                return try session.value.finish()
            }
            ServerMetrics.bytesIn.increment(by: Int64(record.size))
            return try json(RecordJSON(record), status: .created, extra: [.location: "/v1/attachments/\(record.id)"])
        } catch {
            // A disconnect, a refusal or a failure: nothing of this upload stays. Only a body
            // that did not arrive is the client's; a failure to store it (a full disk) is ours.
            session.value.abort()
            throw error
        }
    }

    /// The next part of an upload's body; a body that breaks off (the client hung up, or sent
    /// something that is not HTTP) is a 400 that closes the connection.
    static func nextPart(of body: inout RequestBody.AsyncIterator) async throws -> ByteBuffer? {
        do {
            return try await body.next()
        } catch {
            throw Problem(status: .badRequest, slug: "incomplete-body", title: "Incomplete upload",
                          detail: "the upload did not arrive whole; nothing was stored", closeConnection: true)
        }
    }

    // MARK: download

    @Sendable func download(_ request: Request, context: StrongroomContext) async throws -> Response {
        let caller = try context.requireCaller()
        let id = context.parameters.get("id") ?? ""
        let vault = self.vault
        // The audit event is durable when this returns: before the first byte is sent. The first
        // chunks are decrypted in the same hop, so a small file costs one trip to the pool.
        let (download, first, firstMore) = try await pool.run { () throws -> (Handoff<RecordDownload>, [ByteBuffer], Bool) in
            let download = try vault.records.download(id: id, by: caller)
            let (chunks, more) = try Self.nextChunks(download, count: PacedBody.firstHopChunks(size: download.record.size))
            return (Handoff(value: download), chunks, more)
        }
        let record = download.value.record
        let headers: HTTPFields = [
            .contentType: record.sniffedType,
            .contentDisposition: ContentDisposition.attachment(filename: record.servedFilename),
            HTTPField.Name("X-Content-Type-Options")!: "nosniff",
            .contentSecurityPolicy: "sandbox",
            .cacheControl: "no-store",
            .eTag: "\"sha256-\(record.sha256)\"",
        ]
        let pool = self.pool
        let paced = PacedBody(channel: context.channel)
        let body = ResponseBody(contentLength: Int(record.size)) { writer in
            var paced = paced
            var chunks = first, more = firstMore
            while true {
                // Waits while the client is behind: nothing more is decrypted until it reads.
                try await paced.write(chunks, to: &writer)
                if !more { break }
                // A damaged chunk throws here: the connection is then closed without the rest
                // of the body, so no client mistakes a partial file for a whole one.
                (chunks, more) = try await pool.run { try Self.nextChunks(download.value, count: PacedBody.chunksPerHop) }
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }

    /// The next `count` chunks of plaintext (fewer at the end), each in a buffer of its own, and
    /// whether more follows.
    static func nextChunks(_ download: RecordDownload, count: Int) throws -> ([ByteBuffer], Bool) {
        var chunks: [ByteBuffer] = []
        var more = true
        while more, chunks.count < count {
            var chunk = PacedBody.chunkBuffer()
            more = try download.next { chunk.writeBytes($0) }
            chunks.append(chunk)
        }
        return (chunks, more)
    }

    // MARK: metadata, audit trail, chronology

    @Sendable func metadata(_ request: Request, context: StrongroomContext) async throws -> Response {
        let caller = try context.requireCaller()
        let id = context.parameters.get("id") ?? ""
        let vault = self.vault
        let record = try await pool.run { try vault.records.show(id: id, by: caller) }
        return try json(RecordJSON(record))
    }

    @Sendable func auditTrail(_ request: Request, context: StrongroomContext) async throws -> Response {
        let caller = try context.requireCaller()
        let id = context.parameters.get("id") ?? ""
        let vault = self.vault
        let (record, events) = try await pool.run { try vault.records.auditTrail(id: id, by: caller) }
        return try json(AuditTrailJSON(record: record.id, events: events.map(EventJSON.init)))
    }

    @Sendable func chronology(_ request: Request, context: StrongroomContext) async throws -> Response {
        let caller = try context.requireCaller()
        let child = context.parameters.get("child") ?? ""
        let q = request.uri.queryParameters
        let school = try requiredQuery("school", request)
        func number(_ name: String, _ fallback: Int) throws -> Int {
            guard let text = q.get(name) else { return fallback }
            guard let n = Int(text) else {
                throw Problem(status: .badRequest, slug: "invalid-argument", title: "Invalid request", detail: "\(name) must be a number")
            }
            return n
        }
        let limit = try number("limit", 100), offset = try number("offset", 0)
        let vault = self.vault
        let (records, shares) = try await pool.run {
            try vault.records.chronologyAndShares(child: child, school: school, limit: limit, offset: offset, by: caller)
        }
        let next = records.count == limit ? offset + limit : nil
        return try json(ChronologyJSON(records: records.map(RecordJSON.init), shares: shares.map(ShareJSON.init), limit: limit,
                                       offset: offset, nextOffset: next))
    }

    private func json<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok, extra: HTTPFields = [:]) throws -> Response {
        try jsonResponse(value, status: status, extra: extra)
    }
}

/// A query parameter the route cannot do without: absent or empty is a 400 naming it.
func requiredQuery(_ name: String, _ request: Request, closeConnection: Bool = false) throws -> String {
    guard let value = request.uri.queryParameters.get(name), !value.isEmpty else {
        throw Problem(status: .badRequest, slug: "missing-parameter", title: "Missing parameter",
                      detail: "the query parameter '\(name)' is required", closeConnection: closeConnection)
    }
    return String(value)
}

/// A JSON response that no cache keeps.
func jsonResponse<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok, extra: HTTPFields = [:]) throws -> Response {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys]
    var headers: HTTPFields = [.contentType: "application/json", .cacheControl: "no-store"]
    headers.append(contentsOf: extra)
    return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: try encoder.encode(value))))
}

/// RFC 6266 / RFC 8187: an ASCII fallback and the exact name, percent-encoded as UTF-8.
enum ContentDisposition {
    static func attachment(filename: String) -> String {
        let fallback = String(filename.unicodeScalars.map { s -> Character in
            (0x20..<0x7f).contains(s.value) && s != "\"" && s != "\\" && s != "%" ? Character(s) : "_"
        })
        var encoded = ""
        for byte in filename.utf8 {
            let c = Character(Unicode.Scalar(byte))
            if byte < 0x80, c.isLetter || c.isNumber || "!#$&+-.^_`|~".contains(c) {
                encoded.append(c)
            } else {
                encoded += String(format: "%%%02X", byte)
            }
        }
        return "attachment; filename=\"\(fallback)\"; filename*=UTF-8''\(encoded)"
    }
}

struct RecordJSON: Encodable {
    var id, school, child, concern, kind, filename, sniffedType, sha256, createdAt, createdBy: String
    var declaredType: String?
    var derivedFrom: String?
    var size: Int64

    init(_ r: EvidenceRecord) {
        id = r.id; school = r.school; child = r.child; concern = r.concern; kind = r.kind; filename = r.filename
        sniffedType = r.sniffedType; sha256 = r.sha256; createdBy = r.createdBy; declaredType = r.declaredType; size = r.size
        derivedFrom = r.derivedFrom
        createdAt = iso8601(Date(timeIntervalSince1970: Double(r.createdAtMillis) / 1000))
    }
}

struct ChronologyJSON: Encodable {
    var records: [RecordJSON]
    /// What of the child's records was shared: with whom, when, by whom and why.
    var shares: [ShareJSON]
    var limit: Int
    var offset: Int
    var nextOffset: Int?
}

struct ShareJSON: Encodable {
    var bundle, recipient, reason, createdBy: String
    var approvedBy, releasedAt, receiptAt: String?
    var records: [String]
    var modes: [String]

    init(_ share: ShareEntry) {
        bundle = share.bundle.id; recipient = share.bundle.recipient; reason = share.bundle.reason; createdBy = share.bundle.createdBy
        approvedBy = share.bundle.approvedBy; releasedAt = share.bundle.releasedAtMillis.map(iso8601(millis:))
        receiptAt = share.bundle.receiptAtMillis.map(iso8601(millis:))
        records = share.items.map(\.record); modes = share.items.map(\.mode)
    }
}

struct EventJSON: Encodable {
    var sequence: Int64
    var time: String
    var actor, action, outcome: String
    var reason: String?

    init(_ e: AuditEvent) {
        sequence = e.sequence; actor = e.actor; action = e.action; outcome = e.outcome; reason = e.reason
        time = iso8601(e.time)
    }
}

struct AuditTrailJSON: Encodable {
    var record: String
    var events: [EventJSON]
}

func iso8601(_ date: Date) -> String {
    Date.ISO8601FormatStyle(includingFractionalSeconds: true).format(date)
}
