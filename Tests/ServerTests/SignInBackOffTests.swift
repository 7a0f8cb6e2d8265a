import Foundation
import SignIn
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

/// Behind a proxy the operator names, sign-in guesses and refusals count against the client
/// the proxy forwarded for, not the proxy; without that setting the header is never read.
final class ForwardedSignInTests: XCTestCase {
    var fixture: SignInFixture?

    override func tearDown() async throws { try await fixture?.stop() }

    func serve(trustedProxies: String?) async throws -> SignInFixture {
        let f = try await SignInFixture { $0.trustedProxies = trustedProxies }
        fixture = f
        return f
    }

    func failedSignIns(_ f: SignInFixture, _ n: Int, from address: String) async throws {
        for i in 0..<n {
            let wrong = try await f.signIn(name: "guess\(i)-\(address)", passphrase: "violet anchor marble drift", code: "000000",
                                           headers: ["Origin": SignInFixture.origin, "X-Forwarded-For": address])
            XCTAssertEqual(wrong.status, 401, "guess \(i)")
        }
    }

    func testBehindATrustedProxyOneClientsGuessesSlowThatClientAlone() async throws {
        let f = try await serve(trustedProxies: "127.0.0.1")
        let jo = try await f.enrol("jo")
        f.clock.advance(30)
        try await failedSignIns(f, 20, from: "203.0.113.5")
        let other = try await f.signIn(name: "jo", passphrase: jo.passphrase, code: jo.app.code(at: f.clock.now),
                                       headers: ["Origin": SignInFixture.origin, "X-Forwarded-For": "203.0.113.6"])
        XCTAssertEqual(other.status, 201, "another client behind the same proxy is not slowed: \(other.text)")
        let guesser = try await f.signIn(name: "jo", passphrase: jo.passphrase, code: jo.app.code(at: f.clock.now),
                                         headers: ["Origin": SignInFixture.origin, "X-Forwarded-For": "203.0.113.5"])
        XCTAssertEqual(guesser.status, 429, guesser.text)
        let reasons = f.server.events.filter { $0.action == "sign-in-failed" }.compactMap(\.reason)
        XCTAssertTrue(reasons.contains { $0.hasPrefix("from 203.0.113.5: ") }, "\(reasons)")
        XCTAssertFalse(reasons.contains { $0.hasPrefix("from 127.0.0.1") }, "\(reasons)")
        let metrics = try await f.server.request("GET", "/metrics", headers: ["X-Forwarded-For": "203.0.113.5"])
        XCTAssertEqual(metrics.status, 403, "a forwarded request is not this machine's")
    }

    func testFailedPasskeysFromOneClientDoNotSlowAnothersPasskey() async throws {
        let f = try await serve(trustedProxies: "127.0.0.1")
        var key = f.newAuthenticator()
        let handle = try await f.enrolledPasskey("jo", key)
        for i in 0..<6 {
            let forged = f.assertionBody(ceremony: String(repeating: "0", count: 32), credentialID: key.credentialID,
                                         key.assert(challenge: [UInt8](repeating: 9, count: 32)), userHandle: handle)
            let wrong = try await f.postJSON("/v1/session/passkey/finish", forged,
                                             headers: ["Origin": SignInFixture.origin, "X-Forwarded-For": "203.0.113.5"])
            XCTAssertEqual(wrong.status, 401, "failure \(i): \(wrong.text)")
        }
        let (ceremony, challenge) = try await f.beginPasskeySignIn()
        let answer = key.assert(challenge: challenge, authenticatorData: key.authenticatorData(flags: TestAuthenticator.upUV, signCount: key.signCount + 1))
        let signedIn = try await f.postJSON("/v1/session/passkey/finish", f.assertionBody(ceremony: ceremony, credentialID: key.credentialID, answer, userHandle: handle),
                                            headers: ["Origin": SignInFixture.origin, "X-Forwarded-For": "203.0.113.6"])
        XCTAssertEqual(signedIn.status, 201, "another client's failures are not this one's: \(signedIn.text)")
    }

    func testOneClientCannotBeginSoManyPasskeySignInsThatNobodyElseCan() async throws {
        let f = try await serve(trustedProxies: "127.0.0.1")
        var key = f.newAuthenticator()
        let handle = try await f.enrolledPasskey("sam", key)
        let session = try f.session(from: try await f.passkeySignIn(&key, userHandle: handle))
        let flood = ["Origin": SignInFixture.origin, "X-Forwarded-For": "198.51.100.7"]
        for i in 0..<20 {
            let begun = try await f.postJSON("/v1/session/passkey/begin", [:], headers: flood)
            XCTAssertEqual(begun.status, 200, "ceremony \(i): \(begun.text)")
        }
        let refused = try await f.postJSON("/v1/session/passkey/begin", [:], headers: flood)
        XCTAssertEqual(refused.status, 503, refused.text)
        let other = try await f.postJSON("/v1/session/passkey/begin", [:],
                                         headers: ["Origin": SignInFixture.origin, "X-Forwarded-For": "203.0.113.6"])
        XCTAssertEqual(other.status, 200, "another client still can: \(other.text)")
        let stepUp = try await f.call("POST", "/v1/session/step-up/passkey/begin", session, json: [:])
        XCTAssertEqual(stepUp.status, 200, "a session's ceremony has its own room: \(stepUp.text)")
    }

    func testOthersWrongPassphrasesForANameNeverStopItsPasskeyStepUp() async throws {
        let f = try await serve(trustedProxies: "127.0.0.1")
        var key = f.newAuthenticator()
        let handle = try await f.enrolledPasskey("sam", key)
        let session = try f.session(from: try await f.passkeySignIn(&key, userHandle: handle))
        for _ in 0..<6 {
            _ = try await f.signIn(name: "sam", passphrase: "a guess at sam's passphrase", code: "000000",
                                   headers: ["Origin": SignInFixture.origin, "X-Forwarded-For": "198.51.100.7"])
        }
        let begin = try await f.call("POST", "/v1/session/step-up/passkey/begin", session, json: [:])
        let challenge = try Base64URL.decode(try XCTUnwrap((begin.object["publicKey"] as? [String: Any])?["challenge"] as? String))
        key.signCount += 1
        let answer = key.assert(challenge: challenge, authenticatorData: key.authenticatorData(flags: TestAuthenticator.upUV, signCount: key.signCount))
        let confirmed = try await f.call("POST", "/v1/session/step-up/passkey/finish", session, json: f.assertionBody(
            ceremony: "", credentialID: key.credentialID, answer, userHandle: handle))
        XCTAssertEqual(confirmed.status, 200, "sam's own passkey still works: \(confirmed.text)")
    }

    func testATrustedProxysOwnRequestWithoutTheHeaderIsItsOwn() async throws {
        let f = try await serve(trustedProxies: "127.0.0.1")
        let metrics = try await f.server.request("GET", "/metrics")
        XCTAssertEqual(metrics.status, 200, "a scraper on the proxy's machine, on a loopback listener")
    }

    func testWithoutTheSettingTheHeaderIsNeverRead() async throws {
        let f = try await serve(trustedProxies: nil)
        try await failedSignIns(f, 1, from: "203.0.113.5")
        let reasons = f.server.events.filter { $0.action == "sign-in-failed" }.compactMap(\.reason)
        XCTAssertTrue(reasons.contains { $0.hasPrefix("from 127.0.0.1: ") }, "\(reasons)")
        XCTAssertFalse(reasons.contains { $0.contains("203.0.113.5") }, "\(reasons)")
    }
}
