/// When libmagic is believed about text. libmagic names some formats from a few letters at the
/// start of a file (`BP` or `PA` make HPGL plotter commands, `MAC` an APE audio file, `P1` a
/// bitmap) or from a word anywhere in its first kilobytes (`<script` makes HTML). A school
/// nurse's note that begins "BP readings..." is text, whatever its first letters spell. So when
/// the sniffed bytes are text, only answers that name a text format of their own, or a type the
/// vault refuses, stand; any other answer becomes plain text, which the markup scanner and the
/// text rules then judge. libmagic's `text/html` is such a guess too: the markup scanner, which
/// reads every byte as a browser would, decides whether the file holds markup.
enum TextContent {
    /// Answers kept for text, besides `text/*` other than `text/html`, `message/*`, the formats
    /// the vault stores (none of whose signatures is text) and the families `TypePolicy.family`
    /// names (executables, archives, XML, SVG, scripts).
    static let textFormats: Set<String> = [
        "application/pdf", "application/x-pdf", "application/postscript", "application/rtf", "application/xml",
        "application/xhtml+xml", "application/javascript", "application/x-javascript", "application/ecmascript",
        "application/json", "application/x-sh", "application/x-shellscript", "image/svg+xml",
    ]

    /// Source of languages that are compiled or typeset, never run by opening the file: libmagic
    /// guesses them from a letter in the first column ("C Smith reported..." is Fortran to it) or
    /// a leading dot, and they are as inert as prose. Scripts that run (shell, batch, Python,
    /// JavaScript...) stay refused.
    static let inertSourceGuesses: Set<String> = [
        "text/x-fortran", "text/x-c", "text/x-c++", "text/x-objective-c", "text/x-pascal", "text/x-asm",
        "text/x-java", "text/troff", "text/x-tex", "text/x-makefile", "text/x-m4", "text/x-bcpl",
    ]

    /// Whether libmagic's answer stands for content that is text.
    static func trusts(_ mime: String) -> Bool {
        if mime == "text/html" || inertSourceGuesses.contains(mime) { return false }
        if mime.hasPrefix("text/") || mime.hasPrefix("message/") || textFormats.contains(mime) { return true }
        if EvidenceType(mime: mime) != nil { return true }
        if let family = TypePolicy.family(ofMIME: mime), family != TypePolicy.htmlFamily { return true }
        return false
    }

    /// Whether `prefix` is text: UTF-8 (with or without a byte-order mark), or UTF-16 or UTF-32
    /// with one; well formed, with no control characters but tab, line feed, vertical tab, form
    /// feed and carriage return. A character cut off by the end of `prefix` is allowed when
    /// more of the file follows.
    static func isText(_ prefix: UnsafeRawBufferPointer, wholeFile: Bool) -> Bool {
        guard !prefix.isEmpty else { return false }
        let b = prefix
        if b.count >= 4, b[0] == 0xFF, b[1] == 0xFE, b[2] == 0, b[3] == 0 { return isUTF32(b, little: true, wholeFile: wholeFile) }
        if b.count >= 4, b[0] == 0, b[1] == 0, b[2] == 0xFE, b[3] == 0xFF { return isUTF32(b, little: false, wholeFile: wholeFile) }
        if b.count >= 2, b[0] == 0xFF, b[1] == 0xFE { return isUTF16(b, little: true, wholeFile: wholeFile) }
        if b.count >= 2, b[0] == 0xFE, b[1] == 0xFF { return isUTF16(b, little: false, wholeFile: wholeFile) }
        return isUTF8(b, wholeFile: wholeFile)
    }

    private static func allowed(_ scalar: UInt32) -> Bool {
        if scalar < 0x20 { return scalar >= 0x09 && scalar <= 0x0D }
        return scalar != 0x7F
    }

    private static func isUTF8(_ b: UnsafeRawBufferPointer, wholeFile: Bool) -> Bool {
        var i = 0
        let n = b.count
        while i < n {
            let c = b[i]
            if c < 0x80 {
                guard allowed(UInt32(c)) else { return false }
                i += 1
                continue
            }
            let length: Int
            var scalar: UInt32
            switch c {
            case 0xC2...0xDF: length = 2; scalar = UInt32(c & 0x1F)
            case 0xE0...0xEF: length = 3; scalar = UInt32(c & 0x0F)
            case 0xF0...0xF4: length = 4; scalar = UInt32(c & 0x07)
            default: return false
            }
            if i + length > n {
                // Cut off by the end of the sniffed bytes: the rest must begin well.
                guard !wholeFile else { return false }
                for j in (i + 1)..<n where b[j] & 0xC0 != 0x80 { return false }
                return true
            }
            for j in 1..<length {
                let next = b[i + j]
                guard next & 0xC0 == 0x80 else { return false }
                scalar = scalar << 6 | UInt32(next & 0x3F)
            }
            // No overlong forms, no surrogates, nothing past U+10FFFF.
            let least: UInt32 = length == 2 ? 0x80 : length == 3 ? 0x800 : 0x10000
            guard scalar >= least, scalar <= 0x10FFFF, !(0xD800...0xDFFF).contains(scalar), allowed(scalar) else { return false }
            i += length
        }
        return true
    }

    private static func isUTF16(_ b: UnsafeRawBufferPointer, little: Bool, wholeFile: Bool) -> Bool {
        var i = 2
        var highSurrogate = false
        while i + 1 < b.count {
            let unit = little ? UInt32(b[i]) | UInt32(b[i + 1]) << 8 : UInt32(b[i]) << 8 | UInt32(b[i + 1])
            i += 2
            if highSurrogate {
                guard (0xDC00...0xDFFF).contains(unit) else { return false }
                highSurrogate = false
            } else if (0xD800...0xDBFF).contains(unit) {
                highSurrogate = true
            } else if (0xDC00...0xDFFF).contains(unit) || !allowed(unit) {
                return false
            }
        }
        if wholeFile { return i == b.count && !highSurrogate }
        return true
    }

    private static func isUTF32(_ b: UnsafeRawBufferPointer, little: Bool, wholeFile: Bool) -> Bool {
        var i = 4
        while i + 3 < b.count {
            let bytes = (UInt32(b[i]), UInt32(b[i + 1]), UInt32(b[i + 2]), UInt32(b[i + 3]))
            let scalar = little ? bytes.0 | bytes.1 << 8 | bytes.2 << 16 | bytes.3 << 24 : bytes.0 << 24 | bytes.1 << 16 | bytes.2 << 8 | bytes.3
            guard scalar <= 0x10FFFF, !(0xD800...0xDFFF).contains(scalar), allowed(scalar) else { return false }
            i += 4
        }
        return !wholeFile || i == b.count
    }
}
