import Foundation
import Hummingbird
import Storage
import Vault

/// The console's transfer pages, for DSLs and deputies (docs/transfers.md): sending a child's
/// file to their new school, receiving one, and the directory of schools.
///
/// - `/transfers[?school=S]`: the school's transfers sent and received.
/// - `/transfers/new?school=S&child=C`: choose the receiving school and a reason, then check what
///   will travel before the draft is made.
/// - `/transfers/{id}[?approve=1]`: one transfer; someone else's draft can be approved and sent
///   (`approve=1` comes back from confirming it is them: the person presses the button again).
/// - `/transfers/receive[?school=S]`: receive a package from a file or a link.
/// - `/schools[?school=S]`: the directory, this school's own card, adding a school, and the rule
///   for the school's copies after a receipt.
///
/// GETs that change nothing; the pages' scripts call the JSON routes. The download link of a
/// sent transfer is never on a page: the approver's script shows it once, from the approval's answer.
struct TransferPages {
    static let paths: Set<String> = ["GET /transfers", "GET /transfers/new", "GET /transfers/receive", "GET /transfers/{id}", "GET /schools"]

    let console: ConsoleRoutes
    var vault: Vault { console.vault }
    var pool: BlockingPool { console.pool }
    var pages: ConsolePages { console.pages }

    func register(on group: RouterGroup<StrongroomContext>) {
        group.get("transfers", use: list)
        group.get("transfers/new", use: draft)
        group.get("transfers/receive", use: receive)
        group.get("transfers/:id", use: transfer)
        group.get("schools", use: schools)
    }

    static let notAllowed = Problem(status: .forbidden, slug: "forbidden", title: "You cannot see this page",
                                    detail: "only designated safeguarding leads and their deputies send and receive children's files")


    /// The signed-in person, if they may transfer; nil sends them to sign in.
    private func transferrer(_ request: Request) async throws -> (Caller, Principal)? {
        guard let (caller, principal, _) = try await console.person(request) else { return nil }
        guard ConsoleNavigation.sendsTransfers(principal.role) else { throw Self.notAllowed }
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
        guard let (caller, principal) = try await transferrer(request) else { return console.signInFirst(request) }
        let school = try school(request, principal)
        let vault = self.vault
        let model = try await pool.run { () throws -> TransfersPage in
            let (sent, received) = try vault.transfers.list(school: school, by: caller)
            var labels: [String: String] = [:]
            for child in Set(sent.map(\.transfer.child) + received.map(\.child)) {
                labels[child] = try vault.records.childLabel(child: child, school: school, by: caller)
            }
            return TransfersPage(principal, school: school, sent: sent, received: received, labels: labels)
        }
        return try pages.render("transfers", model)
    }

    @Sendable func draft(_ request: Request, context: StrongroomContext) async throws -> Response {
        guard let (caller, principal) = try await transferrer(request) else { return console.signInFirst(request) }
        let school = try school(request, principal)
        guard let child = request.uri.queryParameters.get("child") else {
            // A transfer starts from the child's chronology: find the child first.
            return ConsolePages.redirect(to: "/children")
        }
        guard OpaqueID.isValid(child) else { throw ReadingRoutes.notFound }
        let vault = self.vault
        let model = try await pool.run { () throws -> TransferNewPage in
            let records: [EvidenceRecord]
            do { records = try Self.childRecords(vault, child: child, school: school, by: caller) } catch VaultError.forbidden {
                throw ReadingRoutes.notFound
            }
            let label = try vault.records.childLabel(child: child, school: school, by: caller)
            let holds = try vault.lifecycle.holds(school: school, by: caller)
            let directory = try vault.transfers.directory(owner: school, by: caller)
            return TransferNewPage(principal, school: school, child: child, label: label, records: records, holds: holds, directory: directory)
        }
        return try pages.render("transfer-new", model)
    }

    /// Every record of the child in the school (what a transfer carries), their details only:
    /// a thousand at a time, up to one more than a transfer may carry.
    static func childRecords(_ vault: Vault, child: String, school: String, by caller: Caller) throws -> [EvidenceRecord] {
        var records: [EvidenceRecord] = []
        while records.count <= Vault.maxTransferRecords {
            let batch = try vault.records.chronologyAndShares(child: child, school: school, limit: 1000, offset: records.count, by: caller).records
            records += batch
            if batch.count < 1000 { break }
        }
        return records
    }

    @Sendable func transfer(_ request: Request, context: StrongroomContext) async throws -> Response {
        guard let (caller, principal) = try await transferrer(request) else { return console.signInFirst(request) }
        let id = context.parameters.get("id") ?? ""
        guard RecordID.isValid(id) else { throw ReadingRoutes.notFound }
        let startApproval = request.uri.queryParameters.get("approve") == "1"
        let vault = self.vault
        let model = try await pool.run { () throws -> TransferPage in
            let status: TransferStatus
            do { status = try vault.transfers.status(id: id, by: caller) } catch VaultError.notFound, VaultError.forbidden {
                throw ReadingRoutes.notFound
            }
            let row = status.transfer
            let label = try vault.records.childLabel(child: row.child, school: row.school, by: caller)
            let pinned = try vault.transfers.directory(owner: row.school, by: caller).first { $0.school == row.toSchool }
            // A draft carries whatever the child's file holds when it is approved: the approver sees how much that is now.
            let waiting = status.state == .draft ? try Self.childRecords(vault, child: row.child, school: row.school, by: caller).count : nil
            return TransferPage(principal, status: status, label: label, pinned: pinned, recordsNow: waiting, startApproval: startApproval, now: Date())
        }
        return try pages.render("transfer", model)
    }

    @Sendable func receive(_ request: Request, context: StrongroomContext) async throws -> Response {
        guard let (_, principal) = try await transferrer(request) else { return console.signInFirst(request) }
        let school = try school(request, principal)
        return try pages.render("transfer-receive", TransferReceivePage(principal, school: school))
    }

    @Sendable func schools(_ request: Request, context: StrongroomContext) async throws -> Response {
        guard let (caller, principal) = try await transferrer(request) else { return console.signInFirst(request) }
        let school = try school(request, principal)
        let vault = self.vault
        let model = try await pool.run { () throws -> SchoolsPage in
            let directory = try vault.transfers.directory(owner: school, by: caller)
            // A school the operator has not named yet has no card: the page says how to make one.
            let card = try? vault.transfers.card(school: school)
            let rule = try vault.transfers.afterReceiptRule(school: school, by: caller)
            return SchoolsPage(principal, school: school, directory: directory, card: card, rule: rule)
        }
        return try pages.render("schools", model)
    }
}
