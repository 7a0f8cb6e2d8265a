import Foundation
import KeyManagement
import SignIn
import Storage

/// Where a sign-in comes from: the client's address (as `RefusalSource` writes it) and its
/// browser, from the User-Agent, shortened. Shown in the person's list of sessions.
public struct SignInClient: Sendable {
    public var address: String
    public var browser: String

    public init(address: String, browser: String) {
        self.address = address
        self.browser = String(browser.unicodeScalars.filter { $0.value >= 0x20 && $0.value < 0x7f }.prefix(120).map(Character.init))
    }
}

/// A session just begun: the cookie value (shown once to the browser), the CSRF token that
/// goes with it, and who it is for.
public struct StartedSession: Sendable {
    public let token: String
    public let csrfToken: String
    public let principal: Principal
    public let facts: SessionFacts
}

extension Vault {
    func signIn(name: String, passphrase: String, code: String?, recoveryCode: String?, from client: SignInClient) throws -> StartedSession {
        let name = String(name.prefix(128))
        try beginAttempt(name: name, client)
        let user = try activePerson(name: name)
        let factors = try user.map(verifiedFactors) ?? []
        let stored = factors.first { $0.kind == .passphrase }.map { String(decoding: $0.secret, as: UTF8.self) }
        // A name with no passphrase costs the same hash as one with: the time says nothing.
        let passphraseOK = checkPassphrase(passphrase, against: stored ?? dummyPassphraseHash)
        guard let user, passphraseOK, stored != nil, try secondFactorHolds(user, factors, code: code, recoveryCode: recoveryCode) else {
            try failedSignIn(name: name, user: user, client: client, what: "POST /v1/session")
            throw VaultError.signIn(.failed)
        }
        try vaulting { try signInThrottle.succeeded(name: name) }
        return try startSession(user, client: client, how: recoveryCode != nil ? "passphrase and a recovery code" : "passphrase and authenticator code")
    }

    func beginPasskeySignIn(relyingParty: RelyingParty, from client: SignInClient) throws -> PasskeyRequestOptions {
        let ceremony = Hex.encode(randomPublicBytes(16))
        // Anyone may begin one: each client has room for a few at a time (ChallengeStore).
        let challenge = try signingIn { try challenges.issue(for: "sign-in:" + ceremony, source: client.address) }
        return PasskeyRequestOptions(ceremony: ceremony, challenge: challenge, relyingPartyID: relyingParty.id,
                                     allowCredentials: [], timeoutMillis: Int(challenges.lifetime * 1000))
    }

    func finishPasskeySignIn(ceremony: String, assertion: PasskeyAssertion, relyingParty: RelyingParty,
                                    from client: SignInClient) throws -> StartedSession {
        // No name is claimed: the answer names its own account, so only the address counts.
        try beginAttempt(name: nil, client)
        guard ceremony.utf8.count == 32, let challenge = try vaulting({ try challenges.take(for: "sign-in:" + ceremony) }) else {
            try failedSignIn(name: nil, user: nil, client: client, what: "passkey sign-in (unknown or expired ceremony)")
            throw VaultError.signIn(.failed)
        }
        guard let (user, _) = try verifyPasskey(assertion, challenge: challenge, relyingParty: relyingParty, account: nil) else {
            try failedSignIn(name: nil, user: nil, client: client, what: "passkey sign-in")
            throw VaultError.signIn(.failed)
        }
        // The person proved who they are: their name's count is cleared as a passphrase would.
        try vaulting { try signInThrottle.succeeded(name: user.name) }
        return try startSession(user, client: client, how: "passkey \(Self.credentialLabel(assertion.credentialID))")
    }

    func resolveSession(token: String, touching: Bool = true) throws -> Caller? {
        guard let (session, user) = try liveSession(token: token) else { return nil }
        let now = nowMillis
        let touchEvery = Int64(min(60, max(1, sessionPolicy.idleTimeout / 10)) * 1000)
        if touching, now - session.lastSeenAtMillis >= touchEvery { try vaulting { try catalog.touchSession(idHash: session.idHash, atMillis: now) } }
        guard let principal = Principal(user) else { return nil }
        return .person(principal, session: SessionFacts(handle: session.handle, factorAt: Date(millis: session.factorAtMillis)))
    }

    /// The CSRF token that goes with a session cookie: derived from it, so it needs no storage
    /// and is useless without the cookie, and another site (which can send the cookie but not
    /// read it) cannot know it.
    public static func csrfToken(forSession token: String) -> String {
        var b = Binding(label: "strongroom/v1/csrf")
        b.append(token)
        return Base64URL.encode(SHA256Hasher.hash(b.bytes))
    }

