import Foundation
import KeyManagement
import SignIn
import Storage

extension Vault {
    /// People and integrations: accounts, enrolment, sign-in, sessions and step-up.
    public var users: Users { Users(vault: self) }

    /// People and integrations: accounts, enrolment, sign-in, sessions and step-up.
    public struct Users: Sendable {
        let vault: Vault

        /// Ends every session past its idle or absolute limit, each audited as `session-end`
        /// naming its person; the vault's own housekeeping (the server runs it every minute).
        @discardableResult
        public func endExpiredSessions() throws -> Int {
            try vault.endExpiredSessions()
        }

        /// Forgets expired passkey challenges and guess counts a day old; the vault's own
        /// housekeeping (the server runs it every minute).
        public func sweepSignInState() throws {
            try vaulting {
                try vault.challenges.sweep()
                try vault.signInThrottle.sweep()
            }
        }

        /// Adds a user account with a fresh id and bearer token. A revoked user's name may be reused:
        /// that makes a new account, which inherits nothing of the old one.
        public func addIntegration(name: String, role: Role, schools: [String], by caller: Caller) throws -> IssuedToken {
            try vault.addUser(name: name, role: role, schools: schools, by: caller)
        }

        /// Adds a person (not an integration) and their first enrolment link, as the operator at
        /// the CLI. An administrator in the console adds people with `people.add`.
        public func addPerson(name: String, role: Role, schools: [String], by caller: Caller) throws -> IssuedEnrolment {
            try vault.addPerson(name: name, role: role, schools: schools, by: caller)
        }

        /// Removes a person's factors, ends their sessions, voids their unused links and issues a
        /// new enrolment link: what the operator does when someone loses their phone or passkey.
        public func resetPerson(name: String, by caller: Caller) throws -> IssuedEnrolment {
            try vault.resetPerson(name: name, by: caller)
        }

        /// Revokes a user's token; it stops working on the next request.
        public func revoke(name: String, by caller: Caller) throws {
            try vault.revokeUser(name: name, by: caller)
        }

        public func list(by caller: Caller) throws -> [UserAccount] {
            try vault.users(by: caller)
        }

        /// How each account signs in, by account id (no key needed).
        public func signInSummaries() throws -> [String: SignInSummary] {
            try vault.signInSummaries()
        }

        /// The active user holding `token`, or nil (unknown, malformed or revoked token, or a user
        /// row that fails the vault's signature: one written into the database by someone without
        /// the master key). The token is looked up by its hash, so no secret is compared in the open.
        public func authenticate(token: String) throws -> Principal? {
            try vault.authenticate(token: token)
        }

        /// Who the link is for, if it can still be used.
        public func enrolment(token: String) throws -> EnrolmentView {
            try vault.enrolment(token: token)
        }

        /// Sets the passphrase (checked against the rules, hashed with Argon2id) and makes a TOTP
        /// secret; both wait with the link until `confirmEnrolmentTOTP` proves the app has it.
        public func setEnrolmentPassphrase(token: String, passphrase: String) throws -> TOTPEnrolment {
            try vault.setEnrolmentPassphrase(token: token, passphrase: passphrase)
        }

        /// Checks a code from the authenticator app against the waiting secret; if it matches, the
        /// passphrase, the authenticator and ten recovery codes become the person's factors, the
        /// link is used up, and the recovery codes are returned (shown once, stored hashed).
        public func confirmEnrolmentTOTP(token: String, code: String) throws -> [String] {
            try vault.confirmEnrolmentTOTP(token: token, code: code)
        }

        /// The otpauth URI of the authenticator secret waiting with the link (for its QR code), or
        /// nil when no passphrase has been set on it yet.
        public func pendingOTPAuthURI(token: String) throws -> String? {
            try vault.pendingOTPAuthURI(token: token)
        }

        /// Starts registering a passkey for the link's person.
        public func beginEnrolmentPasskey(token: String, relyingParty: RelyingParty) throws -> PasskeyCreationOptions {
            try vault.beginEnrolmentPasskey(token: token, relyingParty: relyingParty)
        }

