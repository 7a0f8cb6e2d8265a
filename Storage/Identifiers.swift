import KeyManagement

/// Record ids are 128 random bits in lower-case hex: unguessable, and safe to use in a path.
public enum RecordID {
    public static func generate() -> String { Hex.encode(randomPublicBytes(16)) }

    public static func isValid(_ id: String) -> Bool {
        id.utf8.count == 32 && id.utf8.allSatisfy { (48...57).contains($0) || (97...102).contains($0) }
    }

    public static func validate(_ id: String) throws {
        guard isValid(id) else {
            throw StorageError.invalidIdentifier(field: "record id", rule: "32 lower-case hexadecimal characters")
        }
    }
}

/// School, child and concern ids are opaque strings chosen by the school's systems. The vault
/// stores no names: an id must look like an id, which also keeps control characters out of
/// every log and path.
public enum OpaqueID {
    public static let rule = "1 to 64 characters from A-Z, a-z, 0-9, '.', '_' and '-', not starting with '.' or '-'"

    public static func isValid(_ value: String) -> Bool {
        let bytes = Array(value.utf8)
        guard (1...64).contains(bytes.count), bytes[0] != UInt8(ascii: "."), bytes[0] != UInt8(ascii: "-") else { return false }
        return bytes.allSatisfy { b in
            (48...57).contains(b) || (65...90).contains(b) || (97...122).contains(b)
                || b == UInt8(ascii: ".") || b == UInt8(ascii: "_") || b == UInt8(ascii: "-")
        }
    }

    public static func validate(_ value: String, field: String) throws {
        guard isValid(value) else { throw StorageError.invalidIdentifier(field: field, rule: rule) }
    }
}