    func stepUp(sessionToken: String, code: String?, recoveryCode: String?, from client: SignInClient) throws -> SessionFacts {
        guard let (session, user) = try liveSession(token: sessionToken) else { throw VaultError.signIn(.sessionEnded) }
        try beginAttempt(name: user.name, client)
        let factors = try verifiedFactors(user)
        guard try secondFactorHolds(user, factors, code: code, recoveryCode: recoveryCode) else {
            try failedSignIn(name: user.name, user: user, client: client, what: "step-up")
            throw VaultError.signIn(.failed)
        }
        try vaulting { try signInThrottle.succeeded(name: user.name) }
        return try recordStepUp(session, user, how: recoveryCode != nil ? "a recovery code" : "authenticator code")
    }

    func beginPasskeyStepUp(sessionToken: String, relyingParty: RelyingParty) throws -> PasskeyRequestOptions {
        guard let (session, user) = try liveSession(token: sessionToken) else { throw VaultError.signIn(.sessionEnded) }
        let credentials = try verifiedFactors(user).compactMap { $0.kind == .passkey ? $0.credentialID.map(Array.init) : nil }
        guard !credentials.isEmpty else { throw VaultError.invalidArgument("you have no passkey; confirm with a code instead") }
        let challenge = try signingIn { try challenges.issue(for: "step-up:" + session.handle) }
        return PasskeyRequestOptions(ceremony: session.handle, challenge: challenge, relyingPartyID: relyingParty.id,
                                     allowCredentials: credentials, timeoutMillis: Int(challenges.lifetime * 1000))
    }

    func finishPasskeyStepUp(sessionToken: String, assertion: PasskeyAssertion, relyingParty: RelyingParty,
                                    from client: SignInClient) throws -> SessionFacts {
        guard let (session, user) = try liveSession(token: sessionToken) else { throw VaultError.signIn(.sessionEnded) }
        // A passkey cannot be guessed: the address alone counts, so that others' wrong
        // passphrases for this name never keep its owner from confirming with their passkey.
        try beginAttempt(name: nil, client)
        guard let challenge = try vaulting({ try challenges.take(for: "step-up:" + session.handle) }),
              try verifyPasskey(assertion, challenge: challenge, relyingParty: relyingParty, account: user.id) != nil else {
            try failedSignIn(name: nil, user: user, client: client, what: "passkey step-up")
            throw VaultError.signIn(.failed)
        }
        try vaulting { try signInThrottle.succeeded(name: user.name) }
        return try recordStepUp(session, user, how: "passkey \(Self.credentialLabel(assertion.credentialID))")
    }

    func signOut(sessionToken: String) throws {
        guard let (session, user) = try liveSession(token: sessionToken) else { return }
        _ = try vaulting {
            try catalog.endSessions(
                account: user.id, idHashes: [session.idHash],
                event: AuditEntry(actor: Principal.actor(of: user), action: .signOut, outcome: .ok, reason: "session \(session.handle)"),
                signer: signer)
        }
    }

    @discardableResult
    func signOutEverywhere(by caller: Caller) throws -> Int {
        let principal = try requirePerson(caller)
        return try vaulting {
            try catalog.endSessions(
                account: principal.account, idHashes: nil,
                event: AuditEntry(actor: principal.actor, action: .signOut, outcome: .ok, reason: "every session"), signer: signer)
        }
    }

    func endSession(handle: String, by caller: Caller) throws {
        let principal = try requirePerson(caller)
        guard let session = try vaulting({ try catalog.sessions(account: principal.account) }).first(where: { $0.handle == handle }) else {
            throw VaultError.notFound("session")
        }
        _ = try vaulting {
            try catalog.endSessions(
                account: principal.account, idHashes: [session.idHash],
                event: AuditEntry(actor: principal.actor, action: .sessionEnd, outcome: .ok, reason: "session \(handle)"), signer: signer)
        }
    }

    func sessions(by caller: Caller) throws -> [SignInSession] {
        let principal = try requirePerson(caller)
        let now = nowMillis
        return try vaulting { try catalog.sessions(account: principal.account) }.filter { isLive($0, now: now) }
    }

    // MARK: helpers

    func requirePerson(_ caller: Caller) throws -> Principal {
        guard case .person(let principal, _) = caller else { throw VaultError.forbidden("only a signed-in person has sessions") }
        return principal
    }

    func activePerson(name: String) throws -> UserAccount? {
        guard OpaqueID.isValid(name) else { return nil }
        return try vaulting { try catalog.users() }.first { $0.name == name && !$0.isRevoked && verifiedUserRow($0) }
    }

