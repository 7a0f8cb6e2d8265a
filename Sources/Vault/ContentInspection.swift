/// A check that reads the whole of a file, chunk by chunk as it streams in, in bounded memory,
/// once its type is known: markup in text.
protocol ContentCheck {
    /// The reason to refuse the file, as soon as the bytes so far give one.
    mutating func scan(_ bytes: UnsafeRawBufferPointer) -> Refusal.Reason?
    /// The reason to refuse the file, once its last byte has been scanned.
    mutating func finish() -> Refusal.Reason?
}

/// The check an accepted type still needs over the rest of the file, and the MIME type a refusal
/// from it names.
struct ContentInspection {
    var check: any ContentCheck
    /// What libmagic found: a refusal says the content is that (`text/html` for a page that
    /// libmagic named but is stored as text only if it holds no markup).
    let found: String

    mutating func scan(_ bytes: UnsafeRawBufferPointer) -> Refusal.Reason? { check.scan(bytes) }
    mutating func finish() -> Refusal.Reason? { check.finish() }
}

/// Markup in text (`MarkupScanner`), refused as `family`.
struct MarkupCheck: ContentCheck {
    var scanner = MarkupScanner()
    let family: String

    mutating func scan(_ bytes: UnsafeRawBufferPointer) -> Refusal.Reason? {
        scanner.scan(bytes) ? .dangerous(family) : nil
    }

    mutating func finish() -> Refusal.Reason? {
        scanner.finish() ? .dangerous(family) : nil
    }
}
