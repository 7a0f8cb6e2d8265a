import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Storage
import Vault

/// Retention, legal holds and two-person shredding over HTTP (docs/openapi.yaml). Bodies are
/// small JSON documents; the vault does the checks and writes the audit events.
struct LifecycleRoutes {
    /// Large enough for a shred request naming every record `ShredPolicy` allows.
    static let maxJSONBytes = 16 << 20
    let vault: Vault
    let pool: BlockingPool

    func register(on group: RouterGroup<StrongroomContext>) {
        group.put("children/:child/dob", use: setDateOfBirth)
        group.get("retention/due", use: retentionDue)
        group.post("holds", use: placeHold)
        group.get("holds", use: listHolds)
        group.delete("holds/:id", use: requestHoldRelease)
        group.post("holds/:id/release/approve", use: approveHoldRelease)
        group.post("shred-requests", use: requestShred)
        group.post("shred-requests/:id/approve", use: approveShred)
        group.get("shred-requests/:id/certificate", use: certificate)
    }

    // MARK: retention

    struct DOBBody: Decodable { var dob: String }

    @Sendable func setDateOfBirth(_ request: Request, context: StrongroomContext) async throws -> Response {
        let caller = try context.requireCaller()
        let child = context.parameters.get("child") ?? ""
        let school = try requiredQuery("school", request)
        let body = try await Self.decode(DOBBody.self, request)
        let vault = self.vault
        let count = try await pool.run { try vault.lifecycle.setDateOfBirth(child: child, dob: body.dob, school: school, by: caller) }
        return try jsonResponse(DOBJSON(child: child, dob: body.dob, records: count))
    }

    @Sendable func retentionDue(_ request: Request, context: StrongroomContext) async throws -> Response {
        let caller = try context.requireCaller()
        let school = try requiredQuery("school", request)
        let asOf = request.uri.queryParameters.get("asOf")
        let vault = self.vault
        let due = try await pool.run { try vault.lifecycle.retentionDue(asOf: asOf, school: school, by: caller) }
        return try jsonResponse(DueJSON(
            asOf: asOf ?? CivilDate(Date()).text, school: school,
            records: due.flatMap(\.records).map(DueJSON.Item.init)))
    }

    // MARK: holds

    struct HoldBody: Decodable {
        var school: String
        var record: String?
        var child: String?
        var concern: String?
        var reason: String
    }

    struct ReasonBody: Decodable { var reason: String }

    @Sendable func placeHold(_ request: Request, context: StrongroomContext) async throws -> Response {
        let caller = try context.requireCaller()
        let body = try await Self.decode(HoldBody.self, request)
        let targets: [(Hold.Scope, String)] = [(.record, body.record), (.child, body.child), (.concern, body.concern)]
            .compactMap { scope, value in value.map { (scope, $0) } }
        guard targets.count == 1, let (scope, target) = targets.first else {
            throw Problem(status: .badRequest, slug: "invalid-argument", title: "Invalid request",
                          detail: "name exactly one of record, child and concern")
        }
        let vault = self.vault
        let hold = try await pool.run { try vault.lifecycle.placeHold(school: body.school, scope: scope, target: target, reason: body.reason, by: caller) }
        return try jsonResponse(HoldJSON(hold), status: .created, extra: [.location: "/v1/holds/\(hold.id)"])
    }

    @Sendable func listHolds(_ request: Request, context: StrongroomContext) async throws -> Response {
        let caller = try context.requireCaller()
        let school = request.uri.queryParameters.get("school")
        let vault = self.vault
        let holds = try await pool.run { try vault.lifecycle.holds(school: school, by: caller) }
        return try jsonResponse(["holds": holds.map(HoldJSON.init)])
    }

    /// Asks for the hold's release: 202, the hold still active with its pending request. A second
    /// person's approval (`approveHoldRelease`) is what releases it.
    @Sendable func requestHoldRelease(_ request: Request, context: StrongroomContext) async throws -> Response {
        let caller = try context.requireCaller()
        let id = context.parameters.get("id") ?? ""
        let body = try await Self.decode(ReasonBody.self, request)
        let vault = self.vault
        let hold = try await pool.run { try vault.lifecycle.requestHoldRelease(id: id, reason: body.reason, by: caller) }
        return try jsonResponse(HoldJSON(hold), status: .accepted)
    }

    @Sendable func approveHoldRelease(_ request: Request, context: StrongroomContext) async throws -> Response {
        let caller = try context.requireCaller()
        let id = context.parameters.get("id") ?? ""
        let vault = self.vault
        let hold = try await pool.run { try vault.lifecycle.approveHoldRelease(id: id, by: caller) }
        return try jsonResponse(HoldJSON(hold))
    }

    // MARK: shredding

    struct ShredBody: Decodable {
        var school: String
        var records: [String]
        var reason: String
    }

