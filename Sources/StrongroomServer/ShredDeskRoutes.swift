import Foundation
import Hummingbird
import Storage
import Vault

/// The retention desk's JSON routes (docs/openapi.yaml): a school's shred requests, withdrawing
/// one's own, and the review dates a date of birth would set. The vault checks and audits.
struct ShredDeskRoutes {
    let vault: Vault
    let pool: BlockingPool

    func register(on group: RouterGroup<StrongroomContext>) {
        group.get("shred-requests", use: listShredRequests)
        group.post("shred-requests/:id/withdraw", use: withdrawShred)
        group.get("children/:child/dob/preview", use: previewDateOfBirth)
    }

    @Sendable func listShredRequests(_ request: Request, context: StrongroomContext) async throws -> Response {
        let caller = try context.requireCaller()
        let school: String? = request.uri.queryParameters.get("school").map { String($0) }
        let vault = self.vault
        let entries = try await pool.run { try vault.lifecycle.shredRequests(school: school, by: caller) }
        let json: [String: [ShredRequestEntryJSON]] = ["shredRequests": entries.map { ShredRequestEntryJSON($0, for: caller.principal) }]
        return try jsonResponse(json)
    }

    @Sendable func withdrawShred(_ request: Request, context: StrongroomContext) async throws -> Response {
        let caller = try context.requireCaller()
        let id = context.parameters.get("id") ?? ""
        let vault = self.vault
        let withdrawn = try await pool.run { try vault.lifecycle.withdrawShred(id: id, by: caller) }
        return try jsonResponse(ShredRequestJSON(withdrawn))
    }

    @Sendable func previewDateOfBirth(_ request: Request, context: StrongroomContext) async throws -> Response {
        let caller = try context.requireCaller()
        let child = context.parameters.get("child") ?? ""
        let school = try requiredQuery("school", request)
        let dob = try requiredQuery("dob", request)
        let vault = self.vault
        let changes = try await pool.run { try vault.lifecycle.previewDateOfBirth(child: child, dob: dob, school: school, by: caller) }
        return try jsonResponse(DOBPreviewJSON(child: child, school: school, dob: dob, records: changes.map(DOBPreviewJSON.Item.init)))
    }
}

struct ShredRequestEntryJSON: Encodable {
    struct Item: Encodable {
        var id, child, kind, reviewOn: String
        var held: Bool
    }
    var id, school, state, reason, requestedBy, requestedRole, requestedAt, expiresAt: String
    var approvedBy, approvedAt, withdrawnBy, withdrawnAt: String?
    var records: [String]
    /// The pending request's records as they are now (absent once it is no longer pending).
    var items: [Item]
    /// Whether the caller is the second person this request waits for, and whether they made it.
    var waitsForYou, yours: Bool

    init(_ e: ShredRequestEntry, for principal: Principal?) {
        let r = e.request
        id = r.id; school = r.school; state = r.state.rawValue; reason = r.reason
        requestedBy = r.requestedBy; requestedRole = r.requestedRole
        requestedAt = iso8601(millis: r.requestedAtMillis); expiresAt = iso8601(millis: e.expiresAtMillis)
        approvedBy = r.approvedBy; approvedAt = r.approvedAtMillis.map { iso8601(millis: $0) }
        withdrawnBy = r.withdrawnBy; withdrawnAt = r.withdrawnAtMillis.map { iso8601(millis: $0) }
        records = r.records
        items = e.items.map { Item(id: $0.id, child: $0.child, kind: $0.kind, reviewOn: $0.reviewOn, held: $0.held) }
        waitsForYou = principal.map { e.waits(for: $0) } ?? false
        yours = principal.map(e.isOwn) ?? false
    }
}

struct DOBPreviewJSON: Encodable {
    struct Item: Encodable {
        var id, kind, category, createdAt, reviewOn, newReviewOn: String
        init(_ c: ReviewDateChange) {
            id = c.record; kind = c.kind; category = c.category; createdAt = iso8601(millis: c.createdAtMillis)
            reviewOn = c.reviewOn; newReviewOn = c.newReviewOn
        }
    }
    var child, school, dob: String
    var records: [Item]
}
