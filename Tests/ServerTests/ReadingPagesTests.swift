import Foundation
import Storage
@testable import StrongroomServer
import XCTest
@testable import Vault

/// The console's reading pages (find a child, chronology, record, my uploads) as a browser
/// gets them: labels escaped, only the controls the role may use, staff and other schools kept
/// out, nothing stored by the browser, and a child's name never in the server's log.
final class ReadingPagesTests: XCTestCase {
    var fixture: SignInFixture!
    var server: ServerFixture { fixture.server }
    var vault: Vault { fixture.vault }

    override func setUp() async throws { fixture = try await SignInFixture() }
    override func tearDown() async throws { try await fixture?.stop() }

    /// Enrols `name` with `role` and signs them in: the session a browser would hold.
    func session(_ name: String, _ role: Role, schools: [String] = ["S1"]) async throws -> BrowserSession {
        try await fixture.signedIn(try await fixture.enrol(name, role, schools: schools))
    }

    func page(_ path: String, _ session: BrowserSession) async throws -> HTTPReply {
        try await server.request("GET", path, headers: session.cookie)
    }

    /// Stores `text` as a record, uploaded by `caller` (the operator unless given).
    @discardableResult
    func put(_ text: String, child: String = "C1", concern: String = "K1", kind: String = "disclosure", school: String = "S1",
             type: String = "text/plain", by caller: Caller = .operator("test")) throws -> EvidenceRecord {
        let upload = try vault.records.beginPut(PutRequest(school: school, child: child, concern: concern, kind: kind,
                                                           filename: "note.txt", declaredType: type), by: caller)
        try Array(text.utf8).withUnsafeBytes { try upload.write($0) }
        return try upload.finish()
    }

    func caller(_ session: BrowserSession) throws -> Caller {
        try XCTUnwrap(try vault.users.resolveSession(token: session.token))
    }

    // MARK: escaping

    func testALabelOrTitleThatLooksLikeMarkupIsShownAsText() async throws {
        let record = try put("what she said")
        try vault.records.setChildLabel(child: "C1", school: "S1", label: "<script>alert('x')</script> Amelia", by: .operator("test"))
        try vault.records.setConcernTitle(concern: "K1", school: "S1", title: "<img src=x> bruising", by: .operator("test"))
        let jo = try await session("jo", .dsl)
        let escaped = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; Amelia"
        for path in ["/children/C1?school=S1", "/children?q=Amelia", "/records/\(record.id)"] {
            let reply = try await page(path, jo)
            XCTAssertEqual(reply.status, 200, path)
            XCTAssertTrue(reply.text.contains(escaped), "\(path) shows the label as text")
            XCTAssertFalse(reply.text.contains("<script>alert"), path)
            XCTAssertFalse(reply.text.contains("<img src=x>"), path)
        }
        let chronology = try await page("/children/C1?school=S1", jo)
        XCTAssertTrue(chronology.text.contains("&lt;img src=x&gt; bruising"), "the concern's title as text")
        let search = try await page("/children?q=%3Cb%3Eme", jo)
        XCTAssertTrue(search.text.contains("value=\"&lt;b&gt;me\""), "the search words echoed as text")
        XCTAssertTrue(search.text.contains("No children found"))
    }

    // MARK: controls by role

