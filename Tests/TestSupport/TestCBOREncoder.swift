/// A tiny CBOR encoder for building messages in tests exactly as an authenticator would. Maps
/// keep their order and may repeat keys, and `raw` inserts bytes as they are, so tests can also
/// build what a strict decoder must refuse.
public indirect enum TestCBOR: Sendable {
    case uint(UInt64)
    case int(Int64)
    case bytes([UInt8])
    case text(String)
    case array([TestCBOR])
    case map([(TestCBOR, TestCBOR)])
    case bool(Bool)
    case null
    case raw([UInt8])

    public var encoded: [UInt8] {
        switch self {
        case .uint(let n): return Self.head(0, n)
        case .int(let n): return n >= 0 ? Self.head(0, UInt64(n)) : Self.head(1, UInt64(-1 - n))
        case .bytes(let b): return Self.head(2, UInt64(b.count)) + b
        case .text(let t): return Self.head(3, UInt64(t.utf8.count)) + Array(t.utf8)
        case .array(let items): return items.reduce(Self.head(4, UInt64(items.count))) { $0 + $1.encoded }
        case .map(let pairs): return pairs.reduce(Self.head(5, UInt64(pairs.count))) { $0 + $1.0.encoded + $1.1.encoded }
        case .bool(let b): return [b ? 0xf5 : 0xf4]
        case .null: return [0xf6]
        case .raw(let bytes): return bytes
        }
    }

    public static func head(_ major: UInt8, _ n: UInt64) -> [UInt8] {
        let m = major << 5
        switch n {
        case 0..<24: return [m | UInt8(n)]
        case 24...0xff: return [m | 24, UInt8(n)]
        case 0x100...0xffff: return [m | 25] + bigEndian(n, 2)
        case 0x1_0000...0xffff_ffff: return [m | 26] + bigEndian(n, 4)
        default: return [m | 27] + bigEndian(n, 8)
        }
    }

    public static func bigEndian(_ n: UInt64, _ width: Int) -> [UInt8] {
        (0..<width).reversed().map { UInt8(truncatingIfNeeded: n >> (8 * UInt64($0))) }
    }
}
