import Glibc

/// Finds HTML or script markup in text, chunk by chunk, across chunk boundaries: a text file
/// that carries it is refused as HTML, since it could run if anything ever rendered it. libmagic
/// calls such a file text/plain when the markup is not at its start, and it looks at 64 KiB;
/// this looks at every byte.
///
/// A tag counts when `<` is followed directly by one of `tags` (case-insensitive) and then by a
/// character that ends a tag name (space, tab, newline, `/`, `>`): `<img src=x onerror=...>`,
/// `<META\thttp-equiv=...>`. `<?php` and `<!doctype` count as they are. Angle brackets in
/// ordinary writing (`x<a`, `<jane@school.example>`) do not.
struct MarkupScanner {
    static let tags: Set<String> = [
        "script", "iframe", "frame", "frameset", "object", "embed", "applet", "svg", "math", "html", "head", "body",
        "form", "input", "button", "textarea", "select", "meta", "link", "base", "style", "img", "image", "video",
        "audio", "source", "template", "details", "marquee", "xml", "title",
    ]
    static let longest = 12

    /// The end of the bytes seen so far: a tag begun there is decided with the next chunk.
    private var tail: [UInt8] = []

    /// Whether markup ends in `bytes` (or straddles the previous chunk and this one).
    mutating func scan(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard !bytes.isEmpty else { return false }
        if !tail.isEmpty {
            // Tags that began in the tail, now that the bytes after them are here.
            let window = tail + bytes.prefix(Self.longest + 2)
            let found = window.withUnsafeBytes { window in
                (0..<tail.count).contains { window[$0] == UInt8(ascii: "<") && Self.tagAt(window, $0) == true }
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
        tail = Array((tail + bytes.suffix(Self.longest + 2)).suffix(Self.longest + 2))
        return false
    }

    /// Whether a dangerous tag starts at `at` (which holds `<`); nil when the bytes end first.
    static func tagAt(_ bytes: UnsafeRawBufferPointer, _ at: Int) -> Bool? {
        func lower(_ b: UInt8) -> UInt8 { b >= 0x41 && b <= 0x5A ? b + 0x20 : b }
        var name: [UInt8] = []
        var i = at + 1
        while i < bytes.count, name.count <= longest {
            let b = lower(bytes[i])
            if name.isEmpty, b == UInt8(ascii: "?") || b == UInt8(ascii: "!") {
                let rest = bytes[(i + 1)...].prefix(7).map(lower)
                let want: [UInt8] = b == UInt8(ascii: "?") ? Array("php".utf8) : Array("doctype".utf8)
                if rest.count < want.count { return want.starts(with: rest) ? nil : false }
                return rest.starts(with: want)
            }
            let isNameByte = (b >= 0x61 && b <= 0x7A) || (!name.isEmpty && b >= 0x30 && b <= 0x39)
            if !isNameByte {
                let ends = b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D || b == 0x0C || b == UInt8(ascii: "/") || b == UInt8(ascii: ">")
                return ends && tags.contains(String(decoding: name, as: UTF8.self))
            }
            name.append(b)
            i += 1
        }
        return i >= bytes.count && name.count <= longest ? nil : false
    }
}
