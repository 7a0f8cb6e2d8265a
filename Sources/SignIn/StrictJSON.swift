/// A strict RFC 8259 JSON reader for clientDataJSON, which is all SignIn reads as JSON.
///
/// Foundation's JSONDecoder is lenient where it matters here: it accepts trailing commas and a
/// byte-order mark, and of two members with the same name it keeps the first, while
/// JSONSerialization keeps the last. Two readers that disagree about which origin a message
/// names is how checks get bypassed, so this reader refuses instead: duplicate member names
/// (compared byte for byte), trailing commas, a BOM, comments, single quotes, control characters
/// in strings, lone surrogate escapes, numbers outside the grammar, bytes that are not UTF-8,
/// nesting deeper than `maxDepth` and anything after the top-level value. Only the top-level
/// object's strings and booleans are kept; every other value is checked and dropped.
enum StrictJSON {
    static let maxDepth = 16

    enum Value: Equatable {
        case string(String)
        case bool(Bool)
        /// A number, null, array or object: valid, but not kept.
        case other
    }

    /// The members of the top-level object, which must be the whole input.
    static func topLevelObject(_ bytes: [UInt8]) throws -> [(name: String, value: Value)] {
        guard String(validating: bytes, as: UTF8.self) != nil else { throw SignInError.malformed("JSON is not UTF-8") }
        var reader = Reader(bytes: bytes)
        reader.skipWhitespace()
        guard reader.peek == UInt8(ascii: "{") else { throw SignInError.malformed("JSON is not an object") }
        var members: [(name: String, value: Value)] = []
        try reader.readObject(depth: 1) { members.append(($0, $1)) }
        reader.skipWhitespace()
        guard reader.position == bytes.count else { throw SignInError.malformed("JSON: bytes after the object") }
        return members
    }

    struct Reader {
        let bytes: [UInt8]
        var position = 0

        var peek: UInt8? { position < bytes.count ? bytes[position] : nil }

        mutating func skipWhitespace() {
            while let byte = peek, byte == 0x20 || byte == 0x09 || byte == 0x0a || byte == 0x0d { position += 1 }
        }

        mutating func expect(_ byte: UInt8) throws {
            guard peek == byte else { throw SignInError.malformed("JSON: expected '\(Character(Unicode.Scalar(byte)))'") }
            position += 1
        }

        mutating func readObject(depth: Int, member: (String, Value) throws -> Void) throws {
            guard depth <= StrictJSON.maxDepth else { throw SignInError.malformed("JSON nested deeper than \(StrictJSON.maxDepth)") }
            try expect(UInt8(ascii: "{"))
            skipWhitespace()
            if peek == UInt8(ascii: "}") { position += 1; return }
            var names = Set<[UInt8]>()
            while true {
                skipWhitespace()
                let name = try readString()
                guard names.insert(Array(name.utf8)).inserted else { throw SignInError.malformed("JSON: duplicate member name") }
                skipWhitespace()
                try expect(UInt8(ascii: ":"))
                try member(name, try readValue(depth: depth))
                skipWhitespace()
                if peek == UInt8(ascii: ",") { position += 1; continue }
                try expect(UInt8(ascii: "}"))
                return
            }
        }

        mutating func readArray(depth: Int) throws {
            guard depth <= StrictJSON.maxDepth else { throw SignInError.malformed("JSON nested deeper than \(StrictJSON.maxDepth)") }
            try expect(UInt8(ascii: "["))
            skipWhitespace()
            if peek == UInt8(ascii: "]") { position += 1; return }
            while true {
                _ = try readValue(depth: depth)
                skipWhitespace()
                if peek == UInt8(ascii: ",") { position += 1; continue }
                try expect(UInt8(ascii: "]"))
                return
            }
        }

