import Foundation
import Hummingbird
import KeyManagement
import Storage
import Vault

/// The retention desk: what is due for review, shred requests, certificates of destruction,
/// legal holds and a child's date of birth. Pages are GETs that change nothing; their scripts
/// call the JSON routes (LifecycleRoutes, ShredDeskRoutes) with the CSRF token, and the acts
/// that cannot be undone go through a "check your answers" step and a fresh second factor.
///
/// - `/retention[?school=S&asOf=YYYY-MM-DD]`: records due, to select and ask to be shredded.
/// - `/retention/requests`: requests waiting for the viewer, the viewer's own, and the rest.
/// - `/retention/requests/{id}[?approve=1]`: one request, to check and approve.
/// - `/retention/certificates[/{id}]`: certificates of destruction, checked by the server.
/// - `/retention/holds`: active legal holds; place one, ask for or approve a release.
/// - `/children/{child}/date-of-birth?school=S`: set a date of birth after seeing its effect.
///
/// For DSLs, deputies and DPOs of their own schools; anyone else is told they cannot see it.
struct RetentionRoutes {
    static let paths: Set<String> = [
        "GET /retention", "GET /retention/requests", "GET /retention/requests/{id}", "GET /retention/certificates",
        "GET /retention/certificates/{id}", "GET /retention/holds", "GET /children/{child}/date-of-birth",
    ]

    let console: ConsoleRoutes
    var vault: Vault { console.vault }
    var pool: BlockingPool { console.pool }
    var pages: ConsolePages { console.pages }

    func register(on group: RouterGroup<StrongroomContext>) {
        group.get("retention", use: due)
        group.get("retention/requests", use: requests)
        group.get("retention/requests/:id", use: request)
        group.get("retention/certificates", use: certificates)
        group.get("retention/certificates/:id", use: certificate)
        group.get("retention/holds", use: holds)
        group.get("children/:child/date-of-birth", use: dateOfBirth)
    }

    static let notAllowed = Problem(status: .forbidden, slug: "forbidden", title: "You cannot see this page",
                                    detail: "the retention pages are for designated safeguarding leads, their deputies and data protection officers")

    /// The signed-in person, if their role reviews retention; nil: send them to sign in.
    private func reviewer(_ request: Request) async throws -> (Caller, Principal)? {
        guard let (caller, principal, _) = try await console.person(request) else { return nil }
        guard AccessPolicy.grant(principal.role, .retention) != .denied else { throw Self.notAllowed }
        return (caller, principal)
    }


    /// The labels of these children in `school`, read once each (each read is audited).
    static func labels(_ children: some Sequence<String>, school: String, vault: Vault, by caller: Caller) throws -> [String: String] {
        var out: [String: String] = [:]
        for child in Set(children) { out[child] = try vault.records.childLabel(child: child, school: school, by: caller) }
        return out
    }

    // MARK: pages

    @Sendable func due(_ request: Request, context: StrongroomContext) async throws -> Response {
        guard let (caller, principal) = try await reviewer(request) else { return console.signInFirst(request) }
        let query = request.uri.queryParameters
        let schools = principal.schools.sorted()
        let school = query.get("school").map { String($0) } ?? schools.first ?? ""
        let asOf = query.get("asOf").map { String($0) }
        var errors: [FieldError] = []
        if !principal.schools.contains(school) { errors.append(FieldError(text: "Choose one of your schools", field: "school")) }
        if let asOf, CivilDate(asOf) == nil { errors.append(FieldError(text: "Enter a real date, for example 2031-08-31", field: "asOf")) }
        guard errors.isEmpty else {
            return try pages.render("retention-due", RetentionDuePage(principal, school: school, asOf: asOf ?? "", due: [], labels: [:], errors: errors),
                                    status: .badRequest)
        }
        let vault = self.vault
        let model = try await pool.run { () throws -> RetentionDuePage in
            let due = try vault.lifecycle.retentionDue(asOf: asOf, school: school, by: caller).flatMap(\.records)
            let shown = Array(due.prefix(RetentionDuePage.limit))
            let labels = try Self.labels(shown.map(\.child), school: school, vault: vault, by: caller)
            return RetentionDuePage(principal, school: school, asOf: asOf ?? CivilDate(Date()).text, due: due, labels: labels, errors: [])
        }
        return try pages.render("retention-due", model)
    }

