import Foundation
import Hummingbird
import Vault

/// The console's pages for adding evidence to a concern, each a GET that changes nothing (its
/// script sends the files or the marks to the JSON routes, with the CSRF token):
///
/// - `/attach?school=S&child=C&concern=K`: choose or drop files, say what each one is, and
///   watch each stream to `POST /v1/attachments`.
/// - `/body-map?school=S&child=C&concern=K`: mark injuries on a child's body outline, front and
///   back, and save them with `POST /v1/body-maps`.
///
/// A school's record system can link straight to either page; without the three ids (or with
/// one that is not an id) the page is a form that asks for them. Only people whose role may
/// upload see the pages: the vault checks again on every upload.
struct AttachRoutes {
    let console: ConsoleRoutes

    func register(on router: RouterGroup<StrongroomContext>) {
        router.get("attach", use: attach)
        router.get("body-map", use: bodyMap)
    }

    @Sendable func attach(_ request: Request, context: StrongroomContext) async throws -> Response {
        try await page(request, task: .attach)
    }

    @Sendable func bodyMap(_ request: Request, context: StrongroomContext) async throws -> Response {
        try await page(request, task: .bodyMap)
    }

    private func page(_ request: Request, task: AttachTask) async throws -> Response {
        let query = request.uri.queryParameters
        let asked = ConcernIDs(school: query.get("school"), child: query.get("child"), concern: query.get("concern"))
        guard let (_, principal, _) = try await console.person(request) else {
            return console.signInFirst(request, next: task.path + asked.query)
        }
        // A person at one school need not know its id: a link from the school's system may leave it out.
        let given = asked.school.isEmpty && principal.schools.count == 1
            ? ConcernIDs(school: principal.schools.first, child: asked.child, concern: asked.concern) : asked
        guard AccessPolicy.grant(principal.role, .upload) != .denied else {
            throw Problem(status: .forbidden, slug: "forbidden", title: "You cannot add evidence",
                          detail: "your role in Strongroom does not add evidence. Ask your designated safeguarding lead to add it")
        }
        let errors = given.errors(schools: principal.schools)
        if !given.complete || !errors.isEmpty {
            let form = AttachIDsPage(task: task, given: given, schools: principal.schools, errors: asked.anyGiven ? errors : [],
                                     signedInName: principal.name)
            return try console.pages.render("attach-ids", form)
        }
        switch task {
        case .attach: return try console.pages.render("attach", AttachPage(ids: given, signedInName: principal.name))
        case .bodyMap: return try console.pages.render("body-map", BodyMapPage(ids: given, signedInName: principal.name))
        }
    }
}

/// The two pages that take a school, a child and a concern.
enum AttachTask {
    case attach, bodyMap

    var path: String {
        switch self {
        case .attach: "/attach"
        case .bodyMap: "/body-map"
        }
    }
}

/// The school, child and concern a page works on, as the address gave them.
struct ConcernIDs {
    let school: String
    let child: String
    let concern: String

    init(school: String?, child: String?, concern: String?) {
        self.school = school ?? ""
        self.child = child ?? ""
        self.concern = concern ?? ""
    }

    var complete: Bool { !school.isEmpty && !child.isEmpty && !concern.isEmpty }
    var anyGiven: Bool { !school.isEmpty || !child.isEmpty || !concern.isEmpty }

    /// The ids as a query string (`?school=..&child=..&concern=..`), each value percent-encoded.
    var query: String {
        let pairs = [("school", school), ("child", child), ("concern", concern)].filter { !$0.1.isEmpty }
        guard !pairs.isEmpty else { return "" }
        return "?" + pairs.map { $0.0 + "=" + ($0.1.addingPercentEncoding(withAllowedCharacters: ConsoleRoutes.queryValue) ?? "") }
            .joined(separator: "&")
    }

    /// What is wrong with each field, by field name. The school must be one of the person's
    /// own (the vault refuses the others anyway); ids are the vault's opaque ids.
    func errors(schools: Set<String>) -> [(field: String, text: String)] {
        var errors: [(field: String, text: String)] = []
        if school.isEmpty {
            errors.append(("school", "Enter the school's id"))
        } else if !schools.contains(school) {
            errors.append(("school", "Enter the id of a school you work at"))
        }
        for (field, value, name) in [("child", child, "child"), ("concern", concern, "concern")] {
            if value.isEmpty {
                errors.append((field, "Enter the \(name)'s id"))
            } else if !Self.isID(value) {
                errors.append((field, "The \(name)'s id can only have letters, numbers, dots, dashes and underscores, up to 64 of them"))
            }
        }
        return errors
    }

    /// The vault's opaque id: `^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$` (docs/openapi.yaml, OpaqueID).
    static func isID(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard (1...64).contains(bytes.count) else { return false }
        func plain(_ byte: UInt8) -> Bool {
            (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x5F
        }
        return plain(bytes[0]) && bytes.dropFirst().allSatisfy { plain($0) || $0 == 0x2E || $0 == 0x2D }
    }
}