        mutating func readValue(depth: Int) throws -> Value {
            skipWhitespace()
            switch peek {
            case UInt8(ascii: "\""): return .string(try readString())
            case UInt8(ascii: "{"): try readObject(depth: depth + 1) { _, _ in }; return .other
            case UInt8(ascii: "["): try readArray(depth: depth + 1); return .other
            case UInt8(ascii: "t"): try readLiteral("true"); return .bool(true)
            case UInt8(ascii: "f"): try readLiteral("false"); return .bool(false)
            case UInt8(ascii: "n"): try readLiteral("null"); return .other
            default: try readNumber(); return .other
            }
        }

        mutating func readLiteral(_ word: String) throws {
            for byte in word.utf8 { try expect(byte) }
        }

        /// -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
        mutating func readNumber() throws {
            func digits() throws {
                guard let byte = peek, (0x30...0x39).contains(byte) else { throw SignInError.malformed("JSON: not a value") }
                while let byte = peek, (0x30...0x39).contains(byte) { position += 1 }
            }
            if peek == UInt8(ascii: "-") { position += 1 }
            if peek == UInt8(ascii: "0") { position += 1 } else { try digits() }
            if peek == UInt8(ascii: ".") { position += 1; try digits() }
            if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
                position += 1
                if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { position += 1 }
                try digits()
            }
        }

        mutating func readString() throws -> String {
            try expect(UInt8(ascii: "\""))
            var scalars = String.UnicodeScalarView()
            var raw = [UInt8]()
            func flush() {
                if !raw.isEmpty { scalars.append(contentsOf: String(decoding: raw, as: UTF8.self).unicodeScalars); raw.removeAll() }
            }
            while true {
                guard let byte = peek else { throw SignInError.malformed("JSON: unterminated string") }
                position += 1
                switch byte {
                case UInt8(ascii: "\""):
                    flush()
                    return String(scalars)
                case UInt8(ascii: "\\"):
                    flush()
                    scalars.append(try readEscape())
                case 0x00..<0x20:
                    throw SignInError.malformed("JSON: control character in a string")
                default:
                    raw.append(byte)
                }
            }
        }

        mutating func readEscape() throws -> Unicode.Scalar {
            guard let byte = peek else { throw SignInError.malformed("JSON: unterminated string") }
            position += 1
            switch byte {
            case UInt8(ascii: "\""): return "\""
            case UInt8(ascii: "\\"): return "\\"
            case UInt8(ascii: "/"): return "/"
            case UInt8(ascii: "b"): return "\u{08}"
            case UInt8(ascii: "f"): return "\u{0c}"
            case UInt8(ascii: "n"): return "\n"
            case UInt8(ascii: "r"): return "\r"
            case UInt8(ascii: "t"): return "\t"
            case UInt8(ascii: "u"):
                let unit = try readHex4()
                if (0xd800..<0xdc00).contains(unit) {
                    guard peek == UInt8(ascii: "\\") else { throw SignInError.malformed("JSON: lone surrogate escape") }
                    position += 1
                    guard peek == UInt8(ascii: "u") else { throw SignInError.malformed("JSON: lone surrogate escape") }
                    position += 1
                    let low = try readHex4()
                    guard (0xdc00..<0xe000).contains(low) else { throw SignInError.malformed("JSON: lone surrogate escape") }
                    let value = 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00)
                    guard let scalar = Unicode.Scalar(value) else { throw SignInError.malformed("JSON: bad escape") }
                    return scalar
                }
                guard let scalar = Unicode.Scalar(unit) else { throw SignInError.malformed("JSON: lone surrogate escape") }
                return scalar
            default:
                throw SignInError.malformed("JSON: unknown escape")
            }
        }

        mutating func readHex4() throws -> UInt32 {
            var value: UInt32 = 0
            for _ in 0..<4 {
                guard let byte = peek else { throw SignInError.malformed("JSON: short \\u escape") }
                position += 1
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default: throw SignInError.malformed("JSON: bad \\u escape")
                }
                value = value << 4 | UInt32(digit)
            }
            return value
        }
    }
}
