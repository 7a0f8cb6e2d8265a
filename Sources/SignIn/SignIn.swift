// SignIn: the verification core of signing in to Strongroom, with a passkey (WebAuthn) or with a
// passphrase and a TOTP code. It reads attacker-controlled bytes and answers yes or no; it does no
// I/O, keeps no state of its own (except the optional in-memory `ChallengeStore`) and knows
// nothing of HTTP, sessions or users beyond the credential record a caller hands it.
//
// Guarantees: every parser is bounded (input sizes, CBOR nesting depth, credential id length) and
// refuses what it does not understand with a `SignInError` rather than guessing; no input can
// make it crash or allocate more than a small multiple of the input's length; challenges and TOTP
// codes are compared in constant time; a WebAuthn assertion is accepted only with user presence
// and user verification, for the exact origin and RP ID configured, signed by the credential
// record the caller says belongs to the user being signed in, with a signature counter that did
// not go backwards. Only ES256 and Ed25519 keys and the "none" attestation format are accepted.
//
// Does not guarantee: that a challenge is used once, or a TOTP step accepted once: the caller
// stores the last used step and the challenges it issued (docs/signin.md says how); anything
// about the authenticator's make or provenance (no attestation is verified).

/// The one error type of the module. Every refusal of a sign-in or registration is one of these;
/// none carries a secret, a code or the bytes that were refused.
public enum SignInError: Error, Equatable, Sendable {
    /// The bytes do not parse as what they claim to be (CBOR, COSE key, authenticator data,
    /// client data, base32, base64url). The text names the part that was wrong.
    case malformed(String)
    /// An input is larger than this module accepts (`what` names it, `limit` in bytes).
    case tooLarge(what: String, limit: Int)
    /// clientDataJSON's type is not the ceremony being verified ("webauthn.create" for a
    /// registration, "webauthn.get" for an authentication).
    case wrongCeremony
    /// The challenge signed is not the one the server issued for this ceremony.
    case challengeMismatch
    /// The origin in clientDataJSON is not exactly the configured origin.
    case originMismatch
    /// The ceremony ran in a cross-origin iframe; Strongroom is never embedded.
    case crossOriginNotAllowed
    /// The authenticator data is for another relying party (its rpIdHash is not SHA-256(RP ID)).
    case rpIDMismatch
    /// The authenticator did not test that a user was present (UP flag clear).
    case userNotPresent
    /// The authenticator did not verify the user (UV flag clear): a PIN or biometric is required.
    case userNotVerified
    /// The attestation statement format is not "none"; no other format is verified.
    case unsupportedAttestationFormat
    /// The credential's COSE algorithm is not ES256 (-7) or Ed25519 (-8), or it has no algorithm.
    case unsupportedAlgorithm(Int64?)
    /// The signature does not verify with the stored credential's public key.
    case badSignature
    /// The signature counter did not increase: the authenticator may have been cloned.
    case counterDidNotIncrease(stored: UInt32, received: UInt32)
    /// The credential used is not the one recorded for the user being signed in.
    case credentialMismatch
    /// The user handle returned by the authenticator belongs to another user.
    case userHandleMismatch
    /// A TOTP account name was empty or too long to put in an otpauth URI.
    case invalidAccountName
    /// The challenge store holds as many outstanding challenges as it allows.
    case tooManyOutstandingChallenges
}
