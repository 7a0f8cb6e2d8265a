import Foundation
import TestSupport
import XCTest
@testable import Vault

/// The people routes over HTTP: an administrator's request to make someone a DSL waits for a
/// second person; the link answers "waiting" until then; no one approves their own request;
/// every change needs a recent second factor; recipients can be removed; and /v1/waiting counts
/// what waits for each role.
final class PeopleRouteTests: XCTestCase {
    var f: SignInFixture!

    override func setUp() async throws { f = try await SignInFixture() }
    override func tearDown() async throws { try await f.stop() }

    private func addDSL(by admin: BrowserSession, name: String = "newdsl") async throws -> (account: String, token: String) {
        let reply = try await f.call("POST", "/v1/people", admin, json: ["name": name, "role": "dsl", "schools": ["S1"]])
        XCTAssertEqual(reply.status, 201, reply.text)
        XCTAssertEqual(reply.headers["cache-control"], "no-store")
        XCTAssertEqual(reply.object["waitsForApproval"] as? Bool, true)
        let path = try XCTUnwrap(reply.object["enrolmentPath"] as? String)
        return (try XCTUnwrap(reply.object["account"] as? String), String(path.dropFirst("/enrol/".count)))
    }

    func testADSLsLinkWaitsForASecondPersonThenEnrols() async throws {
        let admin = try await f.signedIn(try await f.enrol("ada", .admin))
        let (account, token) = try await addDSL(by: admin)

        let waiting = try await f.server.request("GET", "/v1/enrolment/\(token)")
        XCTAssertEqual(waiting.status, 409, waiting.text)
        XCTAssertEqual(waiting.problemType, "urn:strongroom:problem:enrolment-waiting")
        let page = try await f.server.request("GET", "/enrol/\(token)")
        XCTAssertEqual(page.status, 409)
        XCTAssertTrue(page.text.contains("Waiting for approval"), page.text)

        let dsl = try await f.signedIn(try await f.enrol("dina", .dsl))
        let counts = try await f.call("GET", "/v1/waiting", dsl)
        XCTAssertEqual(counts.object["peopleToApprove"] as? Int, 1, counts.text)
        let listed = try await f.call("GET", "/v1/people/approvals", dsl)
        XCTAssertEqual((listed.json as? [[String: Any]])?.map { $0["name"] as? String }, ["newdsl"])

        let approved = try await f.call("POST", "/v1/people/\(account)/approve", dsl)
        XCTAssertEqual(approved.status, 204, approved.text)
        let usable = try await f.server.request("GET", "/v1/enrolment/\(token)")
        XCTAssertEqual(usable.status, 200, usable.text)
        let r1 = try await f.call("GET", "/v1/waiting", dsl)
        XCTAssertEqual(r1.object["peopleToApprove"] as? Int, 0)
    }

    func testTheAdministratorWhoAskedCannotApproveAndTheLinkStaysShut() async throws {
        let admin = try await f.signedIn(try await f.enrol("ada", .admin))
        let (account, token) = try await addDSL(by: admin)
        let refused = try await f.call("POST", "/v1/people/\(account)/approve", admin)
        XCTAssertEqual(refused.status, 403, refused.text)
        let r2 = try await f.server.request("GET", "/v1/enrolment/\(token)")
        XCTAssertEqual(r2.status, 409)
        XCTAssertEqual(f.events("user-approve").last?.outcome, "denied")
    }

    func testADeclinedRequestRevokesThePerson() async throws {
        let admin = try await f.signedIn(try await f.enrol("ada", .admin))
        let (account, token) = try await addDSL(by: admin)
        let dsl = try await f.signedIn(try await f.enrol("dina", .dsl))
        let declined = try await f.call("POST", "/v1/people/\(account)/decline", dsl)
        XCTAssertEqual(declined.status, 204, declined.text)
        let r3 = try await f.server.request("GET", "/v1/enrolment/\(token)")
        XCTAssertEqual(r3.status, 404)
        let people = try await f.call("GET", "/v1/people", admin)
        let row = (people.json as? [[String: Any]])?.first { $0["name"] as? String == "newdsl" }
        XCTAssertEqual(row?["state"] as? String, "declined")
    }

