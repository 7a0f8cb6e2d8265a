import Foundation
import KeyManagement

/// The part of the catalog that sign-in works on: enrolment links, people's factors and their
/// sessions. Every change that grants or takes away access commits with its audit event in one
/// transaction, like the rest of `Catalog`; using a factor (a TOTP step, a passkey counter, a
/// recovery code) is a compare-and-set, so two requests cannot both use one code.
public protocol SignInCatalog: Sendable {
    /// Adds an account and its first enrolment link, with the audit event, in one transaction.
    func addUser(_ user: UserAccount, enrolment: Enrolment, event: AuditEntry, signer: AuditSigner?) throws
    /// The account with this id, revoked or not.
    func user(account: String) throws -> UserAccount?
    func enrolment(tokenHash: Data) throws -> Enrolment?
    /// Keeps a passphrase hash and a sealed TOTP secret with an unused link until a code confirms
    /// them; false if the link was used meanwhile.
    func setPendingFactors(tokenHash: Data, passphrase: String, totp: Data) throws -> Bool
    /// Marks the link used and stores the person's factors, with the audit event; refuses
    /// (`lifecycleConflict`) if the link was used meanwhile.
    func completeEnrolment(tokenHash: Data, usedAtMillis: Int64, factors: [SignInFactor], event: AuditEntry, signer: AuditSigner?) throws
    /// Removes an account's factors, sessions and unused links and stores a new link, with the
    /// audit event (the operator's reset, or a revocation when `enrolment` is nil).
    func resetSignIn(account: String, enrolment: Enrolment?, event: AuditEntry, signer: AuditSigner?) throws

    func factors(account: String) throws -> [SignInFactor]
    func factor(credentialID: Data) throws -> SignInFactor?
    /// Sets a factor's counter to `counter` if it is still below it (a TOTP step, a passkey's
    /// signature counter); false if another request got there first.
    func advanceCounter(factor id: String, to counter: Int64) throws -> Bool
    /// Marks a recovery code used if it was not; false if it was.
    func spendRecoveryCode(factor id: String, atMillis: Int64) throws -> Bool

    func addSession(_ session: SignInSession, event: AuditEntry, signer: AuditSigner?) throws
    /// Every request asks this: one indexed read.
    func session(idHash: Data) throws -> SignInSession?
    func sessions(account: String) throws -> [SignInSession]
    /// Notes the session was used (not signed: it only shortens a session, never lengthens one
    /// past its absolute limit).
    func touchSession(idHash: Data, atMillis: Int64) throws
    /// Replaces a session's row (a step-up re-signs it with the new factor time), with the event.
    func updateSession(_ session: SignInSession, event: AuditEntry, signer: AuditSigner?) throws
    /// Ends sessions of `account` (the ones named, or all when `idHashes` is nil), with the event;
    /// returns how many ended.
    @discardableResult
    func endSessions(account: String, idHashes: [Data]?, event: AuditEntry, signer: AuditSigner?) throws -> Int
    /// Removes sessions unused since `idleBefore` or begun before `startedBefore` (no event: they
    /// had already stopped working).
    /// Sessions past either limit (last used before `idleBefore`, or begun before `startedBefore`).
    func expiredSessions(idleBefore: Int64, startedBefore: Int64) throws -> [SignInSession]
    /// Each account that was ever given an enrolment link (a person), with whether one is still
    /// unused and unexpired at `nowMillis` (they have not finished enrolling).
    func enrolmentStates(nowMillis: Int64) throws -> [String: Bool]
    /// When each account last signed in (accounts that never did are absent).
    func lastSignIns() throws -> [String: Int64]
}
