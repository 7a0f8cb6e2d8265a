import Crypto
import Foundation

/// RFC 6238 time-based one-time passwords as every authenticator app computes them by default:
/// HMAC-SHA-1, 6 digits, 30-second steps counted from the Unix epoch.
///
///     let totp = TOTP(secret: secret)
///     if let step = totp.verify(code: typed, at: Date(), lastUsedStep: record.lastTOTPStep) {
///         record.lastTOTPStep = step      // store it before answering: each code is accepted once
///     }
///
/// A code is accepted for the current step or one step either side (a clock up to about 30 s
/// off), and only for a step after `lastUsedStep`, so a code seen over a shoulder or replayed
/// from a log cannot be used again, nor can an older code once a newer one has been used.
public struct TOTP: Sendable {
    public static let digits = 6
    public static let period: UInt64 = 30
    /// Steps accepted either side of the current one.
    public static let drift: UInt64 = 1

    public let secret: TOTPSecret

    public init(secret: TOTPSecret) { self.secret = secret }

    /// The step a moment falls in, or nil before the epoch (or not a number).
    public static func step(at date: Date) -> UInt64? {
        let seconds = date.timeIntervalSince1970
        guard seconds.isFinite, seconds >= 0, seconds < 9.2e18 else { return nil }
        return UInt64(seconds) / period
    }

    /// The step `code` was made for, if it is exactly six ASCII digits, matches the current step
    /// or one either side, and that step is after `lastUsedStep` (nil: no code used yet).
    /// Anything else, including spaces and non-ASCII digits, gives nil.
    public func verify(code: String, at date: Date, lastUsedStep: UInt64?) -> UInt64? {
        let typed = Array(code.utf8)
        guard typed.count == Self.digits,
              typed.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
              let now = Self.step(at: date)
        else { return nil }
        var matched: UInt64?
        let first = now >= Self.drift ? now - Self.drift : 0
        // Every candidate is computed and compared, so timing does not tell which one matched.
        for step in first...(now + Self.drift) {
            let fresh = lastUsedStep.map { step > $0 } ?? true
            if ConstantTime.equal(self.code(step: step, digits: Self.digits), typed), fresh { matched = step }
        }
        return matched
    }

    /// The code for `step` as ASCII digits (RFC 4226 dynamic truncation). `digits` is 6 in use;
    /// 8 reproduces RFC 6238's published vectors.
    func code(step: UInt64, digits: Int) -> [UInt8] {
        precondition((1...9).contains(digits))
        let counter = withUnsafeBytes(of: step.bigEndian) { Array($0) }
        let mac = secret.bytes.withUnsafeBytes { raw in
            Array(HMAC<Insecure.SHA1>.authenticationCode(for: counter, using: SymmetricKey(data: raw)))
        }
        let offset = Int(mac[mac.count - 1] & 0x0f)
        let binary = (UInt32(mac[offset] & 0x7f) << 24) | (UInt32(mac[offset + 1]) << 16)
            | (UInt32(mac[offset + 2]) << 8) | UInt32(mac[offset + 3])
        var modulus: UInt32 = 1
        for _ in 0..<digits { modulus *= 10 }
        var value = binary % modulus
        var out = [UInt8](repeating: UInt8(ascii: "0"), count: digits)
        for index in stride(from: digits - 1, through: 0, by: -1) {
            out[index] = UInt8(ascii: "0") + UInt8(value % 10)
            value /= 10
        }
        return out
    }
}
