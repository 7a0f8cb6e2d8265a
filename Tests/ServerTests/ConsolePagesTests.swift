import Foundation
import XCTest
@testable import StrongroomServer
@testable import Vault

/// The web console's pages: security headers on every response, escaping, no inline script or
/// style, and redirects that never leave the site.
final class ConsolePagesTests: XCTestCase {
    static let expectedHeaders = [
        "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        "x-content-type-options": "nosniff",
        "referrer-policy": "no-referrer",
        "cache-control": "no-store",
        "cross-origin-opener-policy": "same-origin",
    ]
    static let staleCookie = "__Host-strongroom-session=" + String(repeating: "A", count: 43)

    func assertConsoleHeaders(_ reply: HTTPReply, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        for (name, value) in Self.expectedHeaders {
            XCTAssertEqual(reply.headers[name], value, "\(name) on \(what)", file: file, line: line)
        }
        let permissions = reply.headers["permissions-policy"] ?? ""
        XCTAssertTrue(permissions.contains("camera=()") && permissions.contains("microphone=()") && permissions.contains("geolocation=()"),
                      "Permissions-Policy on \(what)", file: file, line: line)
    }

    func testEveryConsoleResponseCarriesTheSecurityHeaders() async throws {
        let server = try await ServerFixture()
        let issued = try server.vault.users.addPerson(name: "jo.smith", role: .dsl, schools: ["S1"], by: .operator("test"))
        let paths = ["/", "/sign-in", "/sign-in?next=//evil.example", "/account", "/confirm?next=/account", "/enrol/\(issued.token)",
                     "/enrol/unknown", "/assets/console.css", "/assets/sign-in.js", "/assets/no-such.js"]
        for path in paths {
            let reply = try await server.request("GET", path)
            XCTAssertTrue([200, 303, 404].contains(reply.status), "\(path): \(reply.status)")
            assertConsoleHeaders(reply, path)
        }
        let withStaleCookie = try await server.request("GET", "/account", headers: ["Cookie": Self.staleCookie])
        assertConsoleHeaders(withStaleCookie, "/account with an ended session")
        try await server.stop()
    }

    func testSignedOutPagesSendYouToSignInAndComeBack() async throws {
        let server = try await ServerFixture()
        let home = try await server.request("GET", "/")
        XCTAssertEqual(home.status, 303)
        XCTAssertEqual(home.headers["location"], "/sign-in")
        let account = try await server.request("GET", "/account")
        XCTAssertEqual(account.status, 303)
        XCTAssertEqual(account.headers["location"], "/sign-in?next=/account")
        let ended = try await server.request("GET", "/account", headers: ["Cookie": Self.staleCookie])
        XCTAssertEqual(ended.headers["location"], "/sign-in?next=/account&ended=1", "a cookie whose session ended says so")
        let confirm = try await server.request("GET", "/confirm?next=/v1/attachments/abc")
        XCTAssertEqual(confirm.headers["location"], "/sign-in?next=/confirm%3Fnext%3D/v1/attachments/abc")
        try await server.stop()
    }

    func testANextPathToAnotherSiteIsReplacedByTheAccountPage() async throws {
        let server = try await ServerFixture()
        let evil = try await server.request("GET", "/sign-in?next=//evil.example/steal")
        XCTAssertEqual(evil.status, 200)
        XCTAssertTrue(evil.text.contains("data-next=\"/account\""))
        XCTAssertFalse(evil.text.contains("evil.example"))
        let kept = try await server.request("GET", "/sign-in?next=/confirm%3Fnext%3D/v1/attachments/abc")
        XCTAssertTrue(kept.text.contains("data-next=\"/confirm?next=/v1/attachments/abc\""))
        let confirm = try await server.request("GET", "/confirm?next=https://evil.example/")
        XCTAssertEqual(confirm.headers["location"], "/sign-in?next=/confirm%3Fnext%3D/account")
        try await server.stop()
    }

    func testTheEnrolmentPageNamesThePersonAndAnUnusableLinkIsAPageThatSaysWhatToDo() async throws {
        let server = try await ServerFixture()
        let issued = try server.vault.users.addPerson(name: "jo.smith", role: .dsl, schools: ["S1"], by: .operator("test"))
        let page = try await server.request("GET", "/enrol/\(issued.token)")
        XCTAssertEqual(page.status, 200)
        XCTAssertEqual(page.headers["content-type"], "text/html; charset=utf-8")
        XCTAssertTrue(page.text.contains("jo.smith"))
        XCTAssertTrue(page.text.contains("Designated safeguarding lead (DSL)"))
        XCTAssertFalse(page.text.contains(issued.token), "the token stays in the address only")
        let unusable = try await server.request("GET", "/enrol/" + String(repeating: "B", count: 43))
        XCTAssertEqual(unusable.status, 404)
        XCTAssertEqual(unusable.headers["content-type"], "text/html; charset=utf-8")
        XCTAssertTrue(unusable.text.contains("This link cannot be used"))
        try await server.stop()
    }

