import Foundation
import Hummingbird
import Storage
import Vault

/// The console's reading pages: find a child, read their chronology, look at a record (its
/// details, audit trail and a preview the server drew), and a member of staff's own uploads.
/// GETs that change nothing (the label forms and the download call the JSON routes from their
/// scripts), behind `ConsoleMiddleware`, so every answer is `no-store` and `no-referrer`.
///
/// - `/children[?q=NAME | ?child=C&school=S]`: search children's labels in memory, or go to an id.
/// - `/children/{child}?school=S[&page=N]`: the chronology, 50 records a page, oldest first.
/// - `/records/{id}[?page=N][&download=1]`: a record; `download=1` starts the download once confirmed.
/// - `/uploads[?page=N]`: the signed-in person's own uploads.
///
/// Each page asks only what its viewer's role may know, and shows no control they may not use.
/// Staff get "not allowed" for the children pages; a record or child of another school, or
/// another person's upload, is "not found" whoever asks. The search words are a child's name:
/// they reach the vault and the page, never a log (the request log names the route template).
struct ReadingRoutes {
    static let paths: Set<String> = ["GET /children", "GET /children/{child}", "GET /records/{id}", "GET /uploads"]

    let console: ConsoleRoutes
    var vault: Vault { console.vault }
    var pool: BlockingPool { console.pool }
    var pages: ConsolePages { console.pages }

    func register(on group: RouterGroup<StrongroomContext>) {
        group.get("children", use: findChild)
        group.get("children/:child", use: chronology)
        group.get("records/:id", use: record)
        group.get("uploads", use: uploads)
    }

    static let notAllowed = Problem(status: .forbidden, slug: "forbidden", title: "You cannot see this page",
                                    detail: "your role lets you see only the evidence you attached yourself, under My uploads")
    static let notFound = Problem(status: .notFound, slug: "not-found", title: "Page not found", detail: "")

    /// To the sign-in page, and back to this page (with its query) afterwards.

    /// A page number from 1 (absent: 1); anything else is no such page.
    private func pageNumber(_ request: Request) throws -> Int {
        guard let text = request.uri.queryParameters.get("page") else { return 1 }
        guard let page = Int(text), (1...100_000).contains(page) else { throw Self.notFound }
        return page
    }

    // MARK: pages

    @Sendable func findChild(_ request: Request, context: StrongroomContext) async throws -> Response {
        guard let (caller, principal, _) = try await console.person(request) else { return console.signInFirst(request) }
        guard ConsoleNavigation.seesChildren(principal.role) else { throw Self.notAllowed }
        let query = request.uri.queryParameters
        let child = query.get("child").map { $0.trimmingCharacters(in: .whitespaces) }, school = query.get("school")
        if let child {
            // By id: straight to the chronology when both ids are well formed and the school is theirs.
            var errors: [FieldError] = []
            if !OpaqueID.isValid(child) { errors.append(FieldError(text: "Enter the child's id, for example C1234", field: "child")) }
            if !(school.map(principal.schools.contains) ?? false) { errors.append(FieldError(text: "Choose a school", field: "school")) }
            if errors.isEmpty, let school { return ConsolePages.redirect(to: ReadingPaths.chronology(child, school)) }
            return try pages.render("find-child", FindChildPage(principal, query: "", searched: false, found: [], errors: errors,
                                                                child: child, school: school), status: .badRequest)
        }
        guard let words = query.get("q") else {
            return try pages.render("find-child", FindChildPage(principal, query: "", searched: false, found: [], errors: [], child: "", school: nil))
        }
        let trimmed = words.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty, trimmed.count <= Vault.maxLabelCharacters else {
            let text = trimmed.isEmpty ? "Enter part of the child's name" : "The name must be \(Vault.maxLabelCharacters) characters or fewer"
            return try pages.render("find-child", FindChildPage(principal, query: words, searched: false, found: [],
                                                                errors: [FieldError(text: text, field: "q")], child: "", school: nil),
                                    status: .badRequest)
        }
        let vault = self.vault
        let found = try await pool.run { try vault.records.findChildren(matching: trimmed, by: caller) }
        return try pages.render("find-child", FindChildPage(principal, query: words, searched: true, found: found, errors: [], child: "", school: nil))
    }

