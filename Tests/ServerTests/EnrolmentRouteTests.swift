import Foundation
import TestSupport
import XCTest
@testable import Vault

/// Enrolment over HTTP: the JSON a browser exchanges, a link that works once and for 72 hours,
/// passphrase rules that say what is wrong, and a code that must come from the app.
final class EnrolmentRouteTests: XCTestCase {
    var f: SignInFixture!

    override func setUp() async throws { f = try await SignInFixture() }
    override func tearDown() async throws { try await f.stop() }

    func testEnrolmentAnswersTheSecretThenTenRecoveryCodes() async throws {
        let token = try f.addPerson("jo")
        let shown = try await f.server.request("GET", "/v1/enrolment/\(token)")
        XCTAssertEqual(shown.status, 200, shown.text)
        XCTAssertEqual(shown.object["name"] as? String, "jo")
        XCTAssertEqual(shown.object["role"] as? String, "dsl")

        let set = try await f.postJSON("/v1/enrolment/\(token)/passphrase", ["passphrase": f.newPassphrase()])
        XCTAssertEqual(set.status, 200, set.text)
        let secret = try XCTUnwrap(set.object["totpSecret"] as? String)
        let uri = try XCTUnwrap(set.object["otpauthUri"] as? String)
        XCTAssertEqual(secret.count, 32, "20 bytes in base32 without padding")
        XCTAssertTrue(uri.hasPrefix("otpauth://totp/Strongroom:jo?secret=\(secret)&issuer=Strongroom"), uri)

        let app = try TestAuthenticatorApp(base32: secret)
        let confirmed = try await f.postJSON("/v1/enrolment/\(token)/totp", ["code": app.code(at: f.clock.now)])
        XCTAssertEqual(confirmed.status, 200, confirmed.text)
        let codes = try XCTUnwrap(confirmed.object["recoveryCodes"] as? [String])
        XCTAssertEqual(codes.count, 10)
        XCTAssertEqual(Set(codes).count, 10)
        for code in codes { XCTAssertNotNil(code.wholeMatch(of: /[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}/), code) }
        XCTAssertEqual(f.events("enrol").filter { $0.outcome == "ok" }.count, 1)
    }

    func testACompletedLinkCannotBeUsedAgain() async throws {
        let person = try await f.enrol("jo")
        let token = person.enrolmentToken
        let again = try await f.postJSON("/v1/enrolment/\(token)/passphrase", ["passphrase": "an attacker's own passphrase"])
        XCTAssertEqual(again.status, 404, again.text)
        XCTAssertEqual(again.problemType, "urn:strongroom:problem:enrolment-unusable")
        let code = try await f.postJSON("/v1/enrolment/\(token)/totp", ["code": person.app.code(at: f.clock.now)])
        XCTAssertEqual(code.status, 404)
        let passkey = try await f.postJSON("/v1/enrolment/\(token)/passkey/begin", [:])
        XCTAssertEqual(passkey.status, 404)
        let shown = try await f.server.request("GET", "/v1/enrolment/\(token)")
        XCTAssertEqual(shown.status, 404)
        // The person's own factors still work: nothing was replaced.
        _ = try await f.signedIn(person)
    }

    func testALinkExpiresAfter72Hours() async throws {
        let token = try f.addPerson("jo")
        f.clock.advance(72 * 3600 - 60)
        let inTime = try await f.server.request("GET", "/v1/enrolment/\(token)")
        XCTAssertEqual(inTime.status, 200)
        f.clock.advance(61)
        let late = try await f.postJSON("/v1/enrolment/\(token)/passphrase", ["passphrase": f.newPassphrase()])
        XCTAssertEqual(late.status, 404, late.text)
        XCTAssertEqual(late.problemType, "urn:strongroom:problem:enrolment-unusable")
    }