    func testDataInAPageIsEscaped() throws {
        let hostile = "<script>alert('x')</script> & \"quoted\""
        let html = try ConsolePages().html("problem", ProblemPage(Problem(status: .badRequest, slug: "x", title: hostile, detail: hostile)))
        XCTAssertFalse(html.contains("<script>alert"))
        XCTAssertTrue(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;quoted&quot;"))
    }

    func testTemplatesHaveNoUnescapedValuesInlineScriptsStylesOrHandlers() throws {
        XCTAssertEqual(Set(ConsolePages.templates.keys), ["layout", "sign-in", "enrol", "account", "confirm", "problem", "error-summary",
                                                          "find-child", "chronology", "record", "uploads",
                                                          "attach", "attach-ids", "attach-concern", "body-map",
                                                          "people", "people-add", "people-check", "people-remove", "people-approvals",
                                                          "people-approval", "recipients", "recipient-remove", "waiting",
                                                          "bundles", "bundle-new", "bundle",
                                                          "retention-due", "shred-requests", "shred-request", "certificates", "certificate",
                                                          "holds", "date-of-birth", "oversight",
                                                          "transfers", "transfer-new", "transfer", "transfer-receive", "schools"])
        let handler = try NSRegularExpression(pattern: "\\son[a-z]+\\s*=", options: [.caseInsensitive])
        for (name, bytes) in ConsolePages.templates {
            let text = String(decoding: bytes, as: UTF8.self)
            XCTAssertFalse(text.contains("{{{"), "\(name): triple braces skip escaping")
            XCTAssertFalse(text.contains("{{&"), "\(name): {{& skips escaping")
            XCTAssertFalse(text.lowercased().contains("style="), "\(name): style attribute")
            XCTAssertFalse(text.lowercased().contains("<style"), "\(name): style element")
            XCTAssertNil(handler.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)), "\(name): event handler attribute")
            for script in text.components(separatedBy: "<script").dropFirst() {
                XCTAssertTrue(script.hasPrefix(" type=\"module\" src=\"/assets/"), "\(name): only module scripts from /assets")
            }
        }
        for (name, asset) in ConsoleAssets.all where name.hasSuffix(".js") {
            let text = String(decoding: asset.bytes, as: UTF8.self)
            for sink in ["innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"] {
                XCTAssertFalse(text.contains(sink), "\(name) uses \(sink): text goes in with textContent")
            }
        }
    }

    func testEveryPageRendersFromTheEmbeddedTemplates() throws {
        let pages = ConsolePages()
        let view = EnrolmentView(name: "jo.smith", role: "dsl", schools: ["S2", "S1"], expiresAt: Date(timeIntervalSince1970: 1_764_770_700))
        let enrol = try pages.html("enrol", EnrolPage(view))
        XCTAssertTrue(enrol.contains("S1, S2"))
        XCTAssertTrue(enrol.contains("3 December 2025 at 2:05pm"), "UK time, as people read it")
        XCTAssertTrue(try pages.html("sign-in", SignInPage(next: "/account", ended: true)).contains("You were signed out"))
        XCTAssertFalse(try pages.html("sign-in", SignInPage(next: "/account", ended: false)).contains("You were signed out"))
        XCTAssertTrue(try pages.html("confirm", ConfirmPage(next: "/x", signedInName: "jo.smith")).contains("header-sign-out"))
        for name in ["sign-in", "enrol", "confirm"] {
            XCTAssertTrue(try pages.html(name, name == "enrol" ? EnrolPage(view) as Any : SignInPage(next: "/", ended: false))
                .contains("id=\"error-summary\""), "\(name) has the error summary")
        }
    }

    func testAssetsAreServedWithTheirTypesAndUnknownNamesAreNot() async throws {
        let server = try await ServerFixture()
        for (name, asset) in ConsoleAssets.all {
            let reply = try await server.request("GET", "/assets/" + name)
            XCTAssertEqual(reply.status, 200, name)
            XCTAssertEqual(reply.headers["content-type"], asset.contentType)
            XCTAssertEqual(reply.body, asset.bytes)
        }
        let traversal = try await server.request("GET", "/assets/..%2FPackage.swift")
        XCTAssertEqual(traversal.status, 404)
        try await server.stop()
    }
}
