import Foundation
import XCTest
@testable import StrongroomServer
@testable import Vault

/// The console's attach and body-map pages: who sees them, the ids they take from a link (or
/// ask for), escaping, and the choices they offer matching what the vault accepts.
final class AttachPagesTests: XCTestCase {
    static let ids = "school=S1&child=C1&concern=K1"

    func page(_ fixture: SignInFixture, _ path: String, _ session: BrowserSession) async throws -> HTTPReply {
        try await fixture.server.request("GET", path, headers: session.cookie)
    }

    func testSignedOutTheyGoToSignInAndComeBackToTheSameConcern() async throws {
        let server = try await ServerFixture()
        let attach = try await server.request("GET", "/attach?" + Self.ids)
        XCTAssertEqual(attach.status, 303)
        XCTAssertEqual(attach.headers["location"], "/sign-in?next=/attach%3Fschool%3DS1%26child%3DC1%26concern%3DK1")
        let bodyMap = try await server.request("GET", "/body-map?" + Self.ids)
        XCTAssertEqual(bodyMap.headers["location"], "/sign-in?next=/body-map%3Fschool%3DS1%26child%3DC1%26concern%3DK1")
        for path in ["/attach", "/body-map?" + Self.ids] {
            let reply = try await server.request("GET", path)
            for (name, value) in ConsolePagesTests.expectedHeaders { XCTAssertEqual(reply.headers[name], value, "\(name) on \(path)") }
        }
        try await server.stop()
    }