    /// The account's factors that carry the vault's signature (others are ignored).
    func verifiedFactors(_ user: UserAccount) throws -> [SignInFactor] {
        try vaulting { try catalog.factors(account: user.id) }.filter {
            $0.account == user.id && verifiedSignature($0.signedMessage(vaultID: vaultID), $0.signature)
        }
    }

    func checkPassphrase(_ passphrase: String, against hash: String) -> Bool {
        passphraseGate.wait()
        defer { passphraseGate.signal() }
        return PassphraseHash.verify(passphrase, against: hash)
    }

    /// A hash of nothing anyone knows, to spend the same time on a name that has no passphrase.
    var dummyPassphraseHash: String {
        dummyHashLock.withLock {
            if let hash = dummyHash { return hash }
            let hash = (try? PassphraseHash.hash(Base64URL.encode(randomPublicBytes(24)), limits: passphraseLimits)) ?? ""
            dummyHash = hash
            return hash
        }
    }

    /// A TOTP code (each step accepted once) or an unspent recovery code (spent now).
    func secondFactorHolds(_ user: UserAccount, _ factors: [SignInFactor], code: String?, recoveryCode: String?) throws -> Bool {
        if let code, recoveryCode == nil {
            guard let keys = keyStore, let totp = factors.first(where: { $0.kind == .totp }) else { return false }
            let secret = try vaulting { try TOTPSecret(try keys.unseal(Array(totp.secret), for: totpBinding(account: user.id))) }
            guard let step = TOTP(secret: secret).verify(code: code, at: clock(), lastUsedStep: totp.counter > 0 ? UInt64(totp.counter) : nil) else {
                return false
            }
            // Two requests with one code: only one moves the counter.
            return try vaulting { try catalog.advanceCounter(factor: totp.id, to: Int64(step)) }
        }
        if let recoveryCode, code == nil, recoveryCode.utf8.count <= 64 {
            let hash = recoveryCodeHash(recoveryCode, account: user.id)
            var match: SignInFactor?
            for factor in factors where factor.kind == .recovery && factor.usedAtMillis == nil {
                if ConstantTime.equal(Array(factor.secret), hash) { match = factor }
            }
            guard let match else { return false }
            return try vaulting { try catalog.spendRecoveryCode(factor: match.id, atMillis: nowMillis) }
        }
        return false
    }

    /// The person a passkey answer signs in (or confirms, when `account` is given), or nil.
    func verifyPasskey(_ assertion: PasskeyAssertion, challenge: [UInt8], relyingParty: RelyingParty,
                       account: String?) throws -> (UserAccount, SignInFactor)? {
        guard !assertion.credentialID.isEmpty, assertion.credentialID.count <= 1023,
              let factor = try vaulting({ try catalog.factor(credentialID: Data(assertion.credentialID)) }),
              factor.kind == .passkey, account == nil || factor.account == account,
              verifiedSignature(factor.signedMessage(vaultID: vaultID), factor.signature),
              let user = try vaulting({ try catalog.user(account: factor.account) }), !user.isRevoked, verifiedUserRow(user)
        else { return nil }
        let stored = PasskeyCredential(credentialID: Array(factor.credentialID ?? Data()), publicKey: Array(factor.secret),
                                       signCount: UInt32(clamping: factor.counter), userHandle: Array(user.id.utf8))
        let updated: PasskeyCredential
        do {
            updated = try relyingParty.verifier().verifyAuthentication(
                credentialID: assertion.credentialID, clientDataJSON: assertion.clientDataJSON,
                authenticatorData: assertion.authenticatorData, signature: assertion.signature,
                userHandle: assertion.userHandle, expectedChallenge: challenge, credential: stored)
        } catch is SignInError {
            return nil
        }
        // A counter that moves is stored before the answer; one that stays 0 (many passkeys)
        // has nothing to store.
        if updated.signCount != 0 || factor.counter != 0 {
            guard try vaulting({ try catalog.advanceCounter(factor: factor.id, to: Int64(updated.signCount)) }) else { return nil }
        }
        return (user, factor)
    }

