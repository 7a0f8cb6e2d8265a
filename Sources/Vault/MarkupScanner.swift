import Glibc

/// Finds, in text, HTML that would do something if a browser ever rendered the file: a text file
/// that carries it is refused. It reads every byte, chunk by chunk, in constant memory, and
/// follows the HTML tokenizer (WHATWG HTML, "Tokenization") as a browser would: a tag is `<`, an
/// ASCII letter, a name up to whitespace, `/` or `>`, then any attributes up to the `>` that is
/// not inside a quoted value, however far away. Whitespace is space, tab, LF, CR and form feed.
/// Comments (`<!-- ... -->`) are skipped as a browser skips them.
///
/// Markup is:
/// - `<!doctype` and `<?php`;
/// - any tag with an event-handler attribute given a value (`<p onclick=...>`, `<svg/onload=...>`)
///   or an attribute whose value is a `javascript:` or `vbscript:` URL, after character
///   references (`&#106;`, `&colon;`) are decoded and tabs and newlines removed, as a browser does;
/// - a start tag of `alwaysTags` (`<iframe>`, `<svg>`...), with or without attributes;
/// - a start tag of `tags` with an attribute that has a value (`<img src=x>`, `<meta http-equiv=...>`);
/// - a `<script` start tag with any attribute at all (`<script async>`);
/// - the end tag of a listed element after its start tag (`<style>...</style>`, `<script>...</script>`),
///   at any distance.
///
/// Ordinary writing passes: `x < y and y > z`, `<jane@school.example>`, `I <3 it`, and tags as a
/// browser would read them but that do nothing: `<image removed>`, `<details withheld>`, or
/// `pupil said <script> was a word she saw` (a script element that is never closed never runs).
///
/// Where a browser stops reading tags (inside `<title>`, `<textarea>`, `<style>`, `<script>` and
/// the other raw-text elements, up to their end tag), the scanner reads on as if it had not, and
/// also watches for that end tag: when it comes, the file is markup, so the scanner never misses
/// a tag a browser would see after it. A tag still open at the end of the file is judged as if it
/// were closed there (the text could be pasted into a page that closes it).
///
/// Text in UTF-16 or UTF-32 with a byte-order mark is read in code units; otherwise NUL bytes are
/// skipped, so ASCII markup in BOM-less wide text is read too.
struct MarkupScanner {
    struct Tag {
        /// Bit in `opened`.
        let bit: UInt64
        /// Markup with or without attributes.
        let always: Bool
        /// Where a browser's tokenizer reads raw text up to the element's end tag.
        let rawText: Bool
    }

    static let alwaysTags = ["iframe", "frame", "frameset", "embed", "applet", "svg", "math"]
    static let tags = [
        "script", "object", "html", "head", "body", "form", "input", "button", "textarea", "select", "meta", "link",
        "base", "style", "img", "image", "video", "audio", "source", "template", "details", "marquee", "xml", "title",
        "xmp", "noembed", "noframes", "noscript", "plaintext", "portal", "isindex",
    ]
    static let rawTextTags: Set<String> = [
        "script", "style", "title", "textarea", "xmp", "iframe", "noembed", "noframes", "noscript", "plaintext",
    ]

    /// Listed names, packed by `pack`.
    static let table: [UInt64: Tag] = {
        var table: [UInt64: Tag] = [:]
        for (i, name) in (alwaysTags + tags).enumerated() {
            table[pack(Array(name.utf8))] = Tag(bit: 1 << UInt64(i), always: alwaysTags.contains(name), rawText: rawTextTags.contains(name))
        }
        return table
    }()

    /// A lowercase ASCII name of at most 12 letters as a number (5 bits a letter); 0 for anything else.
    static func pack<C: Collection>(_ name: C) -> UInt64 where C.Element == UInt8 {
        guard !name.isEmpty, name.count <= 12 else { return 0 }
        var key: UInt64 = 0
        for c in name {
            guard c >= 0x61, c <= 0x7A else { return 0 }
            key = key << 5 | UInt64(c - 0x60)
        }
        return key
    }