    @Sendable func chronology(_ request: Request, context: StrongroomContext) async throws -> Response {
        guard let (caller, principal, _) = try await console.person(request) else { return console.signInFirst(request) }
        guard ConsoleNavigation.seesChildren(principal.role) else { throw Self.notAllowed }
        let child = context.parameters.get("child") ?? ""
        guard let school = request.uri.queryParameters.get("school"), OpaqueID.isValid(school), OpaqueID.isValid(child) else {
            throw Self.notFound
        }
        let page = try pageNumber(request)
        let vault = self.vault
        let seesHolds = AccessPolicy.grant(principal.role, .hold) != .denied
        let transfersToo = ConsoleNavigation.sendsTransfers(principal.role)
        let model = try await pool.run { () throws -> ChronologyPage in
            let offset = (page - 1) * Pagination.pageSize
            let listed: (records: [EvidenceRecord], shares: [ShareEntry])
            do {
                listed = try vault.records.chronologyAndShares(child: child, school: school, limit: Pagination.pageSize + 1, offset: offset, by: caller)
            } catch VaultError.forbidden {
                // Another school's child: as if there were no such page (the vault audited the denial).
                throw Self.notFound
            }
            let records = Array(listed.records.prefix(Pagination.pageSize))
            let label = try vault.records.childLabel(child: child, school: school, by: caller)
            var titles: [String: String] = [:]
            for concern in Set(records.map(\.concern)) {
                titles[concern] = try vault.records.concernTitle(concern: concern, school: school, by: caller)
            }
            let holds = seesHolds ? try vault.lifecycle.holds(school: school, by: caller) : nil
            var transfers = ChronologyTransfers.none
            if transfersToo {
                let (sent, received) = try vault.transfers.list(school: school, child: child, by: caller)
                transfers = ChronologyTransfers(child: child, school: school, sent: sent,
                                                received: try received.map { try vault.transfers.received(id: $0.id, by: caller) })
            }
            return ChronologyPage(principal, child: child, school: school, label: label, records: records,
                                  more: listed.records.count > Pagination.pageSize, page: page, titles: titles, holds: holds, shares: listed.shares,
                                  transfers: transfers)
        }
        return try pages.render("chronology", model)
    }

    @Sendable func record(_ request: Request, context: StrongroomContext) async throws -> Response {
        guard let (caller, principal, _) = try await console.person(request) else { return console.signInFirst(request) }
        let id = context.parameters.get("id") ?? ""
        guard RecordID.isValid(id) else { throw Self.notFound }
        let page = try pageNumber(request)
        let startDownload = request.uri.queryParameters.get("download") == "1"
        let role = principal.role
        let vault = self.vault
        let model = try await pool.run { () throws -> RecordPage in
            // Another school's record, or another person's upload for staff: the vault says not found.
            let record = try vault.records.show(id: id, by: caller)
            let events = AccessPolicy.grant(role, .audit) == .denied ? nil : try vault.records.auditTrail(id: id, by: caller).1
            let readsLabels = ConsoleNavigation.seesChildren(role)
            let label = readsLabels ? try vault.records.childLabel(child: record.child, school: record.school, by: caller) : nil
            let title = readsLabels ? try vault.records.concernTitle(concern: record.concern, school: record.school, by: caller) : nil
            let held = AccessPolicy.grant(role, .hold) == .denied
                ? nil : HeldRecords.isHeld(record, by: try vault.lifecycle.holds(school: record.school, by: caller))
            // A body map drawn here carries its marks: listed for those who may look at it.
            var marks: [BodyMark]?
            if record.kind == "body-map", AccessPolicy.grant(role, .preview) == .schools {
                do { marks = try vault.records.bodyMapMarks(id: id, by: caller) } catch VaultError.noPreview { marks = nil }
            }
            return RecordPage(principal, record: record, label: label, title: title, held: held, events: events,
                              marks: marks, startDownload: startDownload, page: page)
        }
        return try pages.render("record", model)
    }

    @Sendable func uploads(_ request: Request, context: StrongroomContext) async throws -> Response {
        guard let (caller, principal, _) = try await console.person(request) else { return console.signInFirst(request) }
        guard ConsoleNavigation.seesOwnUploads(principal.role) else {
            // Those who see the whole school find evidence through the children pages.
            return ConsolePages.redirect(to: ConsoleNavigation.seesChildren(principal.role) ? "/children" : "/account")
        }
        let page = try pageNumber(request)
        let vault = self.vault
        let records = try await pool.run {
            try vault.records.ownUploads(limit: Pagination.pageSize + 1, offset: (page - 1) * Pagination.pageSize, by: caller)
        }
        return try pages.render("uploads", UploadsPage(principal, records: Array(records.prefix(Pagination.pageSize)),
                                                      more: records.count > Pagination.pageSize, page: page))
    }
}
