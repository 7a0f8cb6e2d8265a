import Glibc

/// Finds HTML or script markup in text, chunk by chunk, across chunk boundaries: a text file
/// that carries it is refused as HTML, since it could run if anything ever rendered it. libmagic
/// calls such a file text/plain when the markup is not at its start, and it looks at 64 KiB;
/// this looks at every byte. NUL bytes are skipped, so UTF-16 and UTF-32 text is read too.
///
/// After a `<`, the tag's name (letters, then letters or digits) and what follows up to `>`
/// (at most `window` bytes, and never past the next `<`) decide:
/// - `<?php` and `<!doctype` are markup;
/// - any tag with an event handler (` onerror=`, `/onload=`) or a `javascript:` URL is markup;
/// - a tag of `tags` is markup when `>` or `/` follows its name (`<script>`, `<svg/onload...`),
///   or when it is closed by `>` and holds an attribute (`=`): `<img src=x>`,
///   `<META\thttp-equiv=...>`.
/// Angle brackets in ordinary writing pass: `x<a`, `<jane@school.example>`, `I <3 it`, and
/// placeholders such as `<image removed>` or `<details withheld>`.
struct MarkupScanner {
    static let tags: Set<String> = [
        "script", "iframe", "frame", "frameset", "object", "embed", "applet", "svg", "math", "html", "head", "body",
        "form", "input", "button", "textarea", "select", "meta", "link", "base", "style", "img", "image", "video",
        "audio", "source", "template", "details", "marquee", "xml", "title",
    ]
    /// Bytes (not counting NULs) looked at after a `<`.
    static let window = 512
    /// Raw bytes kept from the end of a chunk: enough for a window of UTF-32.
    static let tailBytes = 4 * (window + 16)

    private var tail: [UInt8] = []

    /// Whether markup ends in `bytes` (or straddles the previous chunk and this one).
    mutating func scan(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard !bytes.isEmpty else { return false }
        if !tail.isEmpty {
            // Tags that began in the tail, now that the bytes after them are here.
            let joined = tail + bytes.prefix(Self.tailBytes)
            let kept = tail.count
            let found = joined.withUnsafeBytes { joined in
                (0..<kept).contains { joined[$0] == UInt8(ascii: "<") && Self.tagAt(joined, $0) == true }
            }
            if found { return true }
        }
        var offset = 0
        while offset < bytes.count {
            guard let hit = memchr(bytes.baseAddress! + offset, Int32(UInt8(ascii: "<")), bytes.count - offset) else { break }
            let at = bytes.baseAddress!.distance(to: UnsafeRawPointer(hit))
            if Self.tagAt(bytes, at) == true { return true }
            offset = at + 1
        }
        tail = Array((tail + bytes.suffix(Self.tailBytes)).suffix(Self.tailBytes))
        return false
    }

    /// Whether markup starts at `at` (which holds `<`); nil when the bytes end before it is
    /// decided (the next chunk decides).
    static func tagAt(_ bytes: UnsafeRawBufferPointer, _ at: Int) -> Bool? {
        var text: [UInt8] = []
        var complete = false
        var i = at + 1
        while text.count < window {
            guard i < bytes.count else { break }
            let b = bytes[i]
            i += 1
            if b == 0 { continue }
            if b == UInt8(ascii: "<") { complete = true; break }
            text.append(b >= 0x41 && b <= 0x5A ? b + 0x20 : b)
            if b == UInt8(ascii: ">") { complete = true; break }
        }
        if text.count >= window { complete = true }
        return decide(text, complete: complete)
    }

    static func decide(_ text: [UInt8], complete: Bool) -> Bool? {
        for special in ["?php", "!doctype"] {
            let want = Array(special.utf8)
            if text.starts(with: want) { return true }
            if !complete, want.starts(with: text) { return nil }
        }
        func isLetter(_ b: UInt8) -> Bool { b >= 0x61 && b <= 0x7A }
        var n = 0
        while n < text.count, isLetter(text[n]) || (n > 0 && text[n] >= 0x30 && text[n] <= 0x39) { n += 1 }
        guard n > 0 else { return false }
        guard n < text.count else { return complete ? false : nil }
        let next = text[n]
        let isSpace = next == 0x20 || next == 0x09 || next == 0x0A || next == 0x0D || next == 0x0C
        guard isSpace || next == UInt8(ascii: "/") || next == UInt8(ascii: ">") else { return false }
        let closing = text[n...].firstIndex(of: UInt8(ascii: ">"))
        let inside = Array(text[n..<(closing ?? text.count)])
        if hasEventHandler(inside) || contains(inside, "javascript:") { return true }
        let listed = tags.contains(String(decoding: text[..<n], as: UTF8.self))
        if listed, next == UInt8(ascii: ">") || next == UInt8(ascii: "/") { return true }
        if listed, closing != nil, inside.contains(UInt8(ascii: "=")) { return true }
        if closing != nil || complete { return false }
        return nil
    }

    /// ` on<letters> =` or `/on<letters>=` inside the tag.
    static func hasEventHandler(_ rest: [UInt8]) -> Bool {
        let end = rest.count
        var i = 0
        while i + 3 < end {
            let b = rest[i]
            if (b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D || b == 0x0C || b == UInt8(ascii: "/")),
               rest[i + 1] == UInt8(ascii: "o"), rest[i + 2] == UInt8(ascii: "n") {
                var j = i + 3
                while j < end, rest[j] >= 0x61 && rest[j] <= 0x7A { j += 1 }
                if j > i + 3 {
                    while j < end, rest[j] == 0x20 || rest[j] == 0x09 || rest[j] == 0x0A || rest[j] == 0x0D { j += 1 }
                    if j < end, rest[j] == UInt8(ascii: "=") { return true }
                }
            }
            i += 1
        }
        return false
    }

    static func contains(_ rest: [UInt8], _ needle: String) -> Bool {
        let want = Array(needle.utf8)
        guard rest.count >= want.count else { return false }
        return (0...(rest.count - want.count)).contains { rest[$0..<($0 + want.count)].elementsEqual(want) }
    }
}
