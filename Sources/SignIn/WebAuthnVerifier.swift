import Crypto

/// Verifies WebAuthn Level 2 registrations (§7.1) and authentications (§7.2) for one relying
/// party, with the "none" attestation format and ES256 or Ed25519 credentials.
///
///     let verifier = try WebAuthnVerifier(relyingPartyID: "vault.school.example", origin: "https://vault.school.example")
///     // registration: store the returned credential with this user, and only this user
///     let credential = try verifier.verifyRegistration(
///         clientDataJSON: cdj, attestationObject: ao, expectedChallenge: issued, userHandle: user.handle)
///     // sign-in: pass the stored credential of the user being signed in; store what comes back
///     let updated = try verifier.verifyAuthentication(
///         credentialID: rawID, clientDataJSON: cdj, authenticatorData: ad, signature: sig,
///         userHandle: returnedHandle, expectedChallenge: issued, credential: stored)
///
/// Every check is a refusal with its own `SignInError` case: ceremony type, challenge (constant
/// time), exact origin, no cross-origin iframe, RP ID hash, user present, user verified, a
/// supported key, the "none" format with an empty statement (registration), the credential and
/// user handle of the stored record, the signature over authenticatorData || SHA-256(clientDataJSON)
/// and a counter that increased whenever either counter is non-zero (authentication).
public struct WebAuthnVerifier: Sendable {
    /// Shortest expected challenge accepted: a caller's empty or short challenge never matches.
    public static let minChallengeLength = 16
    /// Largest authenticatorData and signature accepted in an authentication.
    public static let maxAuthenticatorDataLength = 16 * 1024
    public static let maxSignatureLength = 512

    public let relyingPartyID: String
    public let origin: String
    let rpIDHash: [UInt8]

    /// `origin` is compared exactly, byte for byte, with clientDataJSON's (scheme, host and port
    /// as the browser writes it, e.g. "https://vault.school.example"); `relyingPartyID` is the
    /// domain the credentials are scoped to. Neither may be empty.
    public init(relyingPartyID: String, origin: String) throws {
        guard !relyingPartyID.isEmpty, !origin.isEmpty else {
            throw SignInError.malformed("relying party id and origin must not be empty")
        }
        self.relyingPartyID = relyingPartyID
        self.origin = origin
        self.rpIDHash = Array(SHA256.hash(data: Array(relyingPartyID.utf8)))
    }

    /// Verifies a registration (navigator.credentials.create) and returns the credential to store
    /// with the user whose `userHandle` was in the creation options.
    public func verifyRegistration(
        clientDataJSON: [UInt8], attestationObject: [UInt8], expectedChallenge: [UInt8], userHandle: [UInt8]
    ) throws -> PasskeyCredential {
        try checkClientData(clientDataJSON, type: "webauthn.create", expectedChallenge: expectedChallenge)
        let attestation = try AttestationObject(attestationObject)
        let authData = attestation.authenticatorData
        try checkAuthenticatorData(authData)
        guard let attested = authData.attestedCredential else {
            throw SignInError.malformed("registration without attested credential data")
        }
        _ = try COSEKey(attested.publicKey)
        // "none" is the only format verified; an attestation we cannot check is not accepted as
        // if it had been checked.
        guard attestation.format.utf8.elementsEqual("none".utf8) else { throw SignInError.unsupportedAttestationFormat }
        guard attestation.statement.isEmpty else { throw SignInError.malformed("attStmt of the none format is not empty") }
        return PasskeyCredential(
            credentialID: attested.credentialID, publicKey: attested.publicKeyCBOR,
            signCount: authData.signCount, userHandle: userHandle)
    }

    /// Verifies an authentication (navigator.credentials.get) against `credential`, the stored
    /// record of the user being signed in, and returns it with the new signature counter, which
    /// the caller must store before answering.
    public func verifyAuthentication(
        credentialID: [UInt8], clientDataJSON: [UInt8], authenticatorData: [UInt8], signature: [UInt8],
        userHandle: [UInt8]?, expectedChallenge: [UInt8], credential: PasskeyCredential
    ) throws -> PasskeyCredential {
        // A credential registered to one person never signs in another.
        guard ConstantTime.equal(credentialID, credential.credentialID) else { throw SignInError.credentialMismatch }
        if let userHandle, !ConstantTime.equal(userHandle, credential.userHandle) { throw SignInError.userHandleMismatch }
        guard authenticatorData.count <= Self.maxAuthenticatorDataLength else {
            throw SignInError.tooLarge(what: "authenticatorData", limit: Self.maxAuthenticatorDataLength)
        }
        guard signature.count <= Self.maxSignatureLength else {
            throw SignInError.tooLarge(what: "signature", limit: Self.maxSignatureLength)
        }
        try checkClientData(clientDataJSON, type: "webauthn.get", expectedChallenge: expectedChallenge)
        let authData = try AuthenticatorData(authenticatorData)
        try checkAuthenticatorData(authData)
        guard authData.attestedCredential == nil else {
            throw SignInError.malformed("an assertion's authenticator data carries attested credential data")
        }
        let key = try COSEKey(cbor: credential.publicKey)
        let signed = authenticatorData + Array(SHA256.hash(data: clientDataJSON))
        guard key.isValidSignature(signature, for: signed) else { throw SignInError.badSignature }
        // Checked after the signature, so that only the credential's holder can raise the alarm.
        let stored = credential.signCount, received = authData.signCount
        if stored != 0 || received != 0, received <= stored {
            throw SignInError.counterDidNotIncrease(stored: stored, received: received)
        }
        var updated = credential
        updated.signCount = received
        return updated
    }

    func checkClientData(_ json: [UInt8], type: String, expectedChallenge: [UInt8]) throws {
        let clientData = try ClientData(json: json)
        guard clientData.type.utf8.elementsEqual(type.utf8) else { throw SignInError.wrongCeremony }
        guard expectedChallenge.count >= Self.minChallengeLength,
              ConstantTime.equal(clientData.challenge, expectedChallenge)
        else { throw SignInError.challengeMismatch }
        guard clientData.origin.utf8.elementsEqual(origin.utf8) else { throw SignInError.originMismatch }
        // Strongroom is never framed by another site: a ceremony inside a cross-origin iframe is
        // someone else's page asking for a signature.
        guard !clientData.crossOrigin, clientData.topOrigin == nil else { throw SignInError.crossOriginNotAllowed }
    }

    func checkAuthenticatorData(_ authData: AuthenticatorData) throws {
        guard ConstantTime.equal(authData.rpIDHash, rpIDHash) else { throw SignInError.rpIDMismatch }
        guard authData.flags.contains(.userPresent) else { throw SignInError.userNotPresent }
        guard authData.flags.contains(.userVerified) else { throw SignInError.userNotVerified }
    }
}