    func testAddingApprovingAndRevokingAskForARecentSecondFactor() async throws {
        let adaPerson = try await f.enrol("ada", .admin)
        let admin = try await f.signedIn(adaPerson)
        let (account, _) = try await addDSL(by: admin)
        let dina = try await f.enrol("dina", .dsl)
        let dsl = try await f.signedIn(dina)
        f.clock.advance(10 * 60)
        for (session, method, path, body) in [
            (admin, "POST", "/v1/people", ["name": "sam", "role": "staff", "schools": ["S1"]] as [String: Any]?),
            (dsl, "POST", "/v1/people/\(account)/approve", nil),
            (admin, "DELETE", "/v1/people/\(account)", nil),
        ] {
            let reply = try await f.call(method, path, session, json: body)
            XCTAssertEqual(reply.status, 403, "\(method) \(path): \(reply.text)")
            XCTAssertEqual(reply.problemType, "urn:strongroom:problem:step-up-required", path)
        }
        let stepped = try await f.call("POST", "/v1/session/step-up", dsl, json: ["code": f.nextCode(dina)])
        XCTAssertEqual(stepped.status, 200, stepped.text)
        let r4 = try await f.call("POST", "/v1/people/\(account)/approve", dsl)
        XCTAssertEqual(r4.status, 204)
    }

    func testAnAdministratorRevokesOthersButNotThemselves() async throws {
        let admin = try await f.signedIn(try await f.enrol("ada", .admin))
        let people = try await f.call("GET", "/v1/people", admin)
        let me = try XCTUnwrap(people.json as? [[String: Any]])
        let own = try XCTUnwrap(me.first { $0["name"] as? String == "ada" }?["account"] as? String)
        let r5 = try await f.call("DELETE", "/v1/people/\(own)", admin)
        XCTAssertEqual(r5.status, 403)

        let staff = try await f.call("POST", "/v1/people", admin, json: ["name": "sam", "role": "staff", "schools": ["S1"]])
        XCTAssertEqual(staff.object["waitsForApproval"] as? Bool, false, staff.text)
        let account = try XCTUnwrap(staff.object["account"] as? String)
        let r6 = try await f.call("DELETE", "/v1/people/\(account)", admin)
        XCTAssertEqual(r6.status, 204)
        XCTAssertEqual(f.events("user-revoke").last?.outcome, "ok")
    }

    func testOnlyAdministratorsSignedInManagePeople() async throws {
        let dsl = try await f.signedIn(try await f.enrol("dina", .dsl))
        let r7 = try await f.call("GET", "/v1/people", dsl)
        XCTAssertEqual(r7.status, 403)
        let r8 = try await f.call("POST", "/v1/people", dsl, json: ["name": "x", "role": "staff", "schools": ["S1"]])
        XCTAssertEqual(r8.status, 403)
        try f.server.addUser("robot", .admin)
        let integration = try await f.server.json("POST", "/v1/people", user: "robot", ["name": "x", "role": "staff", "schools": ["S1"]])
        XCTAssertEqual(integration.status, 403, integration.text)
    }

    func testRecipientsAreRemovedByTheSchoolsDSLs() async throws {
        let dsl = try await f.signedIn(try await f.enrol("dina", .dsl))
        let added = try await f.call("POST", "/v1/recipients", dsl, json: ["school": "S1", "name": "Children's Social Care", "passphrase": true])
        XCTAssertEqual(added.status, 201, added.text)
        let path = "/v1/recipients?school=S1&name=Children%27s%20Social%20Care"
        let r9 = try await f.call("DELETE", path, dsl)
        XCTAssertEqual(r9.status, 204)
        let r10 = try await f.call("DELETE", path, dsl)
        XCTAssertEqual(r10.status, 404)
        let r11 = try await f.call("GET", "/v1/recipients?school=S1", dsl)
        XCTAssertEqual((r11.json as? [Any])?.count, 0)
        let staff = try await f.signedIn(try await f.enrol("sam", .staff))
        let r12 = try await f.call("DELETE", path, staff)
        XCTAssertEqual(r12.status, 403)
    }

    func testWaitingCountsAreZeroForStaff() async throws {
        let admin = try await f.signedIn(try await f.enrol("ada", .admin))
        _ = try await addDSL(by: admin)
        let staff = try await f.signedIn(try await f.enrol("sam", .staff))
        let counts = try await f.call("GET", "/v1/waiting", staff)
        XCTAssertEqual(counts.status, 200)
        XCTAssertEqual(counts.object["total"] as? Int, 0, counts.text)
    }

    func testPollingWhatWaitsDoesNotKeepAnUnattendedSessionAlive() async throws {
        var policy = SessionPolicy()
        policy.idleTimeout = 120
        let idle = try await SignInFixture(policy: policy)
        let session = try await idle.signedIn(try await idle.enrol("dina", .dsl))
        idle.clock.advance(100)
        let poll = try await idle.call("GET", "/v1/waiting", session)
        XCTAssertEqual(poll.status, 200, poll.text)
        idle.clock.advance(30)
        let after = try await idle.whoAmI(session)
        XCTAssertEqual(after.status, 401, "the poll counted as use: \(after.text)")
        try await idle.stop()
    }
}
