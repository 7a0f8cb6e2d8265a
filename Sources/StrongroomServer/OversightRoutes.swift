import Foundation
import Hummingbird
import Vault

/// GET /v1/oversight: counts by school and month (docs/oversight.md). The vault has already
/// replaced every count from 1 to 4 by "fewer than 5"; this route has no way to the number.
struct OversightRoutes {
    let vault: Vault
    let pool: BlockingPool

    func register(on group: RouterGroup<StrongroomContext>) {
        group.get("oversight", use: counts)
    }

    @Sendable func counts(_ request: Request, context: StrongroomContext) async throws -> Response {
        let caller = try context.requireCaller()
        let query = request.uri.queryParameters
        let from: String? = query.get("from").map { String($0) }, to: String? = query.get("to").map { String($0) }
        let school: String? = query.get("school").map { String($0) }
        let vault = self.vault
        let report = try await pool.run { try vault.oversight.counts(from: from, to: to, school: school, by: caller) }
        return try jsonResponse(OversightJSON(report))
    }
}

/// A count in the JSON: the number, or the string "fewer than 5".
struct OversightCountJSON: Encodable {
    static let fewerThanFive = "fewer than 5"
    let count: OversightCount

    func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch count {
        case .exact(let n): try container.encode(n)
        case .fewerThanFive: try container.encode(Self.fewerThanFive)
        }
    }
}

struct OversightJSON: Encodable {
    struct Month: Encodable {
        var month: String
        var added: [String: OversightCountJSON]
        var previews, downloads, bundlesReleased, holdsPlaced, holdsReleased, recordsShredded, reviewsDue, reviewsOverdue: OversightCountJSON
        var transfersSent, transfersReceived: OversightCountJSON
        init(_ m: OversightMonth) {
            month = m.month
            added = m.added.mapValues(OversightCountJSON.init)
            previews = .init(count: m.previews); downloads = .init(count: m.downloads)
            bundlesReleased = .init(count: m.bundlesReleased)
            holdsPlaced = .init(count: m.holdsPlaced); holdsReleased = .init(count: m.holdsReleased)
            recordsShredded = .init(count: m.recordsShredded)
            reviewsDue = .init(count: m.reviewsDue); reviewsOverdue = .init(count: m.reviewsOverdue)
            transfersSent = .init(count: m.transfersSent); transfersReceived = .init(count: m.transfersReceived)
        }
    }
    struct School: Encodable {
        var school: String
        var months: [Month]
    }
    var from, to: String
    var kinds: [String]
    var schools: [School]

    init(_ r: OversightReport) {
        from = r.from; to = r.to; kinds = r.kinds
        schools = r.schools.map { School(school: $0.school, months: $0.months.map(Month.init)) }
    }
}
