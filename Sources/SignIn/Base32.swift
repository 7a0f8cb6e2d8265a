/// RFC 4648 base32 (alphabet A–Z, 2–7) without padding, the form authenticator apps expect in an
/// otpauth URI's `secret` parameter.
///
///     Base32.encode([0x66, 0x6f, 0x6f])      // "MZXW6"
///     try Base32.decode("MZXW6")             // [0x66, 0x6f, 0x6f]
///
/// Decoding is strict so that one secret has one spelling: lower case is accepted (people type
/// it), but padding, spaces, other characters, impossible lengths and non-zero bits after the
/// last whole byte are refused.
public enum Base32 {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        var out = [UInt8]()
        out.reserveCapacity((bytes.count * 8 + 4) / 5)
        var buffer: UInt32 = 0
        var bits = 0
        for byte in bytes {
            buffer = (buffer << 8) | UInt32(byte)
            bits += 8
            while bits >= 5 {
                bits -= 5
                out.append(alphabet[Int((buffer >> UInt32(bits)) & 31)])
            }
        }
        if bits > 0 { out.append(alphabet[Int((buffer << UInt32(5 - bits)) & 31)]) }
        return String(decoding: out, as: UTF8.self)
    }

    public static func decode(_ text: String) throws -> [UInt8] {
        let chars = Array(text.utf8)
        // 8 characters carry 5 bytes; a final group of 1, 3 or 6 characters cannot end on a byte.
        guard ![1, 3, 6].contains(chars.count % 8) else {
            throw SignInError.malformed("base32 text has an impossible length")
        }
        var out = [UInt8]()
        out.reserveCapacity(chars.count * 5 / 8)
        var buffer: UInt32 = 0
        var bits = 0
        for char in chars {
            guard let value = value(of: char) else {
                throw SignInError.malformed("base32 text has a character outside A-Z and 2-7")
            }
            buffer = (buffer << 5) | UInt32(value)
            bits += 5
            if bits >= 8 {
                bits -= 8
                out.append(UInt8((buffer >> UInt32(bits)) & 0xff))
            }
            buffer &= (1 << UInt32(bits)) - 1
        }
        guard buffer == 0 else { throw SignInError.malformed("base32 text has non-zero trailing bits") }
        return out
    }

    private static func value(of char: UInt8) -> UInt8? {
        switch char {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): return char - UInt8(ascii: "A")
        case UInt8(ascii: "a")...UInt8(ascii: "z"): return char - UInt8(ascii: "a")
        case UInt8(ascii: "2")...UInt8(ascii: "7"): return char - UInt8(ascii: "2") + 26
        default: return nil
        }
    }
}
