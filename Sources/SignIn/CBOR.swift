/// One decoded CBOR data item (RFC 8949), of the kinds WebAuthn uses.
///
/// Text strings compare and hash by their UTF-8 bytes, not by Swift's canonical equivalence, so
/// a map key matches only when it is spelled byte for byte as expected.
public enum CBORValue: Sendable {
    case unsigned(UInt64)
    /// The negative integer -1 - n (major type 1 carries n).
    case negative(UInt64)
    case bytes([UInt8])
    case text(String)
    case array([CBORValue])
    case map([CBORValue: CBORValue])
    case bool(Bool)
    case null

    /// The integer value when it is an integer that fits in Int64.
    public var int: Int64? {
        switch self {
        case .unsigned(let n): return n <= UInt64(Int64.max) ? Int64(n) : nil
        case .negative(let n): return n <= UInt64(Int64.max) ? -1 - Int64(n) : nil
        default: return nil
        }
    }
}

extension CBORValue: Hashable {
    public static func == (lhs: CBORValue, rhs: CBORValue) -> Bool {
        switch (lhs, rhs) {
        case let (.unsigned(a), .unsigned(b)), let (.negative(a), .negative(b)): return a == b
        case let (.bytes(a), .bytes(b)): return a == b
        case let (.text(a), .text(b)): return a.utf8.elementsEqual(b.utf8)
        case let (.array(a), .array(b)): return a == b
        case let (.map(a), .map(b)): return a == b
        case let (.bool(a), .bool(b)): return a == b
        case (.null, .null): return true
        default: return false
        }
    }

    public func hash(into hasher: inout Hasher) {
        switch self {
        case .unsigned(let n): hasher.combine(0); hasher.combine(n)
        case .negative(let n): hasher.combine(1); hasher.combine(n)
        case .bytes(let b): hasher.combine(2); hasher.combine(b)
        case .text(let t): hasher.combine(3); hasher.combine(t.utf8.count); t.utf8.forEach { hasher.combine($0) }
        case .array(let a): hasher.combine(4); hasher.combine(a)
        case .map(let m): hasher.combine(5); hasher.combine(m)
        case .bool(let b): hasher.combine(6); hasher.combine(b)
        case .null: hasher.combine(7)
        }
    }
}

/// A strict, bounded CBOR decoder for the subset WebAuthn needs: unsigned and negative
/// integers, byte and text strings, arrays, maps, true, false and null.
///
///     let value = try CBOR.decode(attestationObjectBytes)   // exactly one item, nothing after it
///
/// Everything else is refused with `SignInError.malformed`: indefinite lengths, tags, floats,
/// undefined and other simple values, reserved additional-information values, integers and
/// lengths not in their shortest form (so one value has one encoding), duplicate map keys, text
/// that is not UTF-8, nesting deeper than `maxDepth`, and lengths beyond the input. Before any
/// allocation a length is checked against the bytes that remain, so memory stays proportional to
/// the input.
public enum CBOR {
    /// Deepest nesting of arrays and maps accepted (a COSE key inside an attestation object
    /// needs 2; authenticator extensions a few more).
    public static let maxDepth = 16

    /// Decodes `bytes` as exactly one data item.
    public static func decode(_ bytes: [UInt8]) throws -> CBORValue {
        var reader = CBORReader(bytes: bytes, position: 0)
        let value = try reader.readItem(depth: 0)
        guard reader.position == bytes.count else { throw SignInError.malformed("CBOR: bytes after the data item") }
        return value
    }

    /// Decodes one data item that starts at `offset` and may be followed by other bytes; returns
    /// it with the offset just after it.
    public static func decodeItem(in bytes: [UInt8], at offset: Int) throws -> (value: CBORValue, end: Int) {
        guard offset >= 0, offset <= bytes.count else { throw SignInError.malformed("CBOR: offset outside the input") }
        var reader = CBORReader(bytes: bytes, position: offset)
        let value = try reader.readItem(depth: 0)
        return (value, reader.position)
    }
}

