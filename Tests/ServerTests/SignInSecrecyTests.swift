import Foundation
import SignIn
import TestSupport
import XCTest
@testable import Vault

/// After everything a person does to sign in (enrolment both ways, sign-in, failures, a
/// passphrase typed into the name field, step-up both ways, a refused cross-site request,
/// sign-out), no secret they used is in an audit event, in any file of the store (or, on the
/// shared backends, in its database or bucket), or in what the server logged at its most verbose.
final class SignInSecrecyTests: XCTestCase {
    func testNoSecretReachesTheAuditLogTheStoreFilesOrTheServerLog() async throws {
        let log = CapturedLog()
        let f = try await SignInFixture(logger: log.logger())
        var secrets: [String: String] = [:]
        var codes: [String] = []

        let jo = try await f.enrol("jo")
        secrets["passphrase"] = jo.passphrase
        secrets["totp secret"] = jo.totpSecret
        secrets["totp secret, lower case"] = jo.totpSecret.lowercased()
        secrets["enrolment token"] = jo.enrolmentToken
        codes.append(jo.app.code(at: f.clock.now))
        for (i, code) in jo.recoveryCodes.enumerated() {
            secrets["recovery code \(i)"] = code
            secrets["recovery code \(i) without dashes"] = code.replacingOccurrences(of: "-", with: "")
        }

        // Failures: a wrong passphrase, a wrong code, the passphrase typed as the name.
        let code = f.nextCode(jo)
        codes.append(code)
        _ = try await f.signIn(name: "jo", passphrase: "violet anchor marble wrong", code: code)
        _ = try await f.signIn(name: jo.passphrase, passphrase: jo.passphrase, code: code)
        let wrongCode = String(format: "%06d", (Int(code)! + 1) % 1_000_000)
        _ = try await f.signIn(name: "jo", passphrase: jo.passphrase, code: wrongCode)
        codes.append(wrongCode)

        f.clock.advance(30)
        let signInCode = jo.app.code(at: f.clock.now)
        codes.append(signInCode)
        let session = try f.session(from: try await f.signIn(name: "jo", passphrase: jo.passphrase, code: signInCode))
        secrets["session token"] = session.token
        secrets["csrf token"] = session.csrfToken
        let viaRecovery = try f.session(from: try await f.signIn(name: "jo", passphrase: jo.passphrase, recoveryCode: jo.recoveryCodes[0]))
        secrets["second session token"] = viaRecovery.token

        f.clock.advance(10 * 60)
        let stepUpCode = f.nextCode(jo)
        codes.append(stepUpCode)
        let stepUp = try await f.call("POST", "/v1/session/step-up", session, json: ["code": stepUpCode])
        XCTAssertEqual(stepUp.status, 200)
        _ = try await f.call("POST", "/v1/session/step-up", session, json: ["recoveryCode": jo.recoveryCodes[1]])
        _ = try await f.call("DELETE", "/v1/session", session, headers: session.cookie.merging(["Origin": SignInFixture.otherSite]) { $1 })

        // A passkey person: enrolment, sign-in, step-up.
        var key = f.newAuthenticator()
        let handle = try await f.enrolledPasskey("sam", key)
        secrets["credential id"] = Base64URL.encode(key.credentialID)
        secrets["credential id, hex"] = key.credentialID.map { String(format: "%02x", $0) }.joined()
        let samSession = try f.session(from: try await f.passkeySignIn(&key, userHandle: handle))
        secrets["passkey session token"] = samSession.token
        let begin = try await f.call("POST", "/v1/session/step-up/passkey/begin", samSession, json: [:])
        let challenge = try Base64URL.decode(try XCTUnwrap((begin.object["publicKey"] as? [String: Any])?["challenge"] as? String))
        secrets["step-up challenge"] = Base64URL.encode(challenge)
        let confirmed = try await f.call("POST", "/v1/session/step-up/passkey/finish", samSession, json: f.assertionBody(
            ceremony: "", credentialID: key.credentialID, key.assert(challenge: challenge), userHandle: handle))
        XCTAssertEqual(confirmed.status, 200)
        _ = try await f.call("DELETE", "/v1/session", session)
        _ = try await f.call("DELETE", "/v1/session", samSession)

        try f.vault.audit.flushAnonymousRefusals(all: true)
        let events = f.events
        XCTAssertTrue(Set(events.map(\.action)).isSuperset(of: ["enrol", "sign-in", "sign-in-failed", "step-up", "csrf", "sign-out"]),
                      "the flow did what it should: \(Set(events.map(\.action)))")
        let auditText = events.map { e in
            [e.actor, e.action, e.outcome, e.school, e.child, e.concern, e.record, e.reason].compactMap { $0 }.joined(separator: " ")
        }.joined(separator: "\n")
        let logText = log.text(excluding: ["ms"])
        XCTAssertGreaterThan(log.count, 10, "the server logged its requests")
        // Every file of the folder, or a dump of the database and every object of the bucket.
        let files = try f.server.store.contents()
        // Control: the search finds what the store does hold (the raw credential id, its index key).
        XCTAssertTrue(files.contains { contains($0.1, key.credentialID) }, "the file search finds nothing at all")

        for (what, secret) in secrets {
            XCTAssertFalse(auditText.contains(secret), "the audit log holds the \(what)")
            XCTAssertFalse(logText.contains(secret), "the server log holds the \(what)")
            // A dump writes every BYTEA value as hex: the hex there is the stored credential id itself.
            for (path, bytes) in files where contains(bytes, Array(secret.utf8)) && !(path == "pg_dump" && what == "credential id, hex") {
                XCTFail("\(path) holds the \(what)")
            }
        }
        // A code is six digits: it counts when a run of digits is exactly it.
        let auditNumbers = Set(auditText.split { !$0.isASCII || !$0.isNumber }), logNumbers = Set(logText.split { !$0.isASCII || !$0.isNumber })
        for code in codes {
            XCTAssertFalse(auditNumbers.contains(Substring(code)), "the audit log holds a code")
            XCTAssertFalse(logNumbers.contains(Substring(code)), "the server log holds a code")
        }
        try await f.stop()
    }

    func contains(_ hay: [UInt8], _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, hay.count >= needle.count else { return false }
        return hay.withUnsafeBufferPointer { h in
            needle.withUnsafeBufferPointer { n in
                var i = 0
                while i <= h.count - n.count {
                    if h[i] == n[0], memcmp(h.baseAddress! + i, n.baseAddress!, n.count) == 0 { return true }
                    i += 1
                }
                return false
            }
        }
    }
}