    private static let doctype = Array("doctype".utf8)
    private static let php = Array("php".utf8)
    private static let script = Array("script".utf8)

    enum Encoding { case bytes, utf16LE, utf16BE, utf32LE, utf32BE }

    enum State {
        case data, tagOpen, endTagOpen, tagName
        case beforeAttributeName, attributeName, afterAttributeName, beforeAttributeValue
        case valueDoubleQuoted, valueSingleQuoted, valueUnquoted, afterQuotedValue, selfClosing
        case declarationOpen, processingInstruction, bogusComment
        case commentStart, commentStartDash, comment, commentEndDash, commentEnd, commentEndBang
    }

    private(set) var found = false
    private var encoding: Encoding?
    /// The first bytes, until the byte-order mark (or its absence) is known.
    private var head: [UInt8] = []
    private var unit: UInt32 = 0
    private var unitBytes = 0
    private var state = State.data
    /// Matched characters of `<!doctype` / `<!--` / `<?php`.
    private var matched = 0
    private var declarationIsDoctype = false

    // The tag being read.
    private var isEndTag = false
    private var name: [UInt8] = []
    private var nameTooLong = false
    private var attributes = 0
    private var valued = false
    private var handler = false
    private var scriptURL = false
    // The attribute being read.
    private var attributeLength = 0
    private var attributeStart: (UInt8, UInt8) = (0, 0)
    private var attributeValued = false
    private var value = AttributeValue()

    /// Listed elements whose start tag has been seen.
    private var opened: UInt64 = 0
    /// The first raw-text element opened, and how much of its end tag has just been read.
    private var rawEnd: [UInt8]?
    private var rawMatched = 0

    init() {
        name.reserveCapacity(16)
    }

    /// Whether markup has been found in the bytes so far (this chunk, or one before it).
    mutating func scan(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard !found, !bytes.isEmpty else { return found }
        var start = 0
        if encoding == nil {
            let take = min(4 - head.count, bytes.count)
            head += bytes.prefix(take)
            start = take
            if head.count < 4 { return false }
            decideEncoding()
        }
        if start < bytes.count { feed(UnsafeRawBufferPointer(rebasing: bytes[start...])) }
        return found
    }

    /// Whether markup has been found, once the last byte has been scanned: a tag still open is
    /// judged as if it ended here.
    mutating func finish() -> Bool {
        if encoding == nil { decideEncoding() }
        guard !found else { return true }
        switch state {
        case .tagName, .beforeAttributeName, .attributeName, .afterAttributeName, .beforeAttributeValue,
             .valueDoubleQuoted, .valueSingleQuoted, .valueUnquoted, .afterQuotedValue, .selfClosing:
            emitTag()
        default:
            break
        }
        if let end = rawEnd, rawMatched == end.count { found = true }
        return found
    }

    private mutating func decideEncoding() {
        let h = head
        if h.starts(with: [0xFF, 0xFE, 0, 0]) { encoding = .utf32LE } else if h.starts(with: [0, 0, 0xFE, 0xFF]) {
            encoding = .utf32BE
        } else if h.starts(with: [0xFF, 0xFE]) { encoding = .utf16LE } else if h.starts(with: [0xFE, 0xFF]) {
            encoding = .utf16BE
        } else { encoding = .bytes }
        head = []
        h.withUnsafeBytes { feed($0) }
    }

