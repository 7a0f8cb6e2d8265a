import Foundation
import Hummingbird
import Storage
import Vault

/// The console's bundle pages, for DSLs and deputies (those who may share):
///
/// - `/bundles[?school=S]`: bundles waiting for the viewer's approval, their own drafts (and
///   those sent back to them), and those released, with each link's state.
/// - `/bundles/queue[?school=S]`: only those waiting for the viewer's approval.
/// - `/bundles/new?school=S&child=C[&child=C2][&from=ID]`: the builder, for the records of those
///   children; `from` starts from a draft that was sent back.
/// - `/bundles/{id}[?approve=1&days=N&max=M]`: one bundle; a draft's items as stored beside
///   them as they will be sent. `approve=1` comes back from confirming it is them and releases.
///
/// GETs that change nothing; the pages' scripts call the JSON routes.
struct BundlePages {
    static let paths: Set<String> = ["GET /bundles", "GET /bundles/queue", "GET /bundles/new", "GET /bundles/{id}"]

    let console: ConsoleRoutes
    var vault: Vault { console.vault }
    var pool: BlockingPool { console.pool }
    var pages: ConsolePages { console.pages }

    func register(on group: RouterGroup<StrongroomContext>) {
        group.get("bundles", use: list)
        group.get("bundles/queue", use: queue)
        group.get("bundles/new", use: builder)
        group.get("bundles/:id", use: bundle)
    }

    static let notAllowed = Problem(status: .forbidden, slug: "forbidden", title: "You cannot see this page",
                                    detail: "only designated safeguarding leads and their deputies share records with agencies")


    /// The signed-in person, if they may share; nil sends them to sign in.
    private func sharer(_ request: Request) async throws -> (Caller, Principal)? {
        guard let (caller, principal, _) = try await console.person(request) else { return nil }
        guard AccessPolicy.grant(principal.role, .share) != .denied else { throw Self.notAllowed }
        return (caller, principal)
    }

    /// The school asked for, if it is one of theirs; else their first.
    private func school(_ request: Request, _ principal: Principal) throws -> String {
        if let asked = request.uri.queryParameters.get("school") {
            guard principal.schools.contains(asked) else { throw ReadingRoutes.notFound }
            return asked
        }
        guard let first = principal.schools.sorted().first else { throw ReadingRoutes.notFound }
        return first
    }

    @Sendable func list(_ request: Request, context: StrongroomContext) async throws -> Response {
        try await listing(request, queueOnly: false)
    }

    @Sendable func queue(_ request: Request, context: StrongroomContext) async throws -> Response {
        try await listing(request, queueOnly: true)
    }

    private func listing(_ request: Request, queueOnly: Bool) async throws -> Response {
        guard let (caller, principal) = try await sharer(request) else { return console.signInFirst(request) }
        let school = try school(request, principal)
        let vault = self.vault
        let rows = try await pool.run { try vault.bundles.list(school: school, by: caller) }
        return try pages.render("bundles", BundlesPage(principal, school: school, rows: rows, queueOnly: queueOnly, now: Date()))
    }

    @Sendable func builder(_ request: Request, context: StrongroomContext) async throws -> Response {
        guard let (caller, principal) = try await sharer(request) else { return console.signInFirst(request) }
        let school = try school(request, principal)
        let children = request.uri.queryParameters.getAll("child")
        guard !children.isEmpty else {
            // The builder starts from a child's chronology: find the child first.
            return ConsolePages.redirect(to: "/children")
        }
        guard children.count <= 20, children.allSatisfy(OpaqueID.isValid) else { throw ReadingRoutes.notFound }
        let from = request.uri.queryParameters.get("from")
        if let from, !RecordID.isValid(from) { throw ReadingRoutes.notFound }
        let vault = self.vault
        let model = try await pool.run { () throws -> BundleBuilderPage in
            var records: [EvidenceRecord] = []
            var labels: [String] = []
            for child in children {
                do {
                    records += try vault.records.chronologyAndShares(child: child, school: school, limit: Vault.maxBundleItems + 1, offset: 0,
                                                                     by: caller).records
                } catch VaultError.forbidden {
                    throw ReadingRoutes.notFound
                }
                labels.append(try vault.records.childLabel(child: child, school: school, by: caller) ?? "child \(child)")
            }
            // Redacted copies go out as their original's redaction: the original is listed, the copy not.
            let copies = Set(records.compactMap(\.derivedFrom))
            let originals = records.filter { $0.derivedFrom == nil }
            let recipients = try vault.bundles.recipients(school: school, by: caller)
            let heading = "Share records of " + labels.joined(separator: ", ")
            let listed = Array(originals.prefix(Vault.maxBundleItems))
            var titles: [String: String] = [:]
            for concern in Set(listed.map(\.concern)) {
                titles[concern] = try vault.records.concernTitle(concern: concern, school: school, by: caller)
            }
            return BundleBuilderPage(principal, school: school, children: children, heading: heading,
                                     records: listed, copies: copies, recipients: recipients, from: from, titles: titles)
        }
        return try pages.render("bundle-new", model)
    }

    @Sendable func bundle(_ request: Request, context: StrongroomContext) async throws -> Response {
        guard let (caller, principal) = try await sharer(request) else { return console.signInFirst(request) }
        let id = context.parameters.get("id") ?? ""
        guard RecordID.isValid(id) else { throw ReadingRoutes.notFound }
        let startApproval = request.uri.queryParameters.get("approve") == "1"
        let vault = self.vault
        let model = try await pool.run { () throws -> BundlePage in
            let (row, items, review): (BundleRow, [BundleItemRow], BundleReview?)
            do { (row, items, review) = try vault.bundles.bundle(id: id, by: caller) } catch VaultError.notFound { throw ReadingRoutes.notFound }
            var kinds: [String: String] = [:]
            for item in items {
                kinds[item.record] = (try? vault.records.show(id: item.record, by: caller))?.kind
            }
            return BundlePage(principal, row: row, items: items, review: review, kinds: kinds, now: Date(), startApproval: startApproval)
        }
        return try pages.render("bundle", model)
    }
}
