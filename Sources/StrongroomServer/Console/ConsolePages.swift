import Foundation
import Hummingbird
import Mustache
import NIOCore

/// Renders the console's pages from the Mustache templates compiled into the binary.
///
///     let response = try ConsolePages().render("sign-in", SignInPage(next: "/account"))
///
/// Every `{{value}}` is HTML-escaped by the engine (`&`, `<`, `>`, `"` and `'`), in text and in
/// attribute values alike; the templates use no triple braces and no `{{&value}}`
/// (ConsolePagesTests holds them to that), so no data reaches a page unescaped. Pages share
/// `layout.mustache` through Mustache's template inheritance.
struct ConsolePages: Sendable {
    static let templates: [String: [UInt8]] = [
        "layout": PackageResources.layout_mustache,
        "sign-in": PackageResources.sign_in_mustache,
        "enrol": PackageResources.enrol_mustache,
        "account": PackageResources.account_mustache,
        "confirm": PackageResources.confirm_mustache,
        "problem": PackageResources.problem_mustache,
        "error-summary": PackageResources.error_summary_mustache,
        "attach": PackageResources.attach_mustache,
        "attach-ids": PackageResources.attach_ids_mustache,
        "attach-concern": PackageResources.attach_concern_mustache,
        "body-map": PackageResources.body_map_mustache,
        "find-child": PackageResources.find_child_mustache,
        "chronology": PackageResources.chronology_mustache,
        "record": PackageResources.record_mustache,
        "uploads": PackageResources.uploads_mustache,
        "people": PackageResources.people_mustache,
        "people-add": PackageResources.people_add_mustache,
        "people-check": PackageResources.people_check_mustache,
        "people-remove": PackageResources.people_remove_mustache,
        "people-approvals": PackageResources.people_approvals_mustache,
        "people-approval": PackageResources.people_approval_mustache,
        "recipients": PackageResources.recipients_mustache,
        "recipient-remove": PackageResources.recipient_remove_mustache,
        "waiting": PackageResources.waiting_mustache,
        "bundles": PackageResources.bundles_mustache,
        "bundle-new": PackageResources.bundle_new_mustache,
        "bundle": PackageResources.bundle_mustache,
        "retention-due": PackageResources.retention_due_mustache,
        "shred-requests": PackageResources.shred_requests_mustache,
        "shred-request": PackageResources.shred_request_mustache,
        "certificates": PackageResources.certificates_mustache,
        "certificate": PackageResources.certificate_mustache,
        "holds": PackageResources.holds_mustache,
        "date-of-birth": PackageResources.date_of_birth_mustache,
        "oversight": PackageResources.oversight_mustache,
        "transfers": PackageResources.transfers_mustache,
        "transfer-new": PackageResources.transfer_new_mustache,
        "transfer": PackageResources.transfer_mustache,
        "transfer-receive": PackageResources.transfer_receive_mustache,
        "schools": PackageResources.schools_mustache,
    ]

    /// Parsed once; a template that does not parse fails every page with a 500 (and a test).
    private static let parsed: Result<MustacheLibrary, Error> = Result {
        var library = MustacheLibrary()
        for (name, bytes) in templates { try library.register(String(decoding: bytes, as: UTF8.self), named: name) }
        return library
    }

    func html(_ template: String, _ page: Any) throws -> String {
        let library = try Self.parsed.get()
        guard let html = library.render(page, withTemplate: template) else {
            throw Problem(status: .internalServerError, slug: "internal", title: "Internal error", detail: "the server failed")
        }
        return html
    }

    func render(_ template: String, _ page: Any, status: HTTPResponse.Status = .ok) throws -> Response {
        Response(status: status, headers: [.contentType: "text/html; charset=utf-8"],
                 body: .init(byteBuffer: ByteBuffer(string: try html(template, page))))
    }

    /// A page for an error: the problem's title and what to do, never anything from the request.
    func problem(_ problem: Problem) throws -> Response {
        try render("problem", ProblemPage(problem), status: problem.status)
    }

    /// A 303 to another console page (after GET, so the browser asks with GET).
    static func redirect(to path: String) -> Response {
        Response(status: .seeOther, headers: [.location: path])
    }
}

/// What the error page shows.
struct ProblemPage {
    let title: String
    let paragraphs: [String]
    let script: String? = nil
    let signedInName: String? = nil

    init(_ problem: Problem) {
        switch (problem.status.code, problem.slug) {
        case (404, "enrolment-unusable"):
            title = "This link cannot be used"
            paragraphs = [
                "The link may have been used already, or it may be more than 72 hours old.",
                "Ask the person who looks after Strongroom at your school for a new link.",
            ]
        case (404, _):
            title = "Page not found"
            paragraphs = ["If you typed the web address, check it is correct.", "You can go to your account page or sign in."]
        case (500..., _):
            title = "Sorry, there is a problem with Strongroom"
            paragraphs = ["Try again later. If it keeps happening, tell the person who looks after Strongroom at your school."]
        default:
            title = problem.title
            paragraphs = [Self.sentence(problem.detail)]
        }
    }

    /// "a detail like this" as a sentence: a capital first letter and a full stop.
    static func sentence(_ text: String) -> String {
        guard let first = text.first else { return text }
        let capitalised = first.uppercased() + text.dropFirst()
        return capitalised.hasSuffix(".") ? capitalised : capitalised + "."
    }
}
