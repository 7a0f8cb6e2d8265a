import Foundation
import KeyManagement
import SignIn
import Storage

/// A person's new enrolment link: the token is shown once (in the link), only its hash is kept.
public struct IssuedEnrolment: Sendable {
    public let user: UserAccount
    public let token: String
    public let expiresAt: Date
}

/// Who an enrolment link is for, as the enrolment page shows it.
public struct EnrolmentView: Sendable, Equatable {
    public let name: String
    public let role: String
    public let schools: [String]
    public let expiresAt: Date
}

/// The authenticator app's secret while enrolling: shown once, as text and as a QR code.
public struct TOTPEnrolment: Sendable {
    public let secretBase32: String
    public let otpauthURI: String
}

extension Vault {
    static let enrolmentLifetime: TimeInterval = 72 * 3600
    static let recoveryCodeCount = 10

    func addPerson(name: String, role: Role, schools: [String], by caller: Caller) throws -> IssuedEnrolment {
        try requireOperator(caller, .userAdd)
        return try issuePerson(name: name, role: role, schools: schools, by: caller)
    }

    /// Adds the person and their enrolment link, for a caller already allowed to.
    func issuePerson(name: String, role: Role, schools: [String], by caller: Caller) throws -> IssuedEnrolment {
        let keys = try requireKeys("user add")
        return try vaulting {
            try OpaqueID.validate(name, field: "user name")
            guard !schools.isEmpty else { throw VaultError.invalidArgument("a user needs at least one school (--school)") }
            for school in schools { try OpaqueID.validate(school, field: "school id") }
            // A person signs in with factors, never a bearer token: the token hash is of 32
            // random bytes nobody ever sees.
            var user = UserAccount(
                name: name, role: role.rawValue, schools: Array(Set(schools)).sorted(),
                tokenHash: Data(SHA256Hasher.hash(randomPublicBytes(32))),
                createdAtMillis: nowMillis, createdBy: LogText.escape(caller.actor.description))
            let signer = try keys.auditSigner()
            user.signature = Data(try signer.sign(user.signedMessage(vaultID: vaultID)))
            let (enrolment, token) = try newEnrolment(account: user.id, signer: signer)
            try catalog.addUser(
                user, enrolment: enrolment,
                event: AuditEntry(actor: caller.actor, action: .userAdd, outcome: .ok,
                                  reason: "person \(name) (account \(user.id)), role \(role.rawValue), schools \(user.schools.joined(separator: " ")); enrolment link issued"),
                signer: signer)
            return IssuedEnrolment(user: user, token: token, expiresAt: Date(millis: enrolment.expiresAtMillis))
        }
    }

    func resetPerson(name: String, by caller: Caller) throws -> IssuedEnrolment {
        try requireOperator(caller, .userReset)
        let keys = try requireKeys("user reset")
        return try vaulting {
            guard let user = try catalog.users().first(where: { $0.name == name && !$0.isRevoked }), verifiedUserRow(user) else {
                throw StorageError.userNotFound(name)
            }
            let signer = try keys.auditSigner()
            let (enrolment, token) = try newEnrolment(account: user.id, signer: signer)
            try catalog.resetSignIn(
                account: user.id, enrolment: enrolment,
                event: AuditEntry(actor: caller.actor, action: .userReset, outcome: .ok,
                                  reason: "user \(LogText.escape(name)) (account \(user.id)): factors removed, sessions ended, new enrolment link issued"),
                signer: signer)
            return IssuedEnrolment(user: user, token: token, expiresAt: Date(millis: enrolment.expiresAtMillis))
        }
    }

    func enrolment(token: String) throws -> EnrolmentView {
        let (_, user) = try usableEnrolment(token)
        return EnrolmentView(name: user.name, role: user.role, schools: user.schools, expiresAt: Date(millis: try usableEnrolment(token).0.expiresAtMillis))
    }

    func setEnrolmentPassphrase(token: String, passphrase: String) throws -> TOTPEnrolment {
        let keys = try requireKeys("enrolment")
        let (enrolment, user) = try usableEnrolment(token)
        if let problem = PassphraseRules.problem(passphrase, name: user.name) {
            throw VaultError.signIn(.weakPassphrase(problem))
        }
        let hash = try hashPassphrase(passphrase)
        return try vaulting {
            let secret = try TOTPSecret.generate()
            let sealed = try keys.seal(secret.bytes, for: totpBinding(account: user.id))
            guard try catalog.setPendingFactors(tokenHash: enrolment.tokenHash, passphrase: hash, totp: Data(sealed)) else {
                throw VaultError.signIn(.enrolmentUnusable)
            }
            return TOTPEnrolment(secretBase32: secret.base32(), otpauthURI: try OTPAuthURI.make(accountName: user.name, secret: secret))
        }
    }

