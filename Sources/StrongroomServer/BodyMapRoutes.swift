import Foundation
import Hummingbird
import Vault

/// Body maps over HTTP (docs/openapi.yaml): the outline the editor draws, saving marks as a
/// body-map record the vault draws itself, and reading a body map's marks back as a list.
struct BodyMapRoutes {
    let vault: Vault
    let pool: BlockingPool

    func register(on group: RouterGroup<StrongroomContext>) {
        group.get("body-maps/outline", use: outline)
        group.post("body-maps", use: save)
        group.get("attachments/:id/marks", use: marks)
    }

    struct MarksBody: Codable { var marks: [BodyMark] }

    struct OutlineJSON: Encodable {
        var aspect: Double
        var front: [OutlinePath]
        var back: [OutlinePath]
    }

    struct OutlinePath: Encodable {
        var points: [[Double]]
        var closed: Bool
    }

    @Sendable func outline(_ request: Request, context: StrongroomContext) async throws -> Response {
        _ = try context.requireCaller()
        let paths = { (side: BodyMark.Side) in BodyOutline.paths(side).map { OutlinePath(points: $0.points, closed: $0.closed) } }
        return try jsonResponse(OutlineJSON(aspect: BodyOutline.aspect, front: paths(.front), back: paths(.back)))
    }

    @Sendable func save(_ request: Request, context: StrongroomContext) async throws -> Response {
        let caller = try context.requireCaller()
        let (school, child, concern) = (try requiredQuery("school", request), try requiredQuery("child", request), try requiredQuery("concern", request))
        let body = try await LifecycleRoutes.decode(MarksBody.self, request)
        let vault = self.vault
        let record = try await pool.run {
            try vault.records.saveBodyMap(school: school, child: child, concern: concern, marks: body.marks, by: caller)
        }
        return try jsonResponse(RecordJSON(record), status: .created, extra: [.location: "/v1/attachments/\(record.id)"])
    }

    @Sendable func marks(_ request: Request, context: StrongroomContext) async throws -> Response {
        let caller = try context.requireCaller()
        let id = context.parameters.get("id") ?? ""
        let vault = self.vault
        let marks = try await pool.run { try vault.records.bodyMapMarks(id: id, by: caller) }
        return try jsonResponse(MarksBody(marks: marks))
    }
}
