import Foundation
import Hummingbird
import NIOCore
import Vault

/// `GET /v1/children/{child}/chronology.pdf?school=S`: a child's chronology to print for a
/// meeting, made by the server (docs/openapi.yaml). Never cached; saved as a file, not shown
/// inline.
struct PrintRoute {
    let vault: Vault
    let pool: BlockingPool

    func register(on group: RouterGroup<StrongroomContext>) {
        group.get("children/:child/chronology.pdf", use: printout)
    }

    @Sendable func printout(_ request: Request, context: StrongroomContext) async throws -> Response {
        let caller = try context.requireCaller()
        let (child, school) = (context.parameters.get("child") ?? "", try requiredQuery("school", request))
        let vault = self.vault
        let pdf = try await pool.run { try vault.records.printChronology(child: child, school: school, by: caller) }
        let headers: HTTPFields = [
            .contentType: "application/pdf", .cacheControl: "no-store",
            .contentDisposition: "attachment; filename=\"chronology-\(child).pdf\"",
            .init("X-Content-Type-Options")!: "nosniff",
        ]
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: pdf)))
    }
}