    func confirmEnrolmentTOTP(token: String, code: String) throws -> [String] {
        let keys = try requireKeys("enrolment")
        let (enrolment, user) = try usableEnrolment(token)
        guard let passphrase = enrolment.pendingPassphrase, let sealed = enrolment.pendingTOTP else {
            throw VaultError.invalidArgument("set a passphrase first")
        }
        return try vaulting {
            let secret = try TOTPSecret(try keys.unseal(Array(sealed), for: totpBinding(account: user.id)))
            guard let step = TOTP(secret: secret).verify(code: code, at: clock(), lastUsedStep: nil) else {
                throw VaultError.signIn(.wrongCode)
            }
            let signer = try keys.auditSigner()
            let now = nowMillis
            var factors = [
                SignInFactor(account: user.id, kind: .passphrase, createdAtMillis: now, secret: Data(passphrase.utf8)),
                SignInFactor(account: user.id, kind: .totp, createdAtMillis: now, secret: sealed, counter: Int64(step)),
            ]
            let codes = (0..<Self.recoveryCodeCount).map { _ in Self.newRecoveryCode() }
            for code in codes {
                factors.append(SignInFactor(account: user.id, kind: .recovery, createdAtMillis: now,
                                            secret: Data(recoveryCodeHash(code, account: user.id))))
            }
            for i in factors.indices { factors[i].signature = Data(try signer.sign(factors[i].signedMessage(vaultID: vaultID))) }
            try catalog.completeEnrolment(
                tokenHash: enrolment.tokenHash, usedAtMillis: now, factors: factors,
                event: AuditEntry(actor: Principal.actor(of: user), action: .enrol, outcome: .ok,
                                  reason: "passphrase, authenticator app and \(codes.count) recovery codes added"),
                signer: signer)
            return codes
        }
    }

    func pendingOTPAuthURI(token: String) throws -> String? {
        let keys = try requireKeys("enrolment")
        let (enrolment, user) = try usableEnrolment(token)
        guard let sealed = enrolment.pendingTOTP else { return nil }
        return try vaulting {
            let secret = try TOTPSecret(try keys.unseal(Array(sealed), for: totpBinding(account: user.id)))
            return try OTPAuthURI.make(accountName: user.name, secret: secret)
        }
    }

    func beginEnrolmentPasskey(token: String, relyingParty: RelyingParty) throws -> PasskeyCreationOptions {
        let (enrolment, user) = try usableEnrolment(token)
        let challenge = try signingIn { try challenges.issue(for: "enrol:" + Hex.encode(enrolment.tokenHash)) }
        return PasskeyCreationOptions(
            challenge: challenge, relyingParty: relyingParty, userID: Array(user.id.utf8), userName: user.name,
            timeoutMillis: Int(challenges.lifetime * 1000))
    }

    func finishEnrolmentPasskey(
        token: String, credentialID: [UInt8], clientDataJSON: [UInt8], attestationObject: [UInt8], relyingParty: RelyingParty
    ) throws {
        let keys = try requireKeys("enrolment")
        let (enrolment, user) = try usableEnrolment(token)
        guard let challenge = try vaulting({ try challenges.take(for: "enrol:" + Hex.encode(enrolment.tokenHash)) }) else {
            throw VaultError.signIn(.passkeyRefused("the registration took too long or was not started; try again"))
        }
        let credential: PasskeyCredential
        do {
            credential = try relyingParty.verifier().verifyRegistration(
                clientDataJSON: clientDataJSON, attestationObject: attestationObject, expectedChallenge: challenge,
                userHandle: Array(user.id.utf8))
        } catch let error as SignInError {
            throw VaultError.signIn(.passkeyRefused(Self.describe(error)))
        }
        guard credential.credentialID == credentialID else {
            throw VaultError.signIn(.passkeyRefused("the credential id does not match the attested one"))
        }
        try vaulting {
            let signer = try keys.auditSigner()
            var factor = SignInFactor(
                account: user.id, kind: .passkey, createdAtMillis: nowMillis, secret: Data(credential.publicKey),
                credentialID: Data(credential.credentialID), counter: Int64(credential.signCount))
            factor.signature = Data(try signer.sign(factor.signedMessage(vaultID: vaultID)))
            try catalog.completeEnrolment(
                tokenHash: enrolment.tokenHash, usedAtMillis: nowMillis, factors: [factor],
                event: AuditEntry(actor: Principal.actor(of: user), action: .enrol, outcome: .ok,
                                  reason: "passkey \(Self.credentialLabel(credential.credentialID)) added"),
                signer: signer)
        }
    }

    // MARK: helpers

