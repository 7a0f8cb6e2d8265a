import Foundation
import TestSupport
import XCTest
@testable import Vault

/// Guessing is slowed, never stopped for good: after the free failures every attempt waits,
/// the right answer included, until the wait (at most five minutes) runs out.
final class SignInBackOffTests: XCTestCase {
    var f: SignInFixture!

    override func setUp() async throws { f = try await SignInFixture() }
    override func tearDown() async throws { try await f.stop() }

    func testAfterThreeFailuresEvenTheRightFactorsWaitUntilRetryAfter() async throws {
        let jo = try await f.enrol("jo")
        f.clock.advance(30)
        for _ in 0..<3 {
            let wrong = try await f.signIn(name: "jo", passphrase: "not jo's passphrase at all", code: "000000")
            XCTAssertEqual(wrong.status, 401)
        }
        let right = try await f.signIn(name: "jo", passphrase: jo.passphrase, code: jo.app.code(at: f.clock.now))
        XCTAssertEqual(right.status, 429, right.text)
        XCTAssertEqual(right.problemType, "urn:strongroom:problem:slow-down")
        XCTAssertEqual(right.headers["retry-after"], "1")
        XCTAssertNil(right.headers["set-cookie"])
        f.clock.advance(1)
        let later = try await f.signIn(name: "jo", passphrase: jo.passphrase, code: jo.app.code(at: f.clock.now))
        XCTAssertEqual(later.status, 201, "the code was not spent by the refused attempt: \(later.text)")
    }

    func testTheWaitDoublesUpToFiveMinutesAndAlwaysRunsOut() async throws {
        let jo = try await f.enrol("jo")
        var waits: [Int] = []
        var failures = 0
        while failures < 12 {
            let reply = try await f.signIn(name: "jo", passphrase: "not jo's passphrase at all", code: "000000")
            if reply.status == 429 {
                let wait = try XCTUnwrap(reply.headers["retry-after"].flatMap(Int.init))
                waits.append(wait)
                f.clock.advance(TimeInterval(wait))
            } else {
                XCTAssertEqual(reply.status, 401)
                failures += 1
            }
        }
        XCTAssertEqual(waits, [1, 2, 4, 8, 16, 32, 64, 128, 256])
        let capped = try await f.signIn(name: "jo", passphrase: jo.passphrase, code: f.nextCode(jo))
        XCTAssertEqual(capped.status, 429)
        XCTAssertEqual(capped.headers["retry-after"].flatMap(Int.init), 300 - 30, "five minutes at most")
        f.clock.advance(300)
        let signedIn = try await f.signIn(name: "jo", passphrase: jo.passphrase, code: f.nextCode(jo))
        XCTAssertEqual(signedIn.status, 201, signedIn.text)
        // A success clears the name's count: the next mistake is free again.
        let slip = try await f.signIn(name: "jo", passphrase: "a slip of the finger", code: "000000")
        XCTAssertEqual(slip.status, 401)
    }

    func testOneAddressGuessingManyNamesIsSlowedForEveryName() async throws {
        let jo = try await f.enrol("jo")
        for i in 0..<20 {
            let wrong = try await f.signIn(name: "guess\(i)", passphrase: "violet anchor marble drift", code: "000000")
            XCTAssertEqual(wrong.status, 401, "guess \(i)")
        }
        let right = try await f.signIn(name: "jo", passphrase: jo.passphrase, code: f.nextCode(jo))
        XCTAssertEqual(right.status, 201, "30 s passed: the address's first wait (1 s) ran out")
        let wrong = try await f.signIn(name: "guess20", passphrase: "violet anchor marble drift", code: "000000")
        XCTAssertEqual(wrong.status, 401)
        let waiting = try await f.signIn(name: "jo", passphrase: jo.passphrase, code: jo.app.code(at: f.clock.now + 30))
        XCTAssertEqual(waiting.status, 429, "a name that never failed waits too: \(waiting.text)")
        XCTAssertEqual(waiting.headers["retry-after"], "2")
    }

    func testStepUpCodeGuessesAreSlowedLikeSignIn() async throws {
        let jo = try await f.enrol("jo")
        let session = try await f.signedIn(jo)
        for _ in 0..<3 {
            let wrong = try await f.call("POST", "/v1/session/step-up", session, json: ["code": "000000"])
            XCTAssertEqual(wrong.status, 401)
        }
        let right = try await f.call("POST", "/v1/session/step-up", session, json: ["code": jo.app.code(at: f.clock.now + 30)])
        XCTAssertEqual(right.status, 429, right.text)
        XCTAssertNotNil(right.headers["retry-after"])
    }

    func testFailedSignInsAreAuditedCoalescedNamingThePersonNotThePassphrase() async throws {
        let jo = try await f.enrol("jo")
        for _ in 0..<3 {
            _ = try await f.signIn(name: "jo", passphrase: "wrong passphrase here", code: "000000")
        }
        XCTAssertEqual(try f.refusalsCounted("sign-in-failed"), 3)
        let first = try XCTUnwrap(f.events("sign-in-failed").first)
        XCTAssertTrue(first.reason?.contains("jo#") ?? false, first.reason ?? "")
        XCTAssertFalse(f.events.contains { ($0.reason ?? "").contains("wrong passphrase here") })
        _ = jo
    }
}