    private mutating func feed(_ bytes: UnsafeRawBufferPointer) {
        switch encoding! {
        case .bytes:
            var i = 0
            let n = bytes.count
            while i < n, !found {
                if state == .data {
                    // Only `<` matters here, to the tokenizer and to the raw-text watch alike.
                    guard let hit = memchr(bytes.baseAddress! + i, 0x3C, n - i) else { return }
                    i = bytes.baseAddress!.distance(to: UnsafeRawPointer(hit))
                }
                let c = bytes[i]
                i += 1
                if c != 0 { step(c) }
            }
        case .utf16LE, .utf16BE, .utf32LE, .utf32BE:
            let width = encoding == .utf16LE || encoding == .utf16BE ? 2 : 4
            let little = encoding == .utf16LE || encoding == .utf32LE
            for b in bytes {
                unit = little ? unit | UInt32(b) << (8 * UInt32(unitBytes)) : unit << 8 | UInt32(b)
                unitBytes += 1
                guard unitBytes == width else { continue }
                // Anything outside ASCII is one character that is never a delimiter.
                let c: UInt8 = unit < 0x80 ? UInt8(unit) : 0x80
                unit = 0
                unitBytes = 0
                if c != 0 { step(c) }
                if found { return }
            }
        }
    }

    private static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0C || c == 0x0D }
    private static func isLetter(_ c: UInt8) -> Bool { (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7A }
    private static func lower(_ c: UInt8) -> UInt8 { c >= 0x41 && c <= 0x5A ? c | 0x20 : c }

    private mutating func step(_ c: UInt8) {
        watchRawEnd(c)
        if found { return }
        tokenize(c)
    }

    /// The end tag of the first raw-text element, read in every state: a browser leaves raw text there.
    private mutating func watchRawEnd(_ c: UInt8) {
        guard let end = rawEnd else { return }
        if rawMatched == end.count {
            if Self.isSpace(c) || c == 0x2F || c == 0x3E { found = true; return }
            rawMatched = 0
        }
        if rawMatched < end.count, Self.lower(c) == end[rawMatched] {
            rawMatched += 1
        } else {
            rawMatched = c == 0x3C ? 1 : 0
        }
    }

    private mutating func tokenize(_ c: UInt8) {
        switch state {
        case .data:
            if c == 0x3C { state = .tagOpen }
        case .tagOpen:
            if Self.isLetter(c) {
                beginTag(end: false, c)
            } else if c == 0x21 {
                state = .declarationOpen; matched = 0
            } else if c == 0x2F {
                state = .endTagOpen
            } else if c == 0x3F {
                state = .processingInstruction; matched = 0
            } else {
                state = .data; tokenize(c)
            }
        case .endTagOpen:
            if Self.isLetter(c) { beginTag(end: true, c) } else if c == 0x3E { state = .data } else { state = .bogusComment; tokenize(c) }
        case .tagName:
            if Self.isSpace(c) {
                state = .beforeAttributeName
            } else if c == 0x2F {
                state = .selfClosing
            } else if c == 0x3E {
                emitTag()
            } else if name.count < 16 {
                name.append(Self.lower(c))
            } else {
                nameTooLong = true
            }
        case .beforeAttributeName:
            if Self.isSpace(c) { return }
            if c == 0x2F || c == 0x3E { state = .afterAttributeName; tokenize(c); return }
            beginAttribute(c)
        case .attributeName:
            if Self.isSpace(c) || c == 0x2F || c == 0x3E {
                state = .afterAttributeName; tokenize(c)
            } else if c == 0x3D {
                attributeValued = true; state = .beforeAttributeValue
            } else {
                addToAttributeName(c)
            }
        case .afterAttributeName:
            if Self.isSpace(c) { return }
            if c == 0x2F {
                state = .selfClosing
            } else if c == 0x3D {
                attributeValued = true; state = .beforeAttributeValue
            } else if c == 0x3E {
                emitTag()
            } else {
                beginAttribute(c)
            }
        case .beforeAttributeValue:
            if Self.isSpace(c) { return }
            if c == 0x22 { state = .valueDoubleQuoted } else if c == 0x27 { state = .valueSingleQuoted } else if c == 0x3E {
                emitTag()
            } else {
                state = .valueUnquoted; tokenize(c)
            }
        case .valueDoubleQuoted:
            if c == 0x22 { state = .afterQuotedValue } else { value.add(c) }
        case .valueSingleQuoted:
            if c == 0x27 { state = .afterQuotedValue } else { value.add(c) }
        case .valueUnquoted:
            if Self.isSpace(c) { state = .beforeAttributeName } else if c == 0x3E { emitTag() } else { value.add(c) }
        case .afterQuotedValue:
            if Self.isSpace(c) {
                state = .beforeAttributeName
            } else if c == 0x2F {
                state = .selfClosing
            } else if c == 0x3E {
                emitTag()
            } else {
                state = .beforeAttributeName; tokenize(c)
            }
        case .selfClosing:
            if c == 0x3E { emitTag() } else { state = .beforeAttributeName; tokenize(c) }
        case .declarationOpen:
            // `<!--` opens a comment, `<!doctype` is markup, anything else is a bogus comment.
            let lc = Self.lower(c)
            if matched == 0 {
                if c == 0x2D { matched = 1; declarationIsDoctype = false; return }
                if lc == 0x64 { matched = 1; declarationIsDoctype = true; return }
            } else if !declarationIsDoctype {
                if c == 0x2D { state = .commentStart; return }
            } else if lc == Self.doctype[matched] {
                matched += 1
                if matched == 7 { found = true }
                return
            }
            state = .bogusComment; tokenize(c)
        case .processingInstruction:
            if Self.lower(c) == Self.php[matched] {
                matched += 1
                if matched == 3 { found = true }
                return
            }
            state = .bogusComment; tokenize(c)
        case .bogusComment:
            if c == 0x3E { state = .data }
        case .commentStart:
            if c == 0x2D { state = .commentStartDash } else if c == 0x3E { state = .data } else { state = .comment }
        case .commentStartDash:
            if c == 0x2D { state = .commentEnd } else if c == 0x3E { state = .data } else { state = .comment }
        case .comment:
            if c == 0x2D { state = .commentEndDash }
        case .commentEndDash:
            state = c == 0x2D ? .commentEnd : .comment
        case .commentEnd:
            if c == 0x3E { state = .data } else if c == 0x21 { state = .commentEndBang } else if c != 0x2D { state = .comment }
        case .commentEndBang:
            if c == 0x2D { state = .commentEndDash } else if c == 0x3E { state = .data } else { state = .comment }
        }
    }

    private mutating func beginTag(end: Bool, _ first: UInt8) {
        isEndTag = end
        name.removeAll(keepingCapacity: true)
        name.append(Self.lower(first))
        nameTooLong = false
        attributes = 0
        valued = false
        handler = false
        scriptURL = false
        attributeLength = 0
        state = .tagName
    }

    private mutating func beginAttribute(_ first: UInt8) {
        endAttribute()
        attributes += 1
        attributeLength = 0
        attributeStart = (0, 0)
        attributeValued = false
        value = AttributeValue()
        addToAttributeName(first)
        state = .attributeName
    }

    private mutating func addToAttributeName(_ c: UInt8) {
        let lc = Self.lower(c)
        if attributeLength == 0 { attributeStart.0 = lc } else if attributeLength == 1 { attributeStart.1 = lc }
        attributeLength += 1
    }

    /// Judges the attribute just read: an event handler, or a script URL.
    private mutating func endAttribute() {
        guard attributeLength > 0 else { return }
        if attributeValued {
            valued = true
            if attributeStart == (0x6F, 0x6E), attributeLength > 2 { handler = true }
            if value.isScriptURL { scriptURL = true }
        }
        attributeLength = 0
    }

    private mutating func emitTag() {
        endAttribute()
        state = .data
        if handler || scriptURL { found = true; return }
        guard !nameTooLong, let tag = Self.table[Self.pack(name)] else { return }
        if isEndTag {
            if opened & tag.bit != 0 { found = true }
            return
        }
        let isScript = name == Self.script
        if tag.always || valued || (isScript && attributes > 0) { found = true; return }
        opened |= tag.bit
        if tag.rawText, rawEnd == nil { rawEnd = Array("</".utf8) + name }
    }
}

