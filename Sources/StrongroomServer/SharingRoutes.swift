import Foundation
import Hummingbird
import Storage
import Vault

/// The directory of agencies a school shares evidence with (docs/openapi.yaml).
struct SharingRoutes {
    let vault: Vault
    let pool: BlockingPool

    func register(on group: RouterGroup<StrongroomContext>) {
        group.post("recipients", use: addRecipient)
        group.get("recipients", use: listRecipients)
        group.delete("recipients", use: removeRecipient)
    }

    struct RecipientBody: Decodable {
        var school: String
        var name: String
        var contact: String?
        var ageRecipient: String?
        var passphrase: Bool?
    }

    @Sendable func addRecipient(_ request: Request, context: StrongroomContext) async throws -> Response {
        let caller = try context.requireCaller()
        let body = try await LifecycleRoutes.decode(RecipientBody.self, request)
        let vault = self.vault
        let new = Vault.NewRecipient(
            school: body.school, name: body.name, contact: body.contact ?? "", ageRecipient: body.ageRecipient, passphrase: body.passphrase ?? false)
        let recipient = try await pool.run { try vault.bundles.addRecipient(new, by: caller) }
        return try jsonResponse(RecipientJSON(recipient), status: .created)
    }

    @Sendable func listRecipients(_ request: Request, context: StrongroomContext) async throws -> Response {
        let caller = try context.requireCaller()
        let school = try requiredQuery("school", request)
        let vault = self.vault
        let list = try await pool.run { try vault.bundles.recipients(school: school, by: caller) }
        return try jsonResponse(list.map(RecipientJSON.init))
    }
}

extension SharingRoutes {
    /// The name goes in the query: it is the agency's own words (spaces, apostrophes), and the
    /// request log names the route template, never the query.
    @Sendable func removeRecipient(_ request: Request, context: StrongroomContext) async throws -> Response {
        let caller = try context.requireCaller()
        let school = try requiredQuery("school", request), name = try requiredQuery("name", request)
        let vault = self.vault
        try await pool.run { try vault.bundles.removeRecipient(school: school, name: name, by: caller) }
        return Response(status: .noContent)
    }
}

struct RecipientJSON: Encodable {
    var school, name, contact, createdBy, createdAt: String
    var ageRecipient: String?
    var passphrase: Bool
    init(_ r: Recipient) {
        school = r.school; name = r.name; contact = r.contact; createdBy = r.createdBy; ageRecipient = r.ageRecipient
        passphrase = r.usesPassphrase
        createdAt = iso8601(Date(timeIntervalSince1970: Double(r.createdAtMillis) / 1000))
    }
}
