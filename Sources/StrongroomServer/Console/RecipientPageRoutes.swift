import Foundation
import Hummingbird
import Storage
import Vault

/// The console's recipients pages and the "Waiting for you" page. GETs that change nothing:
/// the recipients page's script calls `POST /v1/recipients` and `DELETE /v1/recipients`.
///
/// - `/recipients[?school=S]`: the school's directory of agencies, and a form to add one.
/// - `/recipients/remove?school=S&name=N`: check, then remove one.
/// - `/waiting`: how many things wait for the person, each linked to where it is dealt with.
struct RecipientPageRoutes {
    static let paths: Set<String> = ["GET /recipients", "GET /recipients/remove", "GET /waiting"]

    let console: ConsoleRoutes
    var vault: Vault { console.vault }
    var pool: BlockingPool { console.pool }
    var pages: ConsolePages { console.pages }

    func register(on group: RouterGroup<StrongroomContext>) {
        group.get("recipients", use: recipients)
        group.get("recipients/remove", use: removeRecipient)
        group.get("waiting", use: waiting)
    }

    static let sharersOnly = Problem(status: .forbidden, slug: "forbidden", title: "You cannot see this page",
                                     detail: "the school's recipients are kept by its designated safeguarding leads and deputies")


    /// The school asked for when it is the person's, their only school when none is asked for,
    /// else nil (they choose); a school that is not theirs is no such page.
    private func school(_ request: Request, _ principal: Principal) throws -> String? {
        guard let asked = request.uri.queryParameters.get("school") else {
            return principal.schools.count == 1 ? principal.schools.first : nil
        }
        guard principal.schools.contains(String(asked)) else { throw ReadingRoutes.notFound }
        return String(asked)
    }

    @Sendable func recipients(_ request: Request, context: StrongroomContext) async throws -> Response {
        guard let (caller, principal, _) = try await console.person(request) else { return console.signInFirst(request) }
        guard AccessPolicy.grant(principal.role, .share) != .denied else { throw Self.sharersOnly }
        let school = try school(request, principal)
        let vault = self.vault
        let list = try await pool.run { try school.map { try vault.bundles.recipients(school: $0, by: caller) } ?? [] }
        let notice: String? = switch request.uri.queryParameters.get("done") {
        case "added": "Recipient added."
        case "removed": "Recipient removed. Bundles already shared with them are not changed."
        default: nil
        }
        return try pages.render("recipients", RecipientsPage(principal, school: school, recipients: list, notice: notice))
    }

    @Sendable func removeRecipient(_ request: Request, context: StrongroomContext) async throws -> Response {
        guard let (caller, principal, _) = try await console.person(request) else { return console.signInFirst(request) }
        guard AccessPolicy.grant(principal.role, .share) != .denied else { throw Self.sharersOnly }
        guard let school = try school(request, principal), let name = request.uri.queryParameters.get("name") else {
            throw ReadingRoutes.notFound
        }
        let vault = self.vault
        let list = try await pool.run { try vault.bundles.recipients(school: school, by: caller) }
        guard let found = list.first(where: { $0.name == String(name) }) else { throw ReadingRoutes.notFound }
        return try pages.render("recipient-remove", RemoveRecipientPage(principal, recipient: found))
    }

    @Sendable func waiting(_ request: Request, context: StrongroomContext) async throws -> Response {
        guard let (caller, principal, _) = try await console.person(request) else { return console.signInFirst(request) }
        let vault = self.vault
        let counts = try await pool.run { try vault.people.waiting(by: caller) }
        return try pages.render("waiting", WaitingPage(principal, counts: counts))
    }
}
