import Foundation
import SignIn
import Storage
import TestSupport
import XCTest
@testable import Vault

/// Sign-in at the vault, where HTTP cannot reach: the step-up window every guarded act asks
/// about, one code or recovery code raced by two requests at once, and who may add or reset
/// a person.
final class VaultSignInTests: XCTestCase {
    var clock: MovableClock!
    var f: VaultFixture!
    var vault: Vault { f.vault }
    let client = SignInClient(address: "192.0.2.7", browser: "test")

    override func setUpWithError() throws {
        let clock = MovableClock()
        self.clock = clock
        var options = Vault.Options()
        options.clock = { clock.now }
        options.passphraseLimits = .interactive
        f = try VaultFixture(options: options)
    }

    override func tearDownWithError() throws { f.vault.close() }

    struct Person {
        let name: String
        let passphrase: String
        let app: TestAuthenticatorApp
        let recoveryCodes: [String]
    }

    func enrol(_ name: String) throws -> Person {
        let issued = try vault.users.addPerson(name: name, role: .dsl, schools: ["S1"], by: .operator("test"))
        let passphrase = "violet anchor marble drift"
        let totp = try vault.users.setEnrolmentPassphrase(token: issued.token, passphrase: passphrase)
        let app = try TestAuthenticatorApp(base32: totp.secretBase32)
        let codes = try vault.users.confirmEnrolmentTOTP(token: issued.token, code: app.code(at: clock.now))
        return Person(name: name, passphrase: passphrase, app: app, recoveryCodes: codes)
    }

    func signedIn(_ person: Person) throws -> StartedSession {
        clock.advance(30)
        return try vault.users.signIn(name: person.name, passphrase: person.passphrase, code: person.app.code(at: clock.now), recoveryCode: nil, from: client)
    }

    func caller(_ started: StartedSession) throws -> Caller {
        try XCTUnwrap(try vault.users.resolveSession(token: started.token))
    }

    func testAnActPastTheStepUpWindowIsRefusedAndAudited() throws {
        let jo = try enrol("jo")
        let started = try signedIn(jo)
        clock.advance(300)
        XCTAssertNoThrow(try vault.requireRecentFactor(try caller(started), for: "downloading evidence"), "five minutes exactly")
        clock.advance(1)
        XCTAssertThrowsError(try vault.requireRecentFactor(try caller(started), for: "downloading evidence")) { error in
            guard case VaultError.stepUpRequired = error else { return XCTFail("\(error)") }
        }
        let refused = try f.events.filter { $0.action == "step-up" && $0.outcome == "refused" }
        XCTAssertEqual(refused.count, 1)
        XCTAssertTrue(refused[0].reason?.contains("downloading evidence") ?? false)
        XCTAssertTrue(refused[0].reason?.contains(started.facts.handle) ?? false, "names the session by its handle")

        clock.advance(30)
        _ = try vault.users.stepUp(sessionToken: started.token, code: jo.app.code(at: clock.now), recoveryCode: nil, from: client)
        XCTAssertNoThrow(try vault.requireRecentFactor(try caller(started), for: "downloading evidence"))
    }

    func testAFactorTimeFromTheFutureIsNotTrusted() throws {
        let principal = Principal(name: "jo", role: .dsl, schools: ["S1"], account: "a1")
        let skewed = Caller.person(principal, session: SessionFacts(handle: "0011223344556677", factorAt: clock.now.addingTimeInterval(30)))
        XCTAssertNoThrow(try vault.requireRecentFactor(skewed, for: "placing a hold"), "a clock a little behind")
        let forged = Caller.person(principal, session: SessionFacts(handle: "0011223344556677", factorAt: clock.now.addingTimeInterval(3600)))
        XCTAssertThrowsError(try vault.requireRecentFactor(forged, for: "placing a hold"))
    }

    func testIntegrationsAndTheOperatorAreNotAskedToStepUp() throws {
        let principal = Principal(name: "feed", role: .dsl, schools: ["S1"], account: "a2")
        XCTAssertNoThrow(try vault.requireRecentFactor(.integration(principal), for: "downloading evidence"))
        XCTAssertNoThrow(try vault.requireRecentFactor(.operator("ops"), for: "downloading evidence"))
    }

    func testOneCodeSentTwiceAtOnceSignsInOnce() throws {
        let jo = try enrol("jo")
        clock.advance(30)
        let code = jo.app.code(at: clock.now)
        let results = race(4) { [vault, client] in
            try vault.users.signIn(name: "jo", passphrase: jo.passphrase, code: code, recoveryCode: nil, from: client)
        }
        XCTAssertEqual(results.filter { $0 }.count, 1)
        XCTAssertEqual(try f.events.filter { $0.action == "sign-in" }.count, 1)
    }

    func testOneRecoveryCodeSentTwiceAtOnceSignsInOnce() throws {
        let jo = try enrol("jo")
        let code = jo.recoveryCodes[2]
        let results = race(4) { [vault, client] in
            try vault.users.signIn(name: "jo", passphrase: jo.passphrase, code: nil, recoveryCode: code, from: client)
        }
        XCTAssertEqual(results.filter { $0 }.count, 1)
    }

