/// What a caller stores for one registered passkey, attached to exactly one user record. The
/// verifier returns it from a registration and, with the new signature counter, from every
/// authentication: store the returned value each time.
///
/// Nothing in it is secret (the key is the public half), but it is what decides who can sign in:
/// keep it with the same care as the user record.
public struct PasskeyCredential: Sendable, Equatable {
    /// The credential id (1 to 1023 bytes) the authenticator chose.
    public let credentialID: [UInt8]
    /// The credential public key as a COSE_Key in CBOR, exactly as the authenticator sent it.
    public let publicKey: [UInt8]
    /// The last signature counter seen (0 for authenticators that do not count).
    public var signCount: UInt32
    /// The user handle (`user.id`) the server put in the creation options for this user.
    public let userHandle: [UInt8]

    public init(credentialID: [UInt8], publicKey: [UInt8], signCount: UInt32, userHandle: [UInt8]) {
        self.credentialID = credentialID
        self.publicKey = publicKey
        self.signCount = signCount
        self.userHandle = userHandle
    }
}
