import Foundation
import GRDB
import SignIn
import TestSupport
import XCTest
@testable import Vault

/// Someone who can write the SQLite file but holds no master key edits sign-in rows: moves a
/// passkey, a passphrase, an authenticator or a session onto another account, or changes a
/// signed time. The vault's signature over each row no longer verifies, so nothing is granted.
final class SignInRowTamperTests: XCTestCase {
    var f: SignInFixture!

    override func setUp() async throws { f = try await SignInFixture() }
    override func tearDown() async throws { try await f.stop() }

    func tamper(_ sql: String, _ arguments: [(any DatabaseValueConvertible)?] = []) throws {
        XCTAssertGreaterThan(try f.server.store.tamper(sql, arguments), 0, "the edit changed no row: \(sql)")
    }

    func account(_ name: String) throws -> String {
        try XCTUnwrap(try f.vault.catalog.users().first { $0.name == name }?.id)
    }

    func testAPasskeyMovedToAnotherAccountSignsNobodyIn() async throws {
        var attackerKey = f.newAuthenticator()
        _ = try await f.enrolledPasskey("eve", attackerKey)
        _ = try await f.enrolledPasskey("jo", f.newAuthenticator())
        let jo = try account("jo")
        try tamper("UPDATE sign_in_factors SET account = ? WHERE credential_id = ?", [jo, Data(attackerKey.credentialID)])
        let asJo = try await f.passkeySignIn(&attackerKey, userHandle: Array(jo.utf8))
        XCTAssertEqual(asJo.status, 401, asJo.text)
        let noHandle = try await f.passkeySignIn(&attackerKey, userHandle: nil)
        XCTAssertEqual(noHandle.status, 401, noHandle.text)
        XCTAssertEqual(f.events("sign-in").count, 0)
    }

    func testAPassphraseAndAuthenticatorMovedToAnotherAccountSignNobodyIn() async throws {
        let eve = try await f.enrol("eve", .staff)
        _ = try await f.enrol("jo")
        let (eveID, joID) = (try account("eve"), try account("jo"))
        try tamper("DELETE FROM sign_in_factors WHERE account = ? AND kind IN ('passphrase', 'totp')", [joID])
        try tamper("UPDATE sign_in_factors SET account = ? WHERE account = ? AND kind IN ('passphrase', 'totp')", [joID, eveID])
        let reply = try await f.signIn(name: "jo", passphrase: eve.passphrase, code: f.nextCode(eve))
        XCTAssertEqual(reply.status, 401, reply.text)
    }

    func testAPassphraseHashCopiedOntoAnotherAccountDoesNotSignIn() async throws {
        let eve = try await f.enrol("eve", .staff)
        let jo = try await f.enrol("jo")
        let (eveID, joID) = (try account("eve"), try account("jo"))
        try tamper("""
            UPDATE sign_in_factors SET secret = (SELECT secret FROM sign_in_factors WHERE account = ? AND kind = 'passphrase')
            WHERE account = ? AND kind = 'passphrase'
            """, [eveID, joID])
        let reply = try await f.signIn(name: "jo", passphrase: eve.passphrase, code: f.nextCode(jo))
        XCTAssertEqual(reply.status, 401, "eve knows jo's code (shoulder) and planted her own passphrase: \(reply.text)")
    }

    func testASessionMovedToAnotherPersonIsDead() async throws {
        let eve = try await f.enrol("eve", .staff)
        _ = try await f.enrol("jo")
        let session = try await f.signedIn(eve)
        try tamper("UPDATE sessions SET account = ? WHERE account = ?", [try account("jo"), try account("eve")])
        let me = try await f.whoAmI(session)
        XCTAssertEqual(me.status, 401, me.text)
        XCTAssertNil(me.object["name"])
    }

    func testASessionWhoseStepUpTimeWasMovedIsDead() async throws {
        let jo = try await f.enrol("jo")
        let session = try await f.signedIn(jo)
        f.clock.advance(10 * 60)
        try tamper("UPDATE sessions SET factor_at_ms = ?", [Int64(f.clock.now.timeIntervalSince1970 * 1000)])
        let me = try await f.whoAmI(session)
        XCTAssertEqual(me.status, 401, me.text)
    }

    func testASessionRowWrittenByHandSignsNobodyIn() async throws {
        let jo = try await f.enrol("jo")
        let real = try await f.signedIn(jo)
        let planted = Base64URL.encode(randomBytes(32))
        try tamper("""
            INSERT INTO sessions (id_hash, account, created_at_ms, factor_at_ms, last_seen_at_ms, browser, address, signature)
            SELECT ?, account, created_at_ms, factor_at_ms, last_seen_at_ms, browser, address, signature FROM sessions
            """, [Vault.tokenHash(planted)])
        let me = try await f.whoAmI(BrowserSession(token: planted, csrfToken: Vault.csrfToken(forSession: planted)))
        XCTAssertEqual(me.status, 401, "a copy of a real row's signature under another hash")
        let realNow = try await f.whoAmI(real)
        XCTAssertEqual(realNow.status, 200)
    }

    func testAnExpiredLinkWhoseExpiryWasExtendedStaysUnusable() async throws {
        let token = try f.addPerson("jo")
        f.clock.advance(73 * 3600)
        try tamper("UPDATE enrolments SET expires_at_ms = ?", [Int64(f.clock.now.timeIntervalSince1970 * 1000) + 3_600_000])
        let reply = try await f.postJSON("/v1/enrolment/\(token)/passphrase", ["passphrase": f.newPassphrase()])
        XCTAssertEqual(reply.status, 404, reply.text)
    }

    func testALinkMovedToAnotherAccountEnrolsNobody() async throws {
        let token = try f.addPerson("eve", .staff)
        _ = try await f.enrol("jo")
        try tamper("UPDATE enrolments SET account = ? WHERE used_at_ms IS NULL", [try account("jo")])
        let reply = try await f.postJSON("/v1/enrolment/\(token)/passphrase", ["passphrase": f.newPassphrase()])
        XCTAssertEqual(reply.status, 404, reply.text)
    }
}
