import Foundation
import TestSupport
import XCTest
@testable import Vault

/// Acts that matter ask for a second factor given in the last five minutes: past that window
/// they answer 403 step-up-required until the person confirms with a code, and a wrong or
/// replayed code confirms nothing.
final class StepUpRouteTests: XCTestCase {
    var f: SignInFixture!
    var jo: EnrolledPerson!
    var session: BrowserSession!

    override func setUp() async throws {
        f = try await SignInFixture()
        jo = try await f.enrol("jo")
        session = try await f.signedIn(jo)
    }

    override func tearDown() async throws { try await f.stop() }

    func stepUpUntil(_ reply: HTTPReply) throws -> Date {
        try XCTUnwrap(ISO8601DateFormatter().date(from: try XCTUnwrap(reply.object["stepUpUntil"] as? String)))
    }

    func testStepUpWithACodeMovesTheWindowToNow() async throws {
        f.clock.advance(10 * 60)
        let before = try stepUpUntil(try await f.whoAmI(session))
        XCTAssertLessThan(before, f.clock.now, "the sign-in's factor is older than the window")
        let code = f.nextCode(jo)
        let reply = try await f.call("POST", "/v1/session/step-up", session, json: ["code": code])
        XCTAssertEqual(reply.status, 200, reply.text)
        XCTAssertEqual(try stepUpUntil(reply), f.clock.now.addingTimeInterval(300))
        let me = try await f.whoAmI(session)
        XCTAssertEqual(try stepUpUntil(me), f.clock.now.addingTimeInterval(300))
        XCTAssertEqual(f.events("step-up").filter { $0.outcome == "ok" }.count, 1)
    }

    func testAWrongOrReplayedStepUpCodeLeavesTheWindowWhereItWas() async throws {
        f.clock.advance(10 * 60)
        let before = try stepUpUntil(try await f.whoAmI(session))
        let code = f.nextCode(jo)
        let wrong = String(format: "%06d", (Int(code)! + 1) % 1_000_000)
        let refused = try await f.call("POST", "/v1/session/step-up", session, json: ["code": wrong])
        XCTAssertEqual(refused.status, 401)
        let ok = try await f.call("POST", "/v1/session/step-up", session, json: ["code": code])
        XCTAssertEqual(ok.status, 200)
        f.clock.advance(10 * 60)
        let replayed = try await f.call("POST", "/v1/session/step-up", session, json: ["code": code])
        XCTAssertEqual(replayed.status, 401)
        let me = try await f.whoAmI(session)
        XCTAssertLessThan(try stepUpUntil(me), f.clock.now)
        XCTAssertGreaterThan(try stepUpUntil(me), before)
    }

    func testARecoveryCodeConfirmsOnce() async throws {
        f.clock.advance(10 * 60)
        let first = try await f.call("POST", "/v1/session/step-up", session, json: ["recoveryCode": jo.recoveryCodes[0]])
        XCTAssertEqual(first.status, 200, first.text)
        let again = try await f.call("POST", "/v1/session/step-up", session, json: ["recoveryCode": jo.recoveryCodes[0]])
        XCTAssertEqual(again.status, 401)
    }

    func testDownloadingEvidencePastTheWindowAsksForStepUpThenWorks() async throws {
        let upload = try await f.server.request(
            "POST", CSRFRouteTests.uploadPath, headers: session.stateChange.merging(["Content-Type": "text/plain"]) { $1 },
            body: Array("what the child said".utf8))
        XCTAssertEqual(upload.status, 201, upload.text)
        let id = try XCTUnwrap(upload.object["id"] as? String)
        let fresh = try await f.call("GET", "/v1/attachments/\(id)", session)
        XCTAssertEqual(fresh.status, 200, "within five minutes of signing in")

        f.clock.advance(5 * 60 + 1)
        let stale = try await f.call("GET", "/v1/attachments/\(id)", session)
        XCTAssertEqual(stale.status, 403, stale.text)
        XCTAssertEqual(stale.problemType, "urn:strongroom:problem:step-up-required")
        XCTAssertFalse(stale.text.contains("what the child said"))
        XCTAssertEqual(f.events("step-up").filter { $0.outcome == "refused" }.count, 1)

        let stepUp = try await f.call("POST", "/v1/session/step-up", session, json: ["code": f.nextCode(jo)])
        XCTAssertEqual(stepUp.status, 200, stepUp.text)
        let confirmed = try await f.call("GET", "/v1/attachments/\(id)", session)
        XCTAssertEqual(confirmed.status, 200, confirmed.text)
        XCTAssertEqual(confirmed.text, "what the child said")
    }

    func testAnIntegrationIsNeverAskedToStepUp() async throws {
        try f.server.addUser("feed", .dsl)
        let up = try await f.server.upload(Array("from the MIS".utf8), user: "feed", type: "text/plain", kind: "disclosure")
        let id = try XCTUnwrap(up.object["id"] as? String)
        f.clock.advance(3600)
        let reply = try await f.server.request("GET", "/v1/attachments/\(id)", user: "feed")
        XCTAssertEqual(reply.status, 200, reply.text)
    }
}
