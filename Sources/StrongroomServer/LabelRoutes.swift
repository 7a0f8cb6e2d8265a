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
        group.put("children/:child/label") { try await set(.childLabel, $0, $1) }
        group.get("children/:child/label") { try await get(.childLabel, $0, $1) }
        group.put("concerns/:concern/title") { try await set(.concernTitle, $0, $1) }
        group.get("concerns/:concern/title") { try await get(.concernTitle, $0, $1) }
    }

    /// Which name a route is about: the path parameter that holds the id, the JSON field, and
    /// the vault operations.
    enum Kind {
        case childLabel, concernTitle

        var parameter: String { self == .childLabel ? "child" : "concern" }
        var field: String { self == .childLabel ? "label" : "title" }
    }

    /// The label (or title) asked for does not exist, or is not the caller's to see.
    static let noLabel = Problem(status: .notFound, slug: "not-found", title: "Not found",
                                 detail: "there is no label with this id that you may see")

    func set(_ kind: Kind, _ request: Request, _ context: StrongroomContext) async throws -> Response {
        let caller = try context.requireCaller()
        let (subject, school) = (context.parameters.get(kind.parameter) ?? "", try requiredQuery("school", request))
        let body = try await LifecycleRoutes.decode([String: String].self, request)
        guard body.count == 1, let text = body[kind.field] else {
            throw Problem(status: .badRequest, slug: "invalid-json", title: "Invalid JSON body",
                          detail: "the body is not the JSON document this route takes: {\"\(kind.field)\": \"...\"}")
        }
        let vault = self.vault
        try await pool.run {
            switch kind {
            case .childLabel: try vault.records.setChildLabel(child: subject, school: school, label: text, by: caller)
            case .concernTitle: try vault.records.setConcernTitle(concern: subject, school: school, title: text, by: caller)
            }
        }
        return Response(status: .noContent)
    }

    func get(_ kind: Kind, _ request: Request, _ context: StrongroomContext) async throws -> Response {
        let caller = try context.requireCaller()
        let (subject, school) = (context.parameters.get(kind.parameter) ?? "", try requiredQuery("school", request))
        let vault = self.vault
        let text = try await pool.run { () -> String? in
            switch kind {
            case .childLabel: try vault.records.childLabel(child: subject, school: school, by: caller)
            case .concernTitle: try vault.records.concernTitle(concern: subject, school: school, by: caller)
            }
        }
        guard let text else { throw Self.noLabel }
        return try jsonResponse([kind.field: text], extra: [.cacheControl: "no-store"])
    }
}
