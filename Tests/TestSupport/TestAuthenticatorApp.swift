import Crypto
import Foundation
import SignIn

/// An authenticator app, as a person's phone runs it: given the base32 secret shown at
/// enrolment, it computes RFC 6238 codes (HMAC-SHA-1, 6 digits, 30 s) on its own, not with the
/// code the vault verifies with, so a mistake in one shows up against the other.
public struct TestAuthenticatorApp: Sendable {
    private let secret: [UInt8]

    public init(base32 secret: String) throws {
        self.secret = try Base32.decode(secret)
    }

    /// The code the app shows at `date`.
    public func code(at date: Date) -> String {
        let step = UInt64(date.timeIntervalSince1970) / 30
        let counter = (0..<8).reversed().map { UInt8(truncatingIfNeeded: step >> (8 * UInt64($0))) }
        let mac = Array(HMAC<Insecure.SHA1>.authenticationCode(for: counter, using: SymmetricKey(data: secret)))
        let offset = Int(mac[19] & 0x0f)
        let value = (UInt32(mac[offset] & 0x7f) << 24 | UInt32(mac[offset + 1]) << 16 | UInt32(mac[offset + 2]) << 8 | UInt32(mac[offset + 3])) % 1_000_000
        let digits = String(value)
        return String(repeating: "0", count: 6 - digits.count) + digits
    }
}
