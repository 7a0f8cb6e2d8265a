import Foundation
import TestSupport
import XCTest
@testable import Vault

/// The console's people, recipients and "Waiting for you" pages: who may open each, what they
/// show, and that the add form is checked before anything is done.
final class PeoplePagesTests: XCTestCase {
    var f: SignInFixture!

    override func setUp() async throws { f = try await SignInFixture() }
    override func tearDown() async throws { try await f.stop() }

    private func page(_ path: String, _ session: BrowserSession) async throws -> HTTPReply {
        try await f.server.request("GET", path, headers: session.cookie)
    }

    private func assertStatus(_ path: String, _ session: BrowserSession, _ status: Int, line: UInt = #line) async throws {
        let reply = try await page(path, session)
        XCTAssertEqual(reply.status, status, "\(path): \(reply.text)", line: line)
    }

    func testThePeoplePageIsForAdministratorsAndListsTheirSchoolsPeople() async throws {
        let admin = try await f.signedIn(try await f.enrol("ada", .admin))
        _ = try f.addPerson("sam", .staff)
        _ = try f.addPerson("far", .staff, schools: ["S2"])
        let people = try await page("/people", admin)
        XCTAssertEqual(people.status, 200, people.text)
        XCTAssertTrue(people.text.contains("sam"))
        XCTAssertTrue(people.text.contains("Link not used yet"))
        XCTAssertFalse(people.text.contains("far"), "a person of another school is not listed")
        XCTAssertTrue(people.text.contains("aria-current=\"page\">People"))

        let dsl = try await f.signedIn(try await f.enrol("dina", .dsl))
        try await assertStatus("/people", dsl, 403)
        let anonymous = try await f.server.request("GET", "/people")
        XCTAssertEqual(anonymous.status, 303)
        XCTAssertEqual(anonymous.headers["location"], "/sign-in?next=/people")
    }

    func testTheAddFormIsCheckedBeforeAnythingIsDone() async throws {
        let admin = try await f.signedIn(try await f.enrol("ada", .admin))
        let empty = try await page("/people/add/check", admin)
        XCTAssertEqual(empty.status, 400)
        XCTAssertTrue(empty.text.contains("Enter the person&#39;s user name"), empty.text)
        XCTAssertTrue(empty.text.contains("Choose the person&#39;s role"))
        let otherSchool = try await page("/people/add/check?name=sam&role=staff&school=S2", admin)
        XCTAssertEqual(otherSchool.status, 400)
        XCTAssertTrue(otherSchool.text.contains("Choose only schools you administer"))

        let badEmail = try await page("/people/add/check?name=sam&role=staff&school=S1&email=sam%40school.example%0D%0ABcc%3Ax", admin)
        XCTAssertEqual(badEmail.status, 400)
        XCTAssertTrue(badEmail.text.contains("Enter an email address like"), badEmail.text)

        let check = try await page("/people/add/check?name=newdsl&role=dsl&school=S1", admin)
        XCTAssertEqual(check.status, 200, check.text)
        XCTAssertTrue(check.text.contains("data-name=\"newdsl\" data-role=\"dsl\" data-schools=\"S1\" data-email=\"\""), check.text)
        XCTAssertTrue(check.text.contains("approves"), "a DSL's link waits: the page says so")
        XCTAssertFalse(try f.vault.users.list(by: .operator("t")).contains { $0.name == "newdsl" }, "checking adds nobody")
    }

    func testApprovalsShowWhoAskedAndTheAskerCannotOpenTheDecision() async throws {
        let admin = try await f.signedIn(try await f.enrol("ada", .admin))
        let added = try await f.call("POST", "/v1/people", admin, json: ["name": "newdsl", "role": "dsl", "schools": ["S1"]])
        let account = try XCTUnwrap(added.object["account"] as? String)
        let own = try await page("/people/approvals", admin)
        XCTAssertTrue(own.text.contains("You asked: someone else decides"), own.text)
        try await assertStatus("/people/approvals/\(account)", admin, 403)

        let dsl = try await f.signedIn(try await f.enrol("dina", .dsl))
        let list = try await page("/people/approvals", dsl)
        XCTAssertTrue(list.text.contains("href=\"/people/approvals/\(account)\""), list.text)
        let decision = try await page("/people/approvals/\(account)", dsl)
        XCTAssertEqual(decision.status, 200)
        XCTAssertTrue(decision.text.contains("ada"), "names who asked")
        let staff = try await f.signedIn(try await f.enrol("sam", .staff))
        try await assertStatus("/people/approvals", staff, 403)
    }

    func testTheRecipientsPageListsTheSchoolsAgenciesForDSLsOnly() async throws {
        let dsl = try await f.signedIn(try await f.enrol("dina", .dsl))
        _ = try await f.call("POST", "/v1/recipients", dsl, json: ["school": "S1", "name": "Children's Social Care", "passphrase": true])
        let list = try await page("/recipients", dsl)
        XCTAssertEqual(list.status, 200, list.text)
        XCTAssertTrue(list.text.contains("Children&#39;s Social Care"))
        XCTAssertTrue(list.text.contains("/recipients/remove?school=S1&amp;name=Children%27s%20Social%20Care"), list.text)
        let remove = try await page("/recipients/remove?school=S1&name=Children%27s%20Social%20Care", dsl)
        XCTAssertEqual(remove.status, 200, remove.text)
        try await assertStatus("/recipients?school=S2", dsl, 404)
        let staff = try await f.signedIn(try await f.enrol("sam", .staff))
        try await assertStatus("/recipients", staff, 403)
    }

    func testTheWaitingPageCountsWhatWaitsForThePersonsRole() async throws {
        let admin = try await f.signedIn(try await f.enrol("ada", .admin))
        _ = try await f.call("POST", "/v1/people", admin, json: ["name": "newdsl", "role": "dsl", "schools": ["S1"]])
        let dsl = try await f.signedIn(try await f.enrol("dina", .dsl))
        let waiting = try await page("/waiting", dsl)
        XCTAssertEqual(waiting.status, 200)
        XCTAssertTrue(waiting.text.contains("id=\"waiting-people\">1<"), waiting.text)
        XCTAssertTrue(waiting.text.contains("href=\"/bundles/queue\""))
        XCTAssertTrue(waiting.text.contains("href=\"/retention/requests\""))
        XCTAssertTrue(waiting.text.contains("/assets/waiting-count.js"), "the header's count refreshes on every signed-in page")
        let staff = try await f.signedIn(try await f.enrol("sam", .staff))
        let nothing = try await page("/waiting", staff)
        XCTAssertTrue(nothing.text.contains("Nothing waits for you"))
    }
}
