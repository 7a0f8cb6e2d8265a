/// Authenticator data (WebAuthn Level 2 §6.1): what the authenticator signs about itself.
///
///     rpIdHash (32) | flags (1) | signCount (4, big-endian)
///     | attestedCredentialData (when AT): aaguid (16) | credentialIdLength (2, big-endian)
///                                          | credentialId | credentialPublicKey (COSE_Key, CBOR)
///     | extensions (when ED): one CBOR map
///
/// Parsing is strict: attested credential data exactly when AT is set, an extensions map exactly
/// when ED is set, nothing after the last part, a credential id of 1 to 1023 bytes, and BS
/// (backed up) only with BE (backup eligible).
public struct AuthenticatorData: Sendable {
    public struct Flags: OptionSet, Sendable {
        public let rawValue: UInt8
        public init(rawValue: UInt8) { self.rawValue = rawValue }
        public static let userPresent = Flags(rawValue: 0x01)
        public static let userVerified = Flags(rawValue: 0x04)
        public static let backupEligible = Flags(rawValue: 0x08)
        public static let backedUp = Flags(rawValue: 0x10)
        public static let attestedCredentialData = Flags(rawValue: 0x40)
        public static let extensionData = Flags(rawValue: 0x80)
    }

    public struct AttestedCredential: Sendable {
        public let aaguid: [UInt8]
        public let credentialID: [UInt8]
        /// The COSE_Key exactly as the authenticator encoded it, for the caller to store.
        public let publicKeyCBOR: [UInt8]
        public let publicKey: CBORValue
    }

    /// Largest credential id accepted (WebAuthn Level 3 §6.5.1 caps it at 1023 bytes).
    public static let maxCredentialIDLength = 1023
    /// rpIdHash, flags and signCount.
    static let fixedLength = 37

    public let rpIDHash: [UInt8]
    public let flags: Flags
    public let signCount: UInt32
    public let attestedCredential: AttestedCredential?
    public let extensions: CBORValue?

    public init(_ bytes: [UInt8]) throws {
        guard bytes.count >= Self.fixedLength else {
            throw SignInError.malformed("authenticator data is shorter than \(Self.fixedLength) bytes")
        }
        rpIDHash = Array(bytes[0..<32])
        flags = Flags(rawValue: bytes[32])
        signCount = bytes[33..<37].reduce(0) { ($0 << 8) | UInt32($1) }
        if flags.contains(.backedUp), !flags.contains(.backupEligible) {
            throw SignInError.malformed("authenticator data says backed up but not backup eligible")
        }
        var position = Self.fixedLength
        if flags.contains(.attestedCredentialData) {
            guard bytes.count - position >= 18 else {
                throw SignInError.malformed("attested credential data is truncated")
            }
            let aaguid = Array(bytes[position..<position + 16])
            let idLength = Int(bytes[position + 16]) << 8 | Int(bytes[position + 17])
            position += 18
            guard (1...Self.maxCredentialIDLength).contains(idLength) else {
                throw SignInError.malformed("credential id length is not 1 to \(Self.maxCredentialIDLength)")
            }
            guard bytes.count - position >= idLength else { throw SignInError.malformed("credential id is truncated") }
            let credentialID = Array(bytes[position..<position + idLength])
            position += idLength
            let (key, end) = try CBOR.decodeItem(in: bytes, at: position)
            attestedCredential = AttestedCredential(
                aaguid: aaguid, credentialID: credentialID, publicKeyCBOR: Array(bytes[position..<end]), publicKey: key)
            position = end
        } else {
            attestedCredential = nil
        }
        if flags.contains(.extensionData) {
            let (value, end) = try CBOR.decodeItem(in: bytes, at: position)
            guard case .map = value else { throw SignInError.malformed("authenticator extensions are not a map") }
            extensions = value
            position = end
        } else {
            extensions = nil
        }
        guard position == bytes.count else { throw SignInError.malformed("bytes after the authenticator data") }
    }
}