    func newEnrolment(account: String, signer: AuditSigner) throws -> (Enrolment, String) {
        let token = Base64URL.encode(randomPublicBytes(32))
        var enrolment = Enrolment(
            tokenHash: Self.tokenHash(token), account: account, createdAtMillis: nowMillis,
            expiresAtMillis: nowMillis + Int64(Self.enrolmentLifetime * 1000))
        enrolment.signature = Data(try signer.sign(enrolment.signedMessage(vaultID: vaultID)))
        return (enrolment, token)
    }

    /// The link's row and person, if the link exists, is signed by the vault, is unused and
    /// unexpired, and its person is active; else `.enrolmentUnusable`, whichever it was.
    func usableEnrolment(_ token: String) throws -> (Enrolment, UserAccount) {
        guard token.utf8.count == 43,
              let enrolment = try vaulting({ try catalog.enrolment(tokenHash: Self.tokenHash(token)) }),
              verifiedSignature(enrolment.signedMessage(vaultID: vaultID), enrolment.signature),
              enrolment.usedAtMillis == nil, nowMillis < enrolment.expiresAtMillis,
              let user = try vaulting({ try catalog.user(account: enrolment.account) }), !user.isRevoked, verifiedUserRow(user)
        else {
            try refuseWaitingEnrolment(token)
            throw VaultError.signIn(.enrolmentUnusable)
        }
        return (enrolment, user)
    }

    func hashPassphrase(_ passphrase: String) throws -> String {
        passphraseGate.wait()
        defer { passphraseGate.signal() }
        return try vaulting { try PassphraseHash.hash(passphrase, limits: passphraseLimits) }
    }

    func totpBinding(account: String) -> [UInt8] {
        var b = Binding(label: "strongroom/v1/totp-secret")
        b.append(vaultID)
        b.append(account)
        return b.bytes
    }

    /// 80 random bits as four groups of four base32 letters and digits: "k7qp-2mxa-…".
    static func newRecoveryCode() -> String {
        let text = Base32.encode(randomPublicBytes(10)).lowercased()
        return stride(from: 0, to: 16, by: 4).map { i in
            String(text[text.index(text.startIndex, offsetBy: i)..<text.index(text.startIndex, offsetBy: i + 4)])
        }.joined(separator: "-")
    }

    func recoveryCodeHash(_ code: String, account: String) -> [UInt8] {
        let normalised = String(code.lowercased().unicodeScalars.filter { $0 != "-" && $0 != " " }.map(Character.init))
        var b = Binding(label: "strongroom/v1/recovery-code")
        b.append(vaultID)
        b.append(account)
        b.append(normalised)
        return SHA256Hasher.hash(b.bytes)
    }

    /// A short public label for a passkey in audit events: never the whole credential id.
    static func credentialLabel(_ id: [UInt8]) -> String { Hex.encode(Array(SHA256Hasher.hash(id).prefix(4))) }

    static func describe(_ error: SignInError) -> String {
        switch error {
        case .userNotVerified: "the authenticator did not verify you (a PIN or fingerprint is needed)"
        case .unsupportedAlgorithm: "this kind of passkey is not supported (ES256 or Ed25519 are)"
        case .unsupportedAttestationFormat: "the authenticator's attestation is not accepted"
        case .originMismatch, .rpIDMismatch, .crossOriginNotAllowed: "it was made for another site"
        case .challengeMismatch, .wrongCeremony: "it does not answer this request"
        default: "the authenticator's answer could not be verified"
        }
    }

    /// Whether `signature` is the vault's over `message`, remembered once checked.
    func verifiedSignature(_ message: [UInt8], _ signature: Data) -> Bool {
        let key = Data(message) + signature
        if verifiedRowsLock.withLock({ verifiedRows.contains(key) }) { return true }
        guard publicKey.verify(signature: Array(signature), message: message) else { return false }
        verifiedRowsLock.withLock {
            if verifiedRows.count > 10_000 { verifiedRows.removeAll() }
            verifiedRows.insert(key)
        }
        return true
    }

    func signingIn<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch SignInError.tooManyOutstandingChallenges {
            throw VaultError.busy("too many sign-ins are under way; try again in a minute")
        } catch {
            throw VaultError.wrap(error)
        }
    }
}

extension Principal {
    /// The account as the vault sees it on a request; nil for a role this build does not know
    /// (refused rather than guessed).
    init?(_ user: UserAccount) {
        guard let role = Role(rawValue: user.role) else { return nil }
        self.init(name: user.name, role: role, schools: Set(user.schools), account: user.id)
    }

    /// How an account appears in audit events, whatever its role.
    static func actor(of user: UserAccount) -> AuditActor { .user(name: user.name, account: user.id) }
}

extension Date {
    init(millis: Int64) { self.init(timeIntervalSince1970: Double(millis) / 1000) }
}