    func startSession(_ user: UserAccount, client: SignInClient, how: String) throws -> StartedSession {
        let token = Base64URL.encode(randomPublicBytes(32))
        let now = nowMillis
        var session = SignInSession(
            idHash: Self.tokenHash(token), account: user.id, createdAtMillis: now, factorAtMillis: now, lastSeenAtMillis: now,
            browser: client.browser, address: client.address)
        guard let principal = Principal(user) else { throw VaultError.signIn(.failed) }
        try vaulting {
            let signer = try requireKeys("sign-in").auditSigner()
            session.signature = Data(try signer.sign(session.signedMessage(vaultID: vaultID)))
            try catalog.addSession(
                session, event: AuditEntry(actor: principal.actor, action: .signIn, outcome: .ok,
                                           reason: "with \(how), from \(client.address); session \(session.handle)"),
                signer: signer)
        }
        return StartedSession(token: token, csrfToken: Self.csrfToken(forSession: token), principal: principal,
                              facts: SessionFacts(handle: session.handle, factorAt: Date(millis: now)))
    }

    func recordStepUp(_ session: SignInSession, _ user: UserAccount, how: String) throws -> SessionFacts {
        var session = session
        session.factorAtMillis = nowMillis
        try vaulting {
            let signer = try requireKeys("step-up").auditSigner()
            session.signature = Data(try signer.sign(session.signedMessage(vaultID: vaultID)))
            try catalog.updateSession(
                session, event: AuditEntry(actor: Principal.actor(of: user), action: .stepUp, outcome: .ok,
                                           reason: "with \(how); session \(session.handle)"),
                signer: signer)
        }
        return SessionFacts(handle: session.handle, factorAt: Date(millis: session.factorAtMillis))
    }

    func liveSession(token: String) throws -> (SignInSession, UserAccount)? {
        guard token.utf8.count == 43,
              let session = try vaulting({ try catalog.session(idHash: Self.tokenHash(token)) }),
              verifiedSignature(session.signedMessage(vaultID: vaultID), session.signature) else { return nil }
        guard isLive(session, now: nowMillis) else {
            try endExpired(session)
            return nil
        }
        guard let user = try vaulting({ try catalog.user(account: session.account) }), !user.isRevoked, verifiedUserRow(user) else { return nil }
        return (session, user)
    }

    /// Ends every session past its idle or absolute limit, each with a `session-end` event naming
    /// its person and the limit (the server runs this every minute, so a session that is never
    /// presented again still ends on the record). Returns how many ended.
    func endExpiredSessions() throws -> Int {
        let expired = try vaulting { try catalog.expiredSessions(idleBefore: idleCutoff, startedBefore: absoluteCutoff) }
        for session in expired { try endExpired(session, sweepOthers: false) }
        return expired.count
    }

    /// Ends a session presented after its idle or absolute limit, with an event naming the
    /// person and which limit it passed, and sweeps any other expired sessions.
    func endExpired(_ session: SignInSession, sweepOthers: Bool = true) throws {
        let limit = session.createdAtMillis < absoluteCutoff
            ? "more than \(Int(sessionPolicy.absoluteLimit / 60)) minutes since sign-in"
            : "unused for more than \(Int(sessionPolicy.idleTimeout / 60)) minutes"
        let actor: AuditActor = try vaulting({ try catalog.user(account: session.account) }).map(Principal.actor(of:)) ?? .system
        _ = try vaulting {
            try catalog.endSessions(
                account: session.account, idHashes: [session.idHash],
                event: AuditEntry(actor: actor, action: .sessionEnd, outcome: .ok, reason: "session \(session.handle): \(limit)"),
                signer: signer)
        }
        if sweepOthers { _ = try endExpiredSessions() }
    }

    func isLive(_ session: SignInSession, now: Int64) -> Bool {
        session.lastSeenAtMillis >= idleCutoff && session.createdAtMillis >= absoluteCutoff
    }

    var idleCutoff: Int64 { nowMillis - Int64(sessionPolicy.idleTimeout * 1000) }
    var absoluteCutoff: Int64 { nowMillis - Int64(sessionPolicy.absoluteLimit * 1000) }

    /// Begins an attempt (holding the name until it ends: SignInThrottle), or refuses it with
    /// the seconds to wait.
    func beginAttempt(name: String?, _ client: SignInClient) throws {
        if let seconds = try vaulting({ try signInThrottle.attempt(name: name, address: client.address) }) {
            throw VaultError.signIn(.slowDown(seconds: seconds))
        }
    }

    /// Counts the failure of the attempt begun against the name (nil: none claimed) and the
    /// address, frees the name, and audits it coalesced per source (one event per source and minute), naming
    /// the person only when the name is an account.
    func failedSignIn(name: String?, user: UserAccount?, client: SignInClient, what: String) throws {
        try vaulting { try signInThrottle.failed(name: name, address: client.address) }
        try recordAnonymousRefusal(.failedSignIn, request: user.map { "\(what) as \(Principal.actor(of: $0))" } ?? what, from: client.address)
    }
}