    func testGuessesSentAllAtOnceGetNoMoreTriesThanOneAtATime() throws {
        _ = try enrol("jo")
        clock.advance(30)
        final class Tally: @unchecked Sendable {
            let lock = NSLock()
            var failed = 0, slowed = 0, other: [String] = []
        }
        let tally = Tally()
        DispatchQueue.concurrentPerform(iterations: 12) { [vault, client] i in
            do {
                _ = try vault.users.signIn(name: "jo", passphrase: "guess number \(i) of twelve", code: "000000", recoveryCode: nil, from: client)
                tally.lock.withLock { tally.other.append("signed in") }
            } catch VaultError.signIn(.failed) {
                tally.lock.withLock { tally.failed += 1 }
            } catch VaultError.signIn(.slowDown) {
                tally.lock.withLock { tally.slowed += 1 }
            } catch {
                tally.lock.withLock { tally.other.append("\(error)") }
            }
        }
        XCTAssertEqual(tally.other, [])
        // One at a time: each waits for the one before; no more than the three free failures
        // one after another would get.
        XCTAssertTrue((1...3).contains(tally.failed), "\(tally.failed) passphrases checked")
        XCTAssertEqual(tally.failed + tally.slowed, 12)
    }

    func testManyPeopleSigningInAtOnceFromOneAddressAreNotSlowed() throws {
        let people = try (0..<8).map { try enrol("person\($0)") }
        clock.advance(30)
        final class Tally: @unchecked Sendable {
            let lock = NSLock()
            var outcomes: [String] = []
        }
        let tally = Tally()
        DispatchQueue.concurrentPerform(iterations: people.count) { [vault, client, clock] i in
            let person = people[i]
            let outcome: String
            do {
                _ = try vault.users.signIn(name: person.name, passphrase: person.passphrase, code: person.app.code(at: clock!.now),
                                           recoveryCode: nil, from: client)
                outcome = "signed in"
            } catch {
                outcome = "\(error)"
            }
            tally.lock.withLock { tally.outcomes.append(outcome) }
        }
        XCTAssertEqual(tally.outcomes, Array(repeating: "signed in", count: people.count), "a school's staff share one address")
    }

    /// Runs `body` on `n` threads at once; true for each that returned, false for each refused.
    func race(_ n: Int, _ body: @escaping @Sendable () throws -> StartedSession) -> [Bool] {
        final class Results: @unchecked Sendable {
            let lock = NSLock()
            var values: [Bool] = []
        }
        let results = Results()
        DispatchQueue.concurrentPerform(iterations: n) { _ in
            let ok: Bool
            do { _ = try body(); ok = true } catch VaultError.signIn(.failed) { ok = false } catch VaultError.signIn(.slowDown) {
                ok = false  // the others' attempts, still counted while they run
            } catch {
                XCTFail("\(error)")
                ok = false
            }
            results.lock.withLock { results.values.append(ok) }
        }
        return results.values
    }

    func testOnlyTheOperatorAddsOrResetsAPerson() throws {
        let jo = try enrol("jo")
        let started = try signedIn(jo)
        let person = try caller(started)
        let integration = Caller.integration(Principal(name: "feed", role: .admin, schools: ["S1"], account: "a3"))
        for who in [person, integration] {
            XCTAssertThrowsError(try vault.users.addPerson(name: "mallory", role: .admin, schools: ["S1"], by: who)) { error in
                guard case VaultError.forbidden = error else { return XCTFail("\(error)") }
            }
            XCTAssertThrowsError(try vault.users.resetPerson(name: "jo", by: who)) { error in
                guard case VaultError.forbidden = error else { return XCTFail("\(error)") }
            }
        }
        XCTAssertFalse(try vault.catalog.users().contains { $0.name == "mallory" })
        XCTAssertNotNil(try vault.users.resolveSession(token: started.token), "jo's session was not reset")
        XCTAssertEqual(try f.events.filter { $0.action == "user-reset" && $0.outcome == "ok" }.count, 0)
        XCTAssertEqual(try f.events.filter { $0.action == "user-add" && $0.outcome == "denied" }.count, 2, "each refusal audited")
        XCTAssertEqual(try f.events.filter { $0.action == "user-reset" && $0.outcome == "denied" }.count, 2, "each refusal audited")
    }

    func testARevokedPersonsSessionCannotStepUpOrSignOutAnother() throws {
        let jo = try enrol("jo")
        let started = try signedIn(jo)
        try vault.users.revoke(name: "jo", by: .operator("test"))
        XCTAssertNil(try vault.users.resolveSession(token: started.token))
        clock.advance(30)
        XCTAssertThrowsError(try vault.users.stepUp(sessionToken: started.token, code: jo.app.code(at: clock.now), recoveryCode: nil, from: client)) { error in
            XCTAssertEqual(error as? VaultError, .signIn(.sessionEnded))
        }
    }

    func testSessionsNoOnePresentsAgainAreEndedOnTheRecordNamingTheirPerson() throws {
        let jo = try enrol("jo"), kim = try enrol("kim")
        let first = try signedIn(jo)
        _ = try signedIn(kim)
        clock.advance(20 * 60)
        _ = try caller(first)   // jo keeps hers alive
        XCTAssertEqual(try vault.users.endExpiredSessions(), 0, "nothing is past its limit yet")
        clock.advance(11 * 60)
        XCTAssertEqual(try vault.users.endExpiredSessions(), 1, "kim's session, unused for 31 minutes")
        let ended = try f.events.filter { $0.action == "session-end" }
        XCTAssertEqual(ended.count, 1)
        XCTAssertTrue(ended[0].actor.hasPrefix("user:kim#"), ended[0].actor)
        XCTAssertTrue(ended[0].reason?.contains("unused for more than 30 minutes") ?? false, ended[0].reason ?? "")
        XCTAssertEqual(try vault.users.endExpiredSessions(), 0, "each ends once")
        clock.advance(12 * 3600)
        XCTAssertEqual(try vault.users.endExpiredSessions(), 1)
        XCTAssertTrue(try f.events.last { $0.action == "session-end" }?.actor.hasPrefix("user:jo#") ?? false)
        XCTAssertNil(try vault.users.resolveSession(token: first.token))
    }
}
