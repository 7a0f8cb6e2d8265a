/// An unambiguous encoding of labelled fields, used wherever bytes bind a key or a signature to
/// its context (associated data, signed messages, audit leaves): a domain-separation label, then
/// each field as a 4-byte big-endian length followed by its bytes. Two different field lists can
/// never encode to the same bytes, so no field can be shifted into another.
public struct Binding: Sendable, Equatable {
    public private(set) var bytes: [UInt8]

    public init(label: String) {
        bytes = []
        append(Array(label.utf8))
    }

    public mutating func append(_ field: [UInt8]) {
        let n = UInt32(field.count)
        bytes += [UInt8(n >> 24), UInt8(truncatingIfNeeded: n >> 16), UInt8(truncatingIfNeeded: n >> 8), UInt8(truncatingIfNeeded: n)]
        bytes += field
    }

    public mutating func append(_ text: String) { append(Array(text.utf8)) }

    public mutating func append(_ value: UInt64) {
        append((0..<8).reversed().map { UInt8(truncatingIfNeeded: value >> (UInt64($0) * 8)) })
    }

    public func appending(_ text: String) -> Binding {
        var copy = self
        copy.append(text)
        return copy
    }
}

/// What a record's data key is bound to (docs/keys.md). A wrapped DEK unwraps only under the
/// same school, record, format version and KEK it was wrapped for.
public struct DataKeyBinding: Sendable, Equatable {
    public static let label = "strongroom/v1/dek-wrap"
    public var schoolID: String
    public var recordID: String
    public var formatVersion: UInt64
    public var kekID: String

    public init(schoolID: String, recordID: String, formatVersion: UInt64, kekID: String) {
        self.schoolID = schoolID
        self.recordID = recordID
        self.formatVersion = formatVersion
        self.kekID = kekID
    }

    public var associatedData: [UInt8] {
        var b = Binding(label: Self.label)
        b.append(schoolID)
        b.append(recordID)
        b.append(formatVersion)
        b.append(kekID)
        return b.bytes
    }

    var contextDescription: String { "record \(recordID), school \(schoolID), KEK \(kekID), format v\(formatVersion)" }
}
