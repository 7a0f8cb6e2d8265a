import SignIn

/// The service as passkeys know it: the host name credentials are scoped to (RP ID) and the
/// exact origin pages are served from. The server builds it from its public URL.
public struct RelyingParty: Sendable, Equatable {
    public var id: String
    public var origin: String
    public var name: String

    public init(id: String, origin: String, name: String = "Strongroom") {
        self.id = id
        self.origin = origin
        self.name = name
    }

    func verifier() throws -> WebAuthnVerifier {
        do { return try WebAuthnVerifier(relyingPartyID: id, origin: origin) } catch {
            throw VaultError.misconfigured("the service's passkey settings are unusable: relying party id and origin must not be empty")
        }
    }
}

/// What a browser needs to create a passkey (PublicKeyCredentialCreationOptions, as bytes).
public struct PasskeyCreationOptions: Sendable {
    public var challenge: [UInt8]
    public var relyingParty: RelyingParty
    /// The account id's bytes: what the authenticator hands back at sign-in.
    public var userID: [UInt8]
    public var userName: String
    public var timeoutMillis: Int
}

/// What a browser needs to sign in or confirm with a passkey (PublicKeyCredentialRequestOptions).
public struct PasskeyRequestOptions: Sendable {
    /// Names this ceremony in the finishing request.
    public var ceremony: String
    public var challenge: [UInt8]
    public var relyingPartyID: String
    /// Empty at sign-in (the passkey says whose it is); the person's passkeys at step-up.
    public var allowCredentials: [[UInt8]]
    public var timeoutMillis: Int
}

/// A passkey's answer to a request, as the browser sends it (bytes, decoded from base64url).
public struct PasskeyAssertion: Sendable {
    public var credentialID: [UInt8]
    public var clientDataJSON: [UInt8]
    public var authenticatorData: [UInt8]
    public var signature: [UInt8]
    public var userHandle: [UInt8]?

    public init(credentialID: [UInt8], clientDataJSON: [UInt8], authenticatorData: [UInt8], signature: [UInt8], userHandle: [UInt8]?) {
        self.credentialID = credentialID
        self.clientDataJSON = clientDataJSON
        self.authenticatorData = authenticatorData
        self.signature = signature
        self.userHandle = userHandle
    }
}