    @Sendable func requests(_ request: Request, context: StrongroomContext) async throws -> Response {
        guard let (caller, principal) = try await reviewer(request) else { return console.signInFirst(request) }
        guard AccessPolicy.grant(principal.role, .shred) != .denied else { throw Self.notAllowed }
        let vault = self.vault
        let entries = try await pool.run { try vault.lifecycle.shredRequests(school: nil, by: caller) }
        return try pages.render("shred-requests", ShredRequestsPage(principal, entries: entries))
    }

    @Sendable func request(_ request: Request, context: StrongroomContext) async throws -> Response {
        guard let (caller, principal) = try await reviewer(request) else { return console.signInFirst(request) }
        let id = context.parameters.get("id") ?? ""
        let approve = request.uri.queryParameters.get("approve") == "1"
        let vault = self.vault
        let model = try await pool.run { () throws -> ShredRequestPage in
            let entries = try vault.lifecycle.shredRequests(school: nil, by: caller)
            guard let entry = entries.first(where: { $0.request.id == id }) else { throw ReadingRoutes.notFound }
            let labels = try Self.labels(entry.items.map(\.child), school: entry.request.school, vault: vault, by: caller)
            return ShredRequestPage(principal, entry: entry, labels: labels, startApproval: approve)
        }
        return try pages.render("shred-request", model)
    }

    @Sendable func certificates(_ request: Request, context: StrongroomContext) async throws -> Response {
        guard let (caller, principal) = try await reviewer(request) else { return console.signInFirst(request) }
        let vault = self.vault
        let entries = try await pool.run { try vault.lifecycle.shredRequests(school: nil, by: caller) }
        return try pages.render("certificates", CertificatesPage(principal, entries: entries))
    }

    @Sendable func certificate(_ request: Request, context: StrongroomContext) async throws -> Response {
        guard let (caller, principal) = try await reviewer(request) else { return console.signInFirst(request) }
        let id = context.parameters.get("id") ?? ""
        let vault = self.vault
        let model = try await pool.run { () throws -> CertificatePage in
            let bytes: [UInt8]
            do { bytes = try vault.lifecycle.storedCertificate(id: id, by: caller) } catch VaultError.conflict {
                throw ReadingRoutes.notFound  // not shredded yet: no certificate to show
            }
            // Checked here, by the server, with the vault's public key: the page says whether it holds.
            let checked = CertificateCheck(bytes, publicKey: vault.publicKey)
            return CertificatePage(principal, id: id, check: checked)
        }
        return try pages.render("certificate", model)
    }

    @Sendable func holds(_ request: Request, context: StrongroomContext) async throws -> Response {
        guard let (caller, principal) = try await reviewer(request) else { return console.signInFirst(request) }
        guard AccessPolicy.grant(principal.role, .hold) != .denied else { throw Self.notAllowed }
        let vault = self.vault
        let holds = try await pool.run { try vault.lifecycle.holds(school: nil, by: caller) }
        return try pages.render("holds", HoldsPage(principal, holds: holds, now: Date()))
    }

    @Sendable func dateOfBirth(_ request: Request, context: StrongroomContext) async throws -> Response {
        guard let (caller, principal) = try await reviewer(request) else { return console.signInFirst(request) }
        guard AccessPolicy.grant(principal.role, .setDOB) != .denied else {
            throw Problem(status: .forbidden, slug: "forbidden", title: "You cannot see this page",
                          detail: "a child's date of birth is recorded by a designated safeguarding lead or their deputy")
        }
        let child = context.parameters.get("child") ?? ""
        guard let school = request.uri.queryParameters.get("school").map({ String($0) }), OpaqueID.isValid(school), OpaqueID.isValid(child),
              principal.schools.contains(school) else { throw ReadingRoutes.notFound }
        let vault = self.vault
        let label = try await pool.run { try vault.records.childLabel(child: child, school: school, by: caller) }
        return try pages.render("date-of-birth", DateOfBirthPage(principal, child: child, school: school, label: label))
    }
}

/// A stored certificate as the server read it: its fields (when it parses at all) and whether its
/// signature verifies with the vault's public key.
struct CertificateCheck {
    let certificate: CertificateOfDestruction?
    let valid: Bool
    let problem: String

    init(_ bytes: [UInt8], publicKey: VaultPublicKey) {
        do {
            certificate = try CertificateOfDestruction.verify(bytes, publicKey: publicKey)
            valid = true
            problem = ""
        } catch {
            certificate = try? JSONDecoder().decode(CertificateOfDestruction.self, from: Data(bytes))
            valid = false
            if case VaultError.invalidArgument(let why) = error { problem = why } else { problem = "it could not be checked" }
        }
    }
}