/// The start of an attribute's value as a URL parser would see it: character references
/// decoded, leading spaces and control characters dropped, tabs and newlines removed, lowercased.
/// Only the first 11 characters are kept: enough to tell `javascript:` and `vbscript:`.
struct AttributeValue {
    private enum Reference { case none, ampersand, hash, decimal(UInt32), hex(UInt32, digits: Int), named([UInt8]) }
    private var start: [UInt8] = []
    private var reference = Reference.none

    var isScriptURL: Bool {
        var copy = self
        copy.flush()
        return copy.start.starts(with: Array("javascript:".utf8)) || copy.start.starts(with: Array("vbscript:".utf8))
    }

    mutating func add(_ c: UInt8) {
        switch reference {
        case .none:
            if c == 0x26 { reference = .ampersand } else { keep(c) }
        case .ampersand:
            if c == 0x23 {
                reference = .hash
            } else if (c | 0x20) >= 0x61 && (c | 0x20) <= 0x7A {
                reference = .named([c])
            } else {
                reference = .none; keep(0x26); add(c)
            }
        case .hash:
            if c == 0x78 || c == 0x58 {
                reference = .hex(0, digits: 0)
            } else if c >= 0x30 && c <= 0x39 {
                reference = .decimal(UInt32(c - 0x30))
            } else {
                reference = .none; keep(0x26); keep(0x23); add(c)
            }
        case .decimal(let v):
            if c >= 0x30 && c <= 0x39 {
                reference = .decimal(min(v * 10 + UInt32(c - 0x30), 0x110000))
            } else {
                reference = .none; keepCode(v)
                if c != 0x3B { add(c) }
            }
        case .hex(let v, let digits):
            if let d = Self.hexValue(c) {
                reference = .hex(min(v * 16 + d, 0x110000), digits: digits + 1)
            } else if digits == 0 {
                reference = .none; keep(0x26); keep(0x23); keep(0x78); add(c)
            } else {
                reference = .none; keepCode(v)
                if c != 0x3B { add(c) }
            }
        case .named(let letters):
            if ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x7A) || (c >= 0x30 && c <= 0x39), letters.count < 10 {
                reference = .named(letters + [c])
                return
            }
            reference = .none
            let name = String(decoding: letters, as: UTF8.self)
            if c == 0x3B, let decoded = ["colon": UInt8(0x3A), "Tab": 0x09, "NewLine": 0x0A][name] {
                keep(decoded)
            } else {
                keep(0x80)  // some other character, never part of a scheme
                if c != 0x3B { add(c) }
            }
        }
    }

    private mutating func flush() {
        switch reference {
        case .none: break
        case .ampersand: keep(0x26)
        case .hash: keep(0x26); keep(0x23)
        case .decimal(let v): keepCode(v)
        case .hex(let v, let digits): if digits == 0 { keep(0x26) } else { keepCode(v) }
        case .named: keep(0x80)
        }
        reference = .none
    }

    private mutating func keepCode(_ v: UInt32) { keep(v > 0 && v < 0x80 ? UInt8(v) : 0x80) }

    private mutating func keep(_ c: UInt8) {
        guard start.count < 11 else { return }
        if c == 0x09 || c == 0x0A || c == 0x0D { return }
        if start.isEmpty, c <= 0x20 { return }
        start.append(c >= 0x41 && c <= 0x5A ? c | 0x20 : c)
    }

    private static func hexValue(_ c: UInt8) -> UInt32? {
        switch c {
        case 0x30...0x39: UInt32(c - 0x30)
        case 0x41...0x46: UInt32(c - 0x37)
        case 0x61...0x66: UInt32(c - 0x57)
        default: nil
        }
    }
}
