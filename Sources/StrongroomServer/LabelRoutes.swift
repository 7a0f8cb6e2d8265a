import Foundation
import Hummingbird
import Vault

/// Display names for the opaque ids: a child's label and a concern's title, set by a DSL or
/// deputy (or the school's record system) and read by those who see the school's records
/// (docs/openapi.yaml). The text is personal data: it never appears in a problem document.
struct LabelRoutes {
    let vault: Vault
    let pool: BlockingPool

    func register(on group: RouterGroup<StrongroomContext>) {
        group.put("children/:child/label", use: setChildLabel)
        group.get("children/:child/label", use: childLabel)
        group.put("concerns/:concern/title", use: setConcernTitle)
        group.get("concerns/:concern/title", use: concernTitle)
    }

    struct LabelBody: Codable { var label: String }
    struct TitleBody: Codable { var title: String }

    /// The label (or title) asked for does not exist, or is not the caller's to see.
    static let noLabel = Problem(status: .notFound, slug: "not-found", title: "Not found",
                                 detail: "there is no label with this id that you may see")

    @Sendable func setChildLabel(_ request: Request, context: StrongroomContext) async throws -> Response {
        let caller = try context.requireCaller()
        let (child, school) = (context.parameters.get("child") ?? "", try requiredQuery("school", request))
        let body = try await LifecycleRoutes.decode(LabelBody.self, request)
        let vault = self.vault
        try await pool.run { try vault.records.setChildLabel(child: child, school: school, label: body.label, by: caller) }
        return Response(status: .noContent)
    }

    @Sendable func childLabel(_ request: Request, context: StrongroomContext) async throws -> Response {
        let caller = try context.requireCaller()
        let (child, school) = (context.parameters.get("child") ?? "", try requiredQuery("school", request))
        let vault = self.vault
        guard let label = try await pool.run({ try vault.records.childLabel(child: child, school: school, by: caller) }) else {
            throw Self.noLabel
        }
        return try jsonResponse(LabelBody(label: label), extra: [.cacheControl: "no-store"])
    }

    @Sendable func setConcernTitle(_ request: Request, context: StrongroomContext) async throws -> Response {
        let caller = try context.requireCaller()
        let (concern, school) = (context.parameters.get("concern") ?? "", try requiredQuery("school", request))
        let body = try await LifecycleRoutes.decode(TitleBody.self, request)
        let vault = self.vault
        try await pool.run { try vault.records.setConcernTitle(concern: concern, school: school, title: body.title, by: caller) }
        return Response(status: .noContent)
    }

    @Sendable func concernTitle(_ request: Request, context: StrongroomContext) async throws -> Response {
        let caller = try context.requireCaller()
        let (concern, school) = (context.parameters.get("concern") ?? "", try requiredQuery("school", request))
        let vault = self.vault
        guard let title = try await pool.run({ try vault.records.concernTitle(concern: concern, school: school, by: caller) }) else {
            throw Self.noLabel
        }
        return try jsonResponse(TitleBody(title: title), extra: [.cacheControl: "no-store"])
    }
}
