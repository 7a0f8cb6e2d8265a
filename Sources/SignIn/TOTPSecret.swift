import KeyManagement

/// The shared secret of one person's TOTP authenticator: 20 random bytes (160 bits, the length
/// RFC 4226 recommends for HMAC-SHA-1), kept in guarded memory like every other key.
///
///     let secret = try TOTPSecret.generate()
///     let uri = try OTPAuthURI.make(accountName: "j.smith", secret: secret)   // shown once, as a QR code
///     // store secret.bytes wrapped by a KEK; load it again with TOTPSecret(bytes)
///
/// Neither `Codable` nor printable, and its mirror is empty: it cannot be logged by accident.
/// `base32()` returns an ordinary String (for the enrolment QR code only), which Swift cannot zero.
public struct TOTPSecret: Sendable {
    public static let byteCount = 20

    /// The raw secret, for the caller to wrap and store.
    public let bytes: SecretBytes

    /// A fresh secret from the OS CSPRNG.
    public static func generate() throws -> TOTPSecret {
        try TOTPSecret(SecretBytes.random(count: byteCount))
    }

    /// A stored secret; refused unless it is exactly `byteCount` bytes.
    public init(_ bytes: SecretBytes) throws {
        guard bytes.count == Self.byteCount else {
            throw SignInError.malformed("a TOTP secret must be \(Self.byteCount) bytes")
        }
        self.bytes = bytes
    }

    /// The secret in RFC 4648 base32 without padding, as authenticator apps read it.
    public func base32() -> String {
        bytes.withUnsafeBytes { Base32.encode(Array($0)) }
    }
}

extension TOTPSecret: CustomReflectable {
    public var customMirror: Mirror { Mirror(self, children: []) }
}