    func testALinkThatExpiresBetweenPassphraseAndCodeEnrolsNobody() async throws {
        let token = try f.addPerson("jo")
        f.clock.advance(72 * 3600 - 60)
        let set = try await f.postJSON("/v1/enrolment/\(token)/passphrase", ["passphrase": "violet anchor marble drift"])
        XCTAssertEqual(set.status, 200, set.text)
        let app = try TestAuthenticatorApp(base32: try XCTUnwrap(set.object["totpSecret"] as? String))
        f.clock.advance(90)
        let confirmed = try await f.postJSON("/v1/enrolment/\(token)/totp", ["code": app.code(at: f.clock.now)])
        XCTAssertEqual(confirmed.status, 404, confirmed.text)
        let signIn = try await f.signIn(name: "jo", passphrase: "violet anchor marble drift", code: app.code(at: f.clock.now + 30))
        XCTAssertEqual(signIn.status, 401)
    }

    func testPassphrasesThatBreakARuleAreRefusedSayingWhich() async throws {
        let token = try f.addPerson("morgan")
        let cases: [(String, String)] = [
            ("short words", "at least 12 characters"),
            ("I am MorGan from the office", "must not contain your user name"),
            ("Password123!Password123!", "most common passwords"),
            ("qwertyuiop 2024", "most common passwords"),
            (String(repeating: "violet anchor ", count: 19), "at most 256 characters"),
        ]
        for (passphrase, expected) in cases {
            let reply = try await f.postJSON("/v1/enrolment/\(token)/passphrase", ["passphrase": passphrase])
            XCTAssertEqual(reply.status, 400, passphrase)
            XCTAssertEqual(reply.problemType, "urn:strongroom:problem:weak-passphrase", passphrase)
            let detail = try XCTUnwrap(reply.detail)
            XCTAssertTrue(detail.contains(expected), "\(detail) for \(passphrase.prefix(20))")
            XCTAssertFalse(detail.contains(passphrase), "the refusal echoes the passphrase")
        }
        // None of them was kept: the link is still waiting for a passphrase.
        let code = try await f.postJSON("/v1/enrolment/\(token)/totp", ["code": "123456"])
        XCTAssertEqual(code.status, 400)
        XCTAssertEqual(code.detail, "set a passphrase first")
    }

    func testAWrongCodeAtEnrolmentEnrolsNobodyAndTheRightOneStillWorks() async throws {
        let token = try f.addPerson("jo")
        let passphrase = f.newPassphrase()
        let set = try await f.postJSON("/v1/enrolment/\(token)/passphrase", ["passphrase": passphrase])
        let app = try TestAuthenticatorApp(base32: try XCTUnwrap(set.object["totpSecret"] as? String))
        let right = app.code(at: f.clock.now)
        let wrong = String(format: "%06d", (Int(right)! + 1) % 1_000_000)
        for code in [wrong, "", "12345", "1234567", " \(right)", "\(right.prefix(3)) \(right.dropFirst(3))"] {
            let reply = try await f.postJSON("/v1/enrolment/\(token)/totp", ["code": code])
            XCTAssertEqual(reply.status, 400, "code \(code)")
            XCTAssertEqual(reply.problemType, "urn:strongroom:problem:wrong-code")
        }
        XCTAssertEqual(try f.vault.catalog.factors(account: try account("jo")).count, 0)
        let signIn = try await f.signIn(name: "jo", passphrase: passphrase, code: app.code(at: f.clock.now))
        XCTAssertEqual(signIn.status, 401, "no factor exists until the code is confirmed")
        let confirmed = try await f.postJSON("/v1/enrolment/\(token)/totp", ["code": right])
        XCTAssertEqual(confirmed.status, 200, confirmed.text)
    }

    func testEnrolmentFromAnotherSitesPageIsRefused() async throws {
        let token = try f.addPerson("jo")
        let reply = try await f.postJSON("/v1/enrolment/\(token)/passphrase", ["passphrase": f.newPassphrase()],
                                         headers: ["Origin": SignInFixture.otherSite])
        XCTAssertEqual(reply.status, 403)
        XCTAssertEqual(reply.problemType, "urn:strongroom:problem:csrf")
        XCTAssertNil(try f.vault.catalog.enrolment(tokenHash: Vault.tokenHash(token))?.pendingPassphrase)
    }

    func account(_ name: String) throws -> String {
        try XCTUnwrap(try f.vault.catalog.users().first { $0.name == name }?.id)
    }
}