struct CBORReader {
    let bytes: [UInt8]
    var position: Int

    var remaining: Int { bytes.count - position }

    mutating func readByte() throws -> UInt8 {
        guard position < bytes.count else { throw SignInError.malformed("CBOR: input ends inside a data item") }
        defer { position += 1 }
        return bytes[position]
    }

    /// The argument of a head: its value, read big-endian, refused unless in shortest form.
    mutating func readArgument(_ info: UInt8) throws -> UInt64 {
        let width: Int
        switch info {
        case 0..<24: return UInt64(info)
        case 24: width = 1
        case 25: width = 2
        case 26: width = 4
        case 27: width = 8
        case 31: throw SignInError.malformed("CBOR: indefinite lengths are not accepted")
        default: throw SignInError.malformed("CBOR: reserved additional information \(info)")
        }
        guard remaining >= width else { throw SignInError.malformed("CBOR: input ends inside a data item") }
        var value: UInt64 = 0
        for _ in 0..<width { value = (value << 8) | UInt64(try readByte()) }
        // The smallest value that needs this width; anything below it had a shorter encoding.
        let smallest: UInt64 = width == 1 ? 24 : 1 << UInt64(8 * width / 2)
        guard value >= smallest else { throw SignInError.malformed("CBOR: integer or length not in shortest form") }
        return value
    }

    /// A length, refused when `itemSize` bytes per element would not fit in what remains.
    mutating func readLength(_ info: UInt8, itemSize: Int) throws -> Int {
        let length = try readArgument(info)
        guard length <= UInt64(remaining / itemSize) else {
            throw SignInError.malformed("CBOR: length beyond the end of the input")
        }
        return Int(length)
    }

    mutating func readItem(depth: Int) throws -> CBORValue {
        let initial = try readByte()
        let major = initial >> 5
        let info = initial & 0x1f
        switch major {
        case 0:
            return .unsigned(try readArgument(info))
        case 1:
            return .negative(try readArgument(info))
        case 2:
            let length = try readLength(info, itemSize: 1)
            defer { position += length }
            return .bytes(Array(bytes[position..<position + length]))
        case 3:
            let length = try readLength(info, itemSize: 1)
            guard let text = String(validating: bytes[position..<position + length], as: UTF8.self) else {
                throw SignInError.malformed("CBOR: text string is not UTF-8")
            }
            position += length
            return .text(text)
        case 4:
            guard depth < CBOR.maxDepth else { throw SignInError.malformed("CBOR: nested deeper than \(CBOR.maxDepth)") }
            let count = try readLength(info, itemSize: 1)
            var items = [CBORValue]()
            items.reserveCapacity(count)
            for _ in 0..<count { items.append(try readItem(depth: depth + 1)) }
            return .array(items)
        case 5:
            guard depth < CBOR.maxDepth else { throw SignInError.malformed("CBOR: nested deeper than \(CBOR.maxDepth)") }
            let count = try readLength(info, itemSize: 2)
            var entries = [CBORValue: CBORValue](minimumCapacity: count)
            for _ in 0..<count {
                let key = try readItem(depth: depth + 1)
                let value = try readItem(depth: depth + 1)
                guard entries.updateValue(value, forKey: key) == nil else {
                    throw SignInError.malformed("CBOR: duplicate map key")
                }
            }
            return .map(entries)
        case 6:
            throw SignInError.malformed("CBOR: tags are not accepted")
        default:
            switch info {
            case 20: return .bool(false)
            case 21: return .bool(true)
            case 22: return .null
            case 25, 26, 27: throw SignInError.malformed("CBOR: floating-point numbers are not accepted")
            case 31: throw SignInError.malformed("CBOR: break outside an indefinite-length item")
            default: throw SignInError.malformed("CBOR: simple value not accepted")
            }
        }
    }
}