    func testEachRoleSeesOnlyTheControlsItMayUse() async throws {
        let jo = try await session("jo", .dsl), dee = try await session("dee", .deputy)
        let pat = try await session("pat", .dpo), sam = try await session("sam", .staff)
        let theirs = try put("a disclosure")
        let own = try put("what I saw at break", by: try caller(sam))

        for (who, person) in [("dsl", jo), ("deputy", dee)] {
            let record = try await page("/records/\(theirs.id)", person)
            XCTAssertEqual(record.status, 200, who)
            XCTAssertTrue(record.text.contains("id=\"preview-section\""), "\(who) previews")
            XCTAssertTrue(record.text.contains("id=\"download\""), "\(who) downloads")
            XCTAssertTrue(record.text.contains("id=\"audit-trail\""), "\(who) reads the audit trail")
            let chronology = try await page("/children/C1?school=S1", person)
            XCTAssertTrue(chronology.text.contains("id=\"label-form\""), "\(who) names the child")
            XCTAssertTrue(chronology.text.contains("class=\"concern-form"), "\(who) titles concerns")
            XCTAssertTrue(chronology.text.contains("href=\"/children\""), "\(who) has Children in the header")
            XCTAssertTrue(chronology.text.contains("href=\"/uploads\""), "\(who) attaches evidence too, and sees it in My uploads")
            XCTAssertTrue(chronology.text.contains("href=\"/attach\""), "\(who) has Attach evidence in the header")
        }

        let dpoRecord = try await page("/records/\(theirs.id)", pat)
        XCTAssertEqual(dpoRecord.status, 200)
        XCTAssertFalse(dpoRecord.text.contains("preview"), "a DPO sees no preview")
        XCTAssertFalse(dpoRecord.text.contains("id=\"download\""), "a DPO cannot download")
        XCTAssertTrue(dpoRecord.text.contains("id=\"audit-trail\""), "a DPO reads the audit trail")
        let dpoChronology = try await page("/children/C1?school=S1", pat)
        XCTAssertEqual(dpoChronology.status, 200)
        XCTAssertFalse(dpoChronology.text.contains("label-form"), "a DPO cannot name children")
        XCTAssertFalse(dpoChronology.text.contains("concern-form"), "a DPO cannot title concerns")

        let staffRecord = try await page("/records/\(own.id)", sam)
        XCTAssertEqual(staffRecord.status, 200, "staff see their own upload's details")
        XCTAssertFalse(staffRecord.text.contains("preview"))
        XCTAssertFalse(staffRecord.text.contains("id=\"download\""))
        XCTAssertFalse(staffRecord.text.contains("audit-trail"))
        XCTAssertTrue(staffRecord.text.contains("href=\"/uploads\""), "staff have My uploads")
        XCTAssertFalse(staffRecord.text.contains("href=\"/children"), "staff have no Children link, nor a link to the chronology")
    }

    // MARK: kept out

    func testStaffAndOtherSchoolsGetNothingByTypingAnAddress() async throws {
        let sam = try await session("sam", .staff), kim = try await session("kim", .dsl, schools: ["S2"])
        let record = try put("a disclosure")
        try vault.records.setChildLabel(child: "C1", school: "S1", label: "Amelia W.", by: .operator("test"))

        for path in ["/children", "/children?q=Amelia", "/children/C1?school=S1"] {
            let reply = try await page(path, sam)
            XCTAssertEqual(reply.status, 403, path)
            XCTAssertTrue(reply.text.contains("You cannot see this page"), path)
            XCTAssertFalse(reply.text.contains("Amelia"), path)
        }
        let notTheirs = try await page("/records/\(record.id)", sam)
        XCTAssertEqual(notTheirs.status, 404, "another person's upload is not found")
        XCTAssertFalse(notTheirs.text.contains(record.id))

        let otherSchool = try await page("/children/C1?school=S1", kim)
        XCTAssertEqual(otherSchool.status, 404)
        XCTAssertTrue(otherSchool.text.contains("Page not found"))
        let status1 = try await page("/records/\(record.id)", kim).status
        XCTAssertEqual(status1, 404)
        let search = try await page("/children?q=Amelia", kim)
        XCTAssertEqual(search.status, 200)
        XCTAssertFalse(search.text.contains("Amelia W."), "a search finds only children of the person's schools")
        let status2 = try await page("/children?child=C1&school=S1", kim).status
        XCTAssertEqual(status2, 400, "another school is not offered")
        let status3 = try await page("/records/not-a-record", kim).status
        XCTAssertEqual(status3, 404)
    }

    func testSignedOutReadingPagesSendYouToSignInAndBack() async throws {
        for (path, next) in [("/children/C1?school=S1", "/children/C1%3Fschool%3DS1"), ("/uploads", "/uploads"),
                             ("/records/" + String(repeating: "a", count: 32), "/records/" + String(repeating: "a", count: 32))] {
            let reply = try await server.request("GET", path)
            XCTAssertEqual(reply.status, 303, path)
            XCTAssertEqual(reply.headers["location"], "/sign-in?next=" + next, path)
        }
    }

    // MARK: headers and logs

    func testEveryReadingPageIsNeitherStoredNorSentOnAsAReferrer() async throws {
        let jo = try await session("jo", .dsl), sam = try await session("sam", .staff)
        let record = try put("a disclosure")
        for (path, person) in [("/children", jo), ("/children?q=Am", jo), ("/children/C1?school=S1", jo), ("/records/\(record.id)", jo),
                               ("/uploads", sam), ("/children/C1?school=S1", sam), ("/records/\(record.id)", sam)] {
            let reply = try await page(path, person)
            XCTAssertEqual(reply.headers["cache-control"], "no-store", path)
            XCTAssertEqual(reply.headers["referrer-policy"], "no-referrer", path)
            XCTAssertEqual(reply.headers["content-security-policy"], ConsoleHeaders.contentSecurityPolicy, path)
        }
    }

