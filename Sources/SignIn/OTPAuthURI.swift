/// The `otpauth://` URI an authenticator app scans from a QR code at enrolment (the Key URI
/// format that Google Authenticator defined and other apps follow):
///
///     otpauth://totp/Strongroom:j.smith?secret=JBSWY3DPEHPK3PXP&issuer=Strongroom&algorithm=SHA1&digits=6&period=30
///
/// The account name is percent-encoded as UTF-8, keeping only RFC 3986's unreserved characters,
/// so a colon, space, `&`, `?` or `#` in it cannot change the URI's meaning. The URI holds the
/// secret: show it once and never log or store it.
public enum OTPAuthURI {
    public static let issuer = "Strongroom"
    /// Longest account name accepted, in UTF-8 bytes (apps truncate long labels anyway).
    public static let maxAccountNameBytes = 256

    public static func make(accountName: String, secret: TOTPSecret) throws -> String {
        let name = Array(accountName.utf8)
        guard !name.isEmpty, name.count <= maxAccountNameBytes else { throw SignInError.invalidAccountName }
        return "otpauth://totp/\(issuer):\(percentEncode(name))?secret=\(secret.base32())"
            + "&issuer=\(issuer)&algorithm=SHA1&digits=\(TOTP.digits)&period=\(TOTP.period)"
    }

    static func percentEncode(_ bytes: [UInt8]) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 3)
        for byte in bytes {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(byte)
            default:
                out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0x0f)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