        /// Verifies the new passkey (attestation "none", user verified, this origin and RP ID, the
        /// challenge issued for this link) and makes it the person's factor; the link is used up.
        public func finishEnrolmentPasskey(token: String, credentialID: [UInt8], clientDataJSON: [UInt8], attestationObject: [UInt8], relyingParty: RelyingParty) throws {
            try vault.finishEnrolmentPasskey(token: token, credentialID: credentialID, clientDataJSON: clientDataJSON, attestationObject: attestationObject, relyingParty: relyingParty)
        }

        /// Signs a person in with their passphrase and a code from their authenticator app, or one
        /// of their recovery codes instead of the code. Any wrong part is the same `.failed`; while
        /// the name or the address is backed off, `.slowDown` without checking anything.
        public func signIn(name: String, passphrase: String, code: String?, recoveryCode: String?, from client: SignInClient) throws -> StartedSession {
            try vault.signIn(name: name, passphrase: passphrase, code: code, recoveryCode: recoveryCode, from: client)
        }

        /// Starts a passkey sign-in: the browser asks the authenticator for any passkey of this
        /// site. A client has room for a few unfinished ones at a time (`.busy` beyond that).
        public func beginPasskeySignIn(relyingParty: RelyingParty, from client: SignInClient) throws -> PasskeyRequestOptions {
            try vault.beginPasskeySignIn(relyingParty: relyingParty, from: client)
        }

        /// Finishes a passkey sign-in: the passkey must be one the vault registered (and signed) for
        /// an active person, answer this ceremony's challenge for this origin with the person
        /// verified, and its counter must not go backwards.
        public func finishPasskeySignIn(ceremony: String, assertion: PasskeyAssertion, relyingParty: RelyingParty, from client: SignInClient) throws -> StartedSession {
            try vault.finishPasskeySignIn(ceremony: ceremony, assertion: assertion, relyingParty: relyingParty, from: client)
        }

        /// The caller a session cookie names, if the session is live: it exists, carries the vault's
        /// signature, is within its idle and absolute limits, and its person is still active. A
        /// session past a limit is removed. Notes the use (at most every few seconds), unless not
        /// `touching`: a page's own background polling is not the person using Strongroom, and
        /// must not keep an unattended session from ending.
        public func resolveSession(token: String, touching: Bool = true) throws -> Caller? {
            try vault.resolveSession(token: token, touching: touching)
        }

        /// Confirms it is still the person (step-up) with a code from their app or a recovery code;
        /// the session's second-factor time moves to now. A wrong code leaves the session as it was.
        public func stepUp(sessionToken: String, code: String?, recoveryCode: String?, from client: SignInClient) throws -> SessionFacts {
            try vault.stepUp(sessionToken: sessionToken, code: code, recoveryCode: recoveryCode, from: client)
        }

        /// Starts a passkey step-up: only the person's own passkeys are asked for.
        public func beginPasskeyStepUp(sessionToken: String, relyingParty: RelyingParty) throws -> PasskeyRequestOptions {
            try vault.beginPasskeyStepUp(sessionToken: sessionToken, relyingParty: relyingParty)
        }

        public func finishPasskeyStepUp(sessionToken: String, assertion: PasskeyAssertion, relyingParty: RelyingParty, from client: SignInClient) throws -> SessionFacts {
            try vault.finishPasskeyStepUp(sessionToken: sessionToken, assertion: assertion, relyingParty: relyingParty, from: client)
        }

        /// Ends the session the cookie names (sign out). Ending one that has already ended is not an error.
        public func signOut(sessionToken: String) throws {
            try vault.signOut(sessionToken: sessionToken)
        }

        /// Ends every session of the calling person, this one included ("sign out everywhere").
        @discardableResult
        public func signOutEverywhere(by caller: Caller) throws -> Int {
            try vault.signOutEverywhere(by: caller)
        }

        /// Ends one of the calling person's own sessions, by its handle.
        public func endSession(handle: String, by caller: Caller) throws {
            try vault.endSession(handle: handle, by: caller)
        }

        /// The calling person's live sessions, oldest first.
        public func sessions(by caller: Caller) throws -> [SignInSession] {
            try vault.sessions(by: caller)
        }
    }
}