    func testAChildsNameSearchedForNeverReachesTheLog() async throws {
        try await fixture.stop()
        let log = CapturedLog()
        fixture = try await SignInFixture(logger: log.logger())
        let jo = try await session("jo", .dsl)
        try put("a disclosure")
        try vault.records.setChildLabel(child: "C1", school: "S1", label: "Zebedee Quartermaine", by: .operator("test"))
        let reply = try await page("/children?q=Quarterm", jo)
        XCTAssertTrue(reply.text.contains("Zebedee Quartermaine"), "found")
        _ = try await page("/children/C1?school=S1", jo)
        XCTAssertGreaterThan(log.count, 0, "the requests were logged")
        XCTAssertFalse(log.text().contains("Quarterm"), "the search words are not logged")
        XCTAssertFalse(log.text().contains("Zebedee"), "nor the label")
        XCTAssertFalse(server.events.contains { ($0.reason ?? "").contains("Quarterm") }, "nor audited")
    }

    // MARK: what the pages list

    func testAChronologyShowsFiftyRecordsAPageOldestFirstWithHolds() async throws {
        for n in 1...51 {
            fixture.clock.advance(1)  // oldest first: one second apart
            try put("note \(n)", concern: n == 51 ? "K2" : "K1")
        }
        let jo = try await session("jo", .dsl)
        _ = try vault.lifecycle.placeHold(school: "S1", scope: .concern, target: "K2", reason: "police inquiry", by: try caller(jo))
        let first = try await page("/children/C1?school=S1", jo)
        XCTAssertEqual(first.text.components(separatedBy: "href=\"/records/").count - 1, 50)
        XCTAssertTrue(first.text.contains("Showing 1 to 50, oldest first."))
        XCTAssertTrue(first.text.contains("href=\"/children/C1?school=S1&amp;page=2\""), "a next page")
        XCTAssertFalse(first.text.contains("On hold"), "K1 is not held")
        let second = try await page("/children/C1?school=S1&page=2", jo)
        XCTAssertEqual(second.text.components(separatedBy: "href=\"/records/").count - 1, 1)
        XCTAssertTrue(second.text.contains("Showing 51 to 51"))
        XCTAssertTrue(second.text.contains("On hold"), "the concern's hold covers its record")
        XCTAssertTrue(second.text.contains("rel=\"prev\""))
        let status4 = try await page("/children/C1?school=S1&page=0", jo).status
        XCTAssertEqual(status4, 404)
    }

    func testMyUploadsListsThePersonsOwnUploadsOnly() async throws {
        let sam = try await session("sam", .staff, schools: ["S1", "S2"]), tom = try await session("tom", .staff)
        let mine = try put("what I saw", child: "C9", by: try caller(sam))
        let elsewhere = try put("at the other school", school: "S2", by: try caller(sam))
        let theirs = try put("tom's note", by: try caller(tom))
        let reply = try await page("/uploads", sam)
        XCTAssertEqual(reply.status, 200)
        XCTAssertTrue(reply.text.contains("/records/\(mine.id)"))
        XCTAssertTrue(reply.text.contains("/records/\(elsewhere.id)"))
        XCTAssertFalse(reply.text.contains(theirs.id))
        XCTAssertTrue(reply.text.contains("aria-current=\"page\">My uploads"))
        let jo = try await session("jo", .dsl)
        let dsl = try await page("/uploads", jo)
        XCTAssertEqual(dsl.status, 200, "a DSL attaches evidence too")
        XCTAssertFalse(dsl.text.contains(mine.id), "and sees only their own uploads")
        let pat = try await session("pat", .dpo)
        let dpo = try await page("/uploads", pat)
        XCTAssertEqual(dpo.status, 303, "a DPO attaches nothing")
        XCTAssertEqual(dpo.headers["location"], "/children")
    }

    func testAChildCanBeOpenedByIdAndABadIdIsShownBesideItsField() async throws {
        let jo = try await session("jo", .dsl)
        let go = try await page("/children?child=C7&school=S1", jo)
        XCTAssertEqual(go.status, 303)
        XCTAssertEqual(go.headers["location"], "/children/C7?school=S1")
        let bad = try await page("/children?child=%2E%2E%2Fx&school=S1", jo)
        XCTAssertEqual(bad.status, 400)
        XCTAssertTrue(bad.text.contains("href=\"#child\""), "the error summary links to the field")
        XCTAssertTrue(bad.text.contains("id=\"child-error\""))
        let empty = try await page("/children?q=%20", jo)
        XCTAssertEqual(empty.status, 400)
        XCTAssertTrue(empty.text.contains("Enter part of the child"))
    }
}