    func testStaffSeeTheConcernTheKindsTheVaultAllowsAndTheirUploads() async throws {
        let fixture = try await SignInFixture()
        let session = try await fixture.signedIn(try await fixture.enrol("sam.staff", .staff))
        let reply = try await page(fixture, "/attach?" + Self.ids, session)
        XCTAssertEqual(reply.status, 200, reply.text)
        XCTAssertEqual(reply.headers["content-type"], "text/html; charset=utf-8")
        for (name, value) in ConsolePagesTests.expectedHeaders { XCTAssertEqual(reply.headers[name], value, name) }
        XCTAssertTrue(reply.text.contains(#"data-school="S1" data-child="C1" data-concern="K1""#))
        for kind in TypePolicy.rules.keys {
            XCTAssertTrue(reply.text.contains(#"<option value="\#(kind)">"#), "the vault's kind \(kind) is offered")
        }
        XCTAssertTrue(reply.text.contains("PDF, DOCX, ODT, RTF, plain text"), "minutes' types, as the vault names them")
        XCTAssertTrue(reply.text.contains(#"href="/uploads""#), "the person's own uploads are a link away")
        XCTAssertTrue(reply.text.contains(#"href="/body-map?school=S1&amp;child=C1&amp;concern=K1""#))
        XCTAssertTrue(reply.text.contains(#"<script type="module" src="/assets/attach.js"></script>"#))
        try await fixture.stop()
    }

    func testTheBodyMapPageNamesEveryColourAndSize() async throws {
        let fixture = try await SignInFixture()
        let session = try await fixture.signedIn(try await fixture.enrol("dee.deputy", .deputy))
        let reply = try await page(fixture, "/body-map?" + Self.ids, session)
        XCTAssertEqual(reply.status, 200, reply.text)
        for colour in ["red", "blue", "green", "purple", "orange", "black"] {
            let name = colour.prefix(1).uppercased() + colour.dropFirst()
            XCTAssertTrue(reply.text.contains(#"for="colour-\#(colour)"><span class="swatch swatch--\#(colour)" aria-hidden="true"></span>\#(name)</label>"#),
                          "\(colour) is shown with its name, not by colour alone")
        }
        for size in 1...5 { XCTAssertTrue(reply.text.contains(#"<option value="\#(size)">\#(size) – "#), "size \(size)") }
        XCTAssertTrue(reply.text.contains(#"href="/attach?school=S1&amp;child=C1&amp;concern=K1""#), "attach more after saving")
        XCTAssertTrue(reply.text.contains(#"<script type="module" src="/assets/body-map.js"></script>"#))
        try await fixture.stop()
    }

    func testWithoutIdsThePageAsksForThemAndFillsInTheOnlySchool() async throws {
        let fixture = try await SignInFixture()
        let session = try await fixture.signedIn(try await fixture.enrol("sam.staff", .staff))
        let empty = try await page(fixture, "/attach", session)
        XCTAssertEqual(empty.status, 200)
        XCTAssertTrue(empty.text.contains(#"<form class="attach-ids" method="get" action="/attach" novalidate>"#))
        XCTAssertTrue(empty.text.contains(#"id="school" name="school" type="text" value="S1""#), "one school: filled in")
        XCTAssertFalse(empty.text.contains("There is a problem"), "nothing asked yet, so nothing is wrong")
        // A link that names the child and concern but not the only school is complete.
        let noSchool = try await page(fixture, "/body-map?child=C1&concern=K1", session)
        XCTAssertTrue(noSchool.text.contains(#"data-school="S1" data-child="C1" data-concern="K1""#))
        let half = try await page(fixture, "/attach?child=C1", session)
        XCTAssertTrue(half.text.contains("There is a problem"))
        XCTAssertTrue(half.text.contains(##"<li><a href="#concern">Enter the concern&#39;s id</a></li>"##), half.text)
        XCTAssertTrue(half.text.contains(#"id="child" name="child" type="text" value="C1""#), "what was given stays")
        try await fixture.stop()
    }

    func testASchoolThatIsNotTheirsOrAnIdThatIsNotOneIsAskedForAgainEscaped() async throws {
        let fixture = try await SignInFixture()
        let session = try await fixture.signedIn(try await fixture.enrol("sam.staff", .staff, schools: ["S1", "S3"]))
        let otherSchool = try await page(fixture, "/attach?school=S2&child=C1&concern=K1", session)
        XCTAssertTrue(otherSchool.text.contains("Enter the id of a school you work at"))
        XCTAssertTrue(otherSchool.text.contains("S1, S3"), "the hint names the person's schools")
        let hostile = "%3Cscript%3Ealert(1)%3C%2Fscript%3E%22"
        let reply = try await page(fixture, "/attach?school=S1&child=\(hostile)&concern=K1", session)
        XCTAssertEqual(reply.status, 200)
        XCTAssertFalse(reply.text.contains("<script>alert"), "the id is data, escaped")
        XCTAssertTrue(reply.text.contains("value=\"&lt;script&gt;alert(1)&lt;/script&gt;&quot;\""))
        XCTAssertTrue(reply.text.contains("The child&#39;s id can only have letters, numbers, dots, dashes and underscores"))
        XCTAssertFalse(reply.text.contains("data-child="), "no editor for an id that is not one")
        try await fixture.stop()
    }

    func testIdsInThePagesAreEscaped() throws {
        let hostile = "\"><img src=x>"
        let ids = ConcernIDs(school: hostile, child: hostile, concern: hostile)
        for html in [try ConsolePages().html("attach", AttachPage(ids: ids, signedInName: hostile)),
                     try ConsolePages().html("body-map", BodyMapPage(ids: ids, signedInName: hostile))] {
            XCTAssertFalse(html.contains("<img"))
            XCTAssertTrue(html.contains("&quot;&gt;&lt;img src=x&gt;"))
        }
    }

    func testARoleThatCannotAddEvidenceIsToldWhoCan() async throws {
        let fixture = try await SignInFixture()
        let session = try await fixture.signedIn(try await fixture.enrol("dot.dpo", .dpo))
        for path in ["/attach?" + Self.ids, "/body-map?" + Self.ids, "/attach"] {
            let reply = try await page(fixture, path, session)
            XCTAssertEqual(reply.status, 403, path)
            XCTAssertEqual(reply.headers["content-type"], "text/html; charset=utf-8")
            XCTAssertTrue(reply.text.contains("You cannot add evidence"), path)
            XCTAssertTrue(reply.text.contains("Ask your designated safeguarding lead to add it."))
        }
        try await fixture.stop()
    }

    func testOnlyRealIdsPassTheCheck() {
        for id in ["C1", "K_77", "a.b-c", String(repeating: "x", count: 64)] { XCTAssertTrue(ConcernIDs.isID(id), id) }
        for id in ["", ".C1", "-C1", "C 1", "C/1", "C1\u{0}", "Ç1", String(repeating: "x", count: 65)] {
            XCTAssertFalse(ConcernIDs.isID(id), id)
        }
    }
}
