/// How much one audit event may hold, field by field. The log can never be pruned, so every
/// value an `AuditEntry` is given passes through `bounded` when it is set: nothing a caller
/// hands in (least of all a request from someone not signed in) can make an event larger than
/// these bounds. Callers still validate and word their values; this is the backstop.
///
/// A bound is on the field as stored: after `LogText.escape`, in UTF-8 bytes. A longer value
/// keeps its longest prefix (whole Unicode scalars) that fits with a marker saying how many
/// stored bytes were cut, `…[+N bytes]`, so a reader sees that it was cut and by how much.
public enum AuditLimits {
    /// `user:NAME`, `link:BUNDLE`, `anonymous`, an operator's name.
    public static let actor = 128
    /// A fixed word such as `bundle-download`.
    public static let action = 64
    /// A school, child, concern or record id (valid ones are at most 64 bytes).
    public static let identifier = 128
    /// Free text; generous enough for a 1,000-character reason in any script.
    public static let reason = 8192

    /// `value`, or its longest prefix that fits `limit` stored bytes with the cut marker.
    public static func bounded(_ value: String, to limit: Int) -> String {
        var stored = 0
        for scalar in value.unicodeScalars { stored += storedLength(scalar) }
        guard stored > limit else { return value }
        var kept = String.UnicodeScalarView()
        var keptBytes = 0
        for scalar in value.unicodeScalars {
            let n = storedLength(scalar)
            // The marker's digits are at most those of the whole length: reserve for that.
            guard keptBytes + n + marker(stored).utf8.count <= limit else { break }
            kept.append(scalar)
            keptBytes += n
        }
        return String(kept) + marker(stored - keptBytes)
    }

    static func marker(_ cut: Int) -> String { "…[+\(cut) bytes]" }

    /// The bytes `LogText.escape` stores for one scalar.
    static func storedLength(_ scalar: Unicode.Scalar) -> Int {
        guard LogText.needsEscape(scalar) else { return UTF8.width(scalar) }
        if scalar == "\\" { return 2 }
        return 4 + String(scalar.value, radix: 16).count  // \u{XX}
    }
}