    @Sendable func requestShred(_ request: Request, context: StrongroomContext) async throws -> Response {
        let caller = try context.requireCaller()
        let body = try await Self.decode(ShredBody.self, request)
        let vault = self.vault
        let shred = try await pool.run { try vault.lifecycle.requestShred(school: body.school, records: body.records, reason: body.reason, by: caller) }
        return try jsonResponse(ShredRequestJSON(shred), status: .created, extra: [.location: "/v1/shred-requests/\(shred.id)"])
    }

    @Sendable func approveShred(_ request: Request, context: StrongroomContext) async throws -> Response {
        let caller = try context.requireCaller()
        let id = context.parameters.get("id") ?? ""
        let vault = self.vault
        let certificate = try await pool.run { try vault.lifecycle.approveShred(id: id, by: caller) }
        return try Self.certificateResponse(certificate)
    }

    @Sendable func certificate(_ request: Request, context: StrongroomContext) async throws -> Response {
        let caller = try context.requireCaller()
        let id = context.parameters.get("id") ?? ""
        let vault = self.vault
        let certificate = try await pool.run { try vault.lifecycle.shredCertificate(id: id, by: caller) }
        return try Self.certificateResponse(certificate)
    }

    /// The certificate exactly as signed, so the bytes saved verify with `strongroom certificate verify`.
    static func certificateResponse(_ certificate: CertificateOfDestruction) throws -> Response {
        Response(
            status: .ok,
            headers: [.contentType: "application/json", .cacheControl: "no-store",
                      .contentDisposition: "attachment; filename=\"certificate-\(certificate.request).json\""],
            body: .init(byteBuffer: ByteBuffer(bytes: try certificate.fileBytes())))
    }

    // MARK: helpers

    /// The JSON body as `T`; an empty body is `ifEmpty` when the route gives one (its defaults).
    static func decode<T: Decodable>(_ type: T.Type, _ request: Request, ifEmpty: T? = nil) async throws -> T {
        let buffer: ByteBuffer
        do { buffer = try await request.body.collect(upTo: maxJSONBytes) } catch {
            throw Problem(status: .contentTooLarge, slug: "too-large", title: "Body too large",
                          detail: "a JSON body may be at most \(maxJSONBytes >> 20) MiB", closeConnection: true)
        }
        if buffer.readableBytes == 0, let ifEmpty { return ifEmpty }
        do { return try JSONDecoder().decode(T.self, from: Data(buffer: buffer)) } catch {
            throw Problem(status: .badRequest, slug: "invalid-json", title: "Invalid JSON body",
                          detail: "the body is not the JSON document this route takes (see /openapi.yaml)")
        }
    }
}

struct DOBJSON: Encodable {
    var child, dob: String
    var records: Int
}

struct DueJSON: Encodable {
    struct Item: Encodable {
        var id, child, concern, kind, category, createdAt, reviewOn: String
        var held: Bool
        init(_ r: DueRecord) {
            id = r.id; child = r.child; concern = r.concern; kind = r.kind; category = r.category; reviewOn = r.reviewOn
            held = r.held
            createdAt = iso8601(Date(timeIntervalSince1970: Double(r.createdAtMillis) / 1000))
        }
    }
    var asOf: String
    var school: String
    var records: [Item]
}

struct HoldJSON: Encodable {
    /// Who asked for the release, when and why; `expiresAt` is when an unapproved request lapses.
    struct ReleaseRequest: Encodable {
        var requestedBy, requestedRole, requestedAt, reason, expiresAt: String
    }
    var id, school, scope, target, reason, placedBy, placedAt: String
    var active: Bool
    var releasedBy, releasedAt, releaseReason: String?
    var releaseRequest: ReleaseRequest?
    init(_ h: Hold) {
        func time(_ ms: Int64) -> String { iso8601(Date(timeIntervalSince1970: Double(ms) / 1000)) }
        id = h.id; school = h.school; scope = h.scope.rawValue; target = h.target; reason = h.reason; placedBy = h.placedBy
        placedAt = time(h.placedAtMillis)
        active = h.isActive
        releasedBy = h.releasedBy; releaseReason = h.releaseReason
        releasedAt = h.releasedAtMillis.map(time)
        if let by = h.releaseRequestedBy, let at = h.releaseRequestedAtMillis {
            releaseRequest = ReleaseRequest(
                requestedBy: by, requestedRole: h.releaseRequestedRole ?? "", requestedAt: time(at), reason: h.releaseRequestReason ?? "",
                expiresAt: time(at + Int64(HoldReleasePolicy.requestLifetimeDays) * 86_400_000))
        }
    }
}

struct ShredRequestJSON: Encodable {
    var id, school, state, requestedBy: String
    var records: [String]
    init(_ r: ShredRequest) {
        id = r.id; school = r.school; state = r.state.rawValue; requestedBy = r.requestedBy; records = r.records
    }
}
