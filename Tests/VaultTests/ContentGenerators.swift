import Foundation
import TestSupport
@testable import Vault

/// Seeded generators for the content tests: notes as staff write them, markup hidden in them,
/// and the compressed streams and containers active content hides in.
struct Generator {
    var rng: SplitMix64

    init(seed: UInt64) { rng = SplitMix64(seed: seed) }

    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &rng) }
    mutating func chance(_ p: Double) -> Bool { Double.random(in: 0..<1, using: &rng) < p }
    mutating func pick<T>(_ items: [T]) -> T { items[int(0...(items.count - 1))] }

    // MARK: Notes

    static let subjects = [
        "The child", "She", "He", "The pupil", "Mum", "Dad", "The class teacher", "The school nurse", "The DSL", "Police",
        "Children's social care", "The TA", "Nan", "The PE teacher", "Her older brother", "The bus driver",
    ]
    static let verbs = [
        "said", "reported", "disclosed", "was seen", "arrived late", "was upset", "told staff", "mentioned", "was absent",
        "left early", "described", "asked for help", "did not want to go home", "was given breakfast",
    ]
    static let endings = [
        "that she was hungry.", "at 9:15 with a bruise on the left arm.", "that home was 'scary' at night.",
        "and was calm by lunch.", "; the parent was called at 10:40.", "- see the body map.", "(no further concerns).",
        "about the weekend, and cried.", "that \"nobody listens\".", "— the account matched last week's.",
        "with marks of 7/10 and 9 / 10.", "on 3 March, 2026 at 14:05.", "(follow-up: 2 weeks).",
    ]
    /// Angle brackets as people write them in notes: none of these is markup. All but the last
    /// close what they open.
    static let harmlessBrackets = closedBrackets + ["if x<a then b = 3"]
    static let closedBrackets = [
        "<image removed>", "<details withheld>", "<name@example.org>", "x < y and y > z", "pupil said <script> was a word she saw",
        "scored <10 on the test", "I <3 school", "<form attached>", "<title of the meeting>", "<body map on file>",
        "<redacted>", "<<see note above>>", "a -> b <- c", "<3 days later>", "<Jane Smith> (name withheld)", "<b>bold</b> text",
        "<metadata> was noted", "<p> was the paragraph marker", "the <object> of the sentence",
        "<!-- not a comment in a note, but harmless -->", "an <iframe-less page>",
    ]

    mutating func sentence() -> String {
        "\(pick(Self.subjects)) \(pick(Self.verbs)) \(pick(Self.endings))"
    }

    /// A note of one of the shapes staff write: prose, minutes, a letter, a list; with `email`,
    /// perhaps an email with its headers; with `brackets`, angle brackets in some sentences.
    mutating func note(brackets: [String] = [], email: Bool = false) -> String {
        var sentences: [String] = []
        for _ in 0..<int(1...12) {
            var s = sentence()
            if !brackets.isEmpty, chance(0.3) { s += " " + pick(brackets) }
            sentences.append(s)
        }
        let body = sentences.joined(separator: chance(0.5) ? " " : "\n")
        let (someone, other, day, month) = (pick(Self.subjects), pick(Self.subjects), int(1...28), int(1...12))
        switch int(0...(email ? 5 : 4)) {
        case 0: return body + "\n"
        case 1:
            return "Minutes of the meeting held on \(day)/\(month)/2026\nPresent: \(someone), \(other)\n\n1. Apologies: none\n"
                + "2. \(body)\n3. Actions: \(someone) to follow up.\n"
        case 2: return "Dear \(pick(["Ms Patel", "Mr Jones", "Sir/Madam"])),\n\n\(body)\n\nYours sincerely,\nA. Teacher\n"
        case 3: return sentences.map { "- " + $0 }.joined(separator: "\r\n") + "\r\n"
        case 4: return "\(body) Notes: é, ü, “quoted”, £5, 😀.\n"
        default:
            let from = pick(["Mrs Smith", "school office", "Social Care"])
            let subject = pick(["concern", "Re: Monday", "visit"])
            return "From: \(from) <office@school.example>\nTo: DSL\nSubject: \(subject)\n\n\(body)\n"
        }
    }

    /// Base64 of random bytes, as a pasted attachment.
    mutating func base64(bytes: Int) -> String {
        let data = Data((0..<bytes).map { _ in UInt8(truncatingIfNeeded: rng.next()) }).base64EncodedString()
        guard chance(0.5) else { return data }
        return stride(from: 0, to: data.count, by: 76).map { start -> String in
            let s = data.index(data.startIndex, offsetBy: start)
            return String(data[s..<data.index(s, offsetBy: min(76, data.count - start))])
        }.joined(separator: "\n") + "\n"
    }

    /// Ordinary words, at least `bytes` long.
    mutating func prose(bytes: Int) -> String {
        var out = ""
        while out.utf8.count < bytes { out += sentence() + (chance(0.2) ? "\n" : " ") }
        return out
    }

    // MARK: Markup

    mutating func caseMix(_ s: String) -> String {
        String(s.map { chance(0.5) ? Character($0.uppercased()) : $0 })
    }

    /// A run of HTML whitespace, usually short, sometimes hundreds long.
    mutating func whitespace(min: Int = 1) -> String {
        let length = chance(0.15) ? int(100...700) : int(min...4)
        return String((0..<length).map { _ in pick([" ", " ", "\t", "\n", "\r", "\u{0C}"]) })
    }

    mutating func quoted(_ value: String) -> String {
        switch int(0...2) {
        case 0: return "\"\(value)\""
        case 1: return "'\(value)'"
        // Unquoted, a value ends at whitespace.
        default: return value.contains(where: \.isWhitespace) || value.isEmpty ? "\"\(value)\"" : value
        }
    }

    mutating func attribute(_ name: String, _ value: String) -> String {
        caseMix(name) + (chance(0.2) ? whitespace() : "") + "=" + (chance(0.2) ? whitespace() : "") + quoted(value)
    }

    mutating func tagEnd() -> String { (chance(0.4) ? whitespace() : "") + ">" }

    /// A piece of markup that would do something in a browser, with a label saying what.
    mutating func markup() -> (label: String, text: String) {
        let handlers = ["onerror", "onload", "onclick", "onmouseover", "onfocus", "ontoggle", "onanimationstart"]
        let scriptURLs = [
            "javascript:alert(1)", "JaVaScRiPt:alert(1)", "java\tscript:alert(1)", "java\nscript:alert(1)",
            "&#106;avascript:alert(1)", "&#x6A;avascript:alert(1)", "&#0000106avascript:alert(1)", "javascript&colon;alert(1)",
            "\u{01} javascript:alert(1)", "  vbscript:msgbox(1)",
        ]
        switch int(0...10) {
        case 0:
            let open = "<" + caseMix("script") + (chance(0.5) ? whitespace() : "") + ">"
            return ("script closed later", open + pick(["alert(1)", "fetch('//x.example')", "\n"]) + prose(bytes: int(0...400))
                + "</" + caseMix("script") + tagEnd())
        case 1:
            let attribute = pick(["async", "defer", "nomodule", attribute("src", "https://x.example/a.js"), attribute("type", "module")])
            return ("script with an attribute", "<" + caseMix("script") + whitespace() + attribute + tagEnd())
        case 2:
            let tag = pick(MarkupScanner.alwaysTags)
            let rest = chance(0.5) ? "" : whitespace() + attribute(pick(["src", "data", "srcdoc", "width"]), "https://x.example/")
            return ("always", "<" + caseMix(tag) + rest + tagEnd())
        case 3:
            let (tag, name, value) = pick([
                ("object", "data", "https://x.example/a.swf"), ("meta", "http-equiv", "refresh"), ("link", "href", "//x.example/s.css"),
                ("base", "href", "https://x.example/"), ("form", "action", "https://x.example/steal"), ("img", "src", "x"),
                ("image", "src", "\\\\server\\share\\x.png"), ("input", "formaction", "//x.example"), ("video", "poster", "//x.example/p"),
                ("audio", "src", "x.mp3"), ("source", "src", "x.mp4"), ("style", "media", "all"), ("button", "formaction", "//x"),
                ("details", "open", "open"), ("marquee", "behavior", "alternate"), ("textarea", "autofocus", ""),
            ])
            return ("valued attribute", "<" + caseMix(tag) + whitespace() + (chance(0.5) ? "x" + whitespace() : "")
                + attribute(name, value) + tagEnd())
        case 4:
            let tag = pick(["style", "title", "textarea", "xmp", "noscript", "object", "form"])
            return ("closed later", "<" + caseMix(tag) + tagEnd() + prose(bytes: int(0...200)) + "body{background:url(//x.example)}"
                + "</" + caseMix(tag) + tagEnd())
        case 5:
            let tag = pick(["b", "p", "div", "a", "x-note", "span", "img", "svg", "details", "marquee"])
            let separator = chance(0.3) ? "/" : whitespace()
            return ("handler", "<" + caseMix(tag) + separator + attribute(pick(handlers), "alert(1)") + tagEnd())
        case 6:
            return ("script URL", "<" + caseMix(pick(["a", "iframe", "form", "x"])) + whitespace()
                + attribute(pick(["href", "src", "action", "formaction", "values"]), pick(scriptURLs)) + tagEnd())
        case 7:
            return ("doctype", "<!" + caseMix("doctype") + whitespace() + "html>")
        case 8:
            return ("php", "<?" + caseMix("php") + " system($_GET['c']); ?>")
        case 9:
            // An attribute that runs on past lines and paragraphs before its tag closes.
            return ("long tag", "<" + caseMix("img") + whitespace() + "alt=\"" + prose(bytes: int(100...3000)) + "\""
                + whitespace() + attribute("src", "x") + whitespace() + attribute(pick(handlers), "alert(1)") + tagEnd())
        default:
            // Hidden from a scanner that ends comments or tags too early, not from a browser.
            return ("after a comment", "<!-- <p title=\"--> <" + caseMix("script") + ">alert(1)</" + caseMix("script") + "> \"> -->")
        }
    }

    /// Text in UTF-8, or UTF-16 or UTF-32 with a byte-order mark.
    mutating func encode(_ text: String, as encoding: Int? = nil) -> [UInt8] {
        switch encoding ?? int(0...3) {
        case 1: return [0xFF, 0xFE] + Array(text.utf16).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
        case 2: return [0xFE, 0xFF] + Array(text.utf16).flatMap { [UInt8($0 >> 8), UInt8($0 & 0xFF)] }
        case 3:
            return [0xFF, 0xFE, 0, 0] + text.unicodeScalars.flatMap { s -> [UInt8] in
                let v = s.value
                return [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v >> 16 & 0xFF), 0]
            }
        default: return Array(text.utf8)
        }
    }

    /// Split points for streaming `count` bytes in chunks of random sizes (some of one byte).
    mutating func chunks(_ count: Int) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var start = 0
        while start < count {
            let size = chance(0.3) ? int(1...3) : int(1...70_000)
            out.append(start..<min(count, start + size))
            start += size
        }
        return out
    }
}

/// DEFLATE with fixed Huffman codes (RFC 1951 3.2.6), enough to hide names from a raw scan the
/// way real compressors do, and to make bombs: `repeating` writes a run as back-references.
enum Deflate {
    private struct Bits {
        var bytes: [UInt8] = []
        var bit = 0
        mutating func put(_ value: Int, _ count: Int) {
            for i in 0..<count {
                if bit == 0 { bytes.append(0) }
                bytes[bytes.count - 1] |= UInt8((value >> i) & 1) << UInt8(bit)
                bit = (bit + 1) % 8
            }
        }
        /// Huffman codes go most significant bit first.
        mutating func code(_ value: Int, _ count: Int) {
            for i in stride(from: count - 1, through: 0, by: -1) { put((value >> i) & 1, 1) }
        }
        mutating func literal(_ b: Int) {
            switch b {
            case 0...143: code(0x30 + b, 8)
            case 144...255: code(0x190 + b - 144, 9)
            case 256...279: code(b - 256, 7)
            default: code(0xC0 + b - 280, 8)
            }
        }
    }

    /// Raw DEFLATE of `data`, then `run` copies of its last byte as back-references (258 at a time).
    static func raw(_ data: [UInt8], repeatingLast run: Int = 0) -> [UInt8] {
        var bits = Bits()
        bits.put(1, 1)  // final block
        bits.put(1, 2)  // fixed Huffman codes
        for b in data { bits.literal(Int(b)) }
        var left = run
        while left >= 258 {
            bits.literal(285)  // length 258
            bits.code(0, 5)  // distance 1
            left -= 258
        }
        for _ in 0..<left { bits.literal(Int(data.last!)) }
        bits.literal(256)
        return bits.bytes
    }

    /// A zlib stream (RFC 1950) around `raw`.
    static func zlib(_ data: [UInt8], repeatingLast run: Int = 0) -> [UInt8] {
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in data { a = (a + UInt32(byte)) % 65521; b = (b + a) % 65521 }
        if run > 0 {
            // Adler-32 over `run` copies of v, in closed form: a += n·v, b += n·a + v·n(n+1)/2.
            let n = UInt64(run), v = UInt64(data.last!), m: UInt64 = 65521
            let newA = (UInt64(a) + n % m * v) % m
            let newB = (UInt64(b) + n % m * UInt64(a) + v * ((n * (n + 1) / 2) % m)) % m
            (a, b) = (UInt32(newA), UInt32(newB))
        }
        let adler = b << 16 | a
        return [0x78, 0x01] + raw(data, repeatingLast: run)
            + [UInt8(adler >> 24), UInt8(adler >> 16 & 0xFF), UInt8(adler >> 8 & 0xFF), UInt8(adler & 0xFF)]
    }
}

/// A PDF written object by object, with a cross-reference table that points at each.
struct PDFWriter {
    private(set) var objects: [[UInt8]] = []

    /// Adds an object; returns its number.
    @discardableResult
    mutating func add(_ body: String) -> Int { add(Array(body.utf8)) }

    @discardableResult
    mutating func add(_ body: [UInt8]) -> Int {
        objects.append(body)
        return objects.count
    }

    /// A stream object: `dictionary` (without /Length), then `data`.
    @discardableResult
    mutating func stream(_ dictionary: String, _ data: [UInt8]) -> Int {
        add(Array("<< \(dictionary) /Length \(data.count) >>\nstream\n".utf8) + data + Array("\nendstream".utf8))
    }

    /// An object stream holding `members` (numbered from `first`), FlateDecode-compressed.
    static func objectStream(_ members: [String], first: Int, extra: String = "", compress: ([UInt8]) -> [UInt8] = { Deflate.zlib($0) })
        -> (dictionary: String, data: [UInt8]) {
        var header = "", body = ""
        for (i, member) in members.enumerated() {
            header += "\(first + i) \(body.utf8.count) "
            body += member + "\n"
        }
        let plain = Array((header + body).utf8)
        return ("/Type /ObjStm /N \(members.count) /First \(header.utf8.count) /Filter /FlateDecode \(extra)", compress(plain))
    }

    /// The file, with `catalog` (an object number) as its root.
    func bytes(root: Int) -> [UInt8] {
        var out = Array("%PDF-1.7\n%\u{E2}\u{E3}\u{CF}\u{D3}\n".utf8)
        var offsets: [Int] = []
        for (i, body) in objects.enumerated() {
            offsets.append(out.count)
            out += Array("\(i + 1) 0 obj\n".utf8) + body + Array("\nendobj\n".utf8)
        }
        let xref = out.count
        out += Array("xref\n0 \(objects.count + 1)\n0000000000 65535 f \n".utf8)
        for offset in offsets { out += Array(String(format: "%010d 00000 n \n", offset).utf8) }
        out += Array("trailer\n<< /Size \(objects.count + 1) /Root \(root) 0 R >>\nstartxref\n\(xref)\n%%EOF\n".utf8)
        return out
    }

    /// A one-page PDF whose page draws `content` (compressed), plus whatever `extend` adds; the
    /// catalog gets `catalogExtra`.
    static func document(
        content: String = "BT /F1 12 Tf 72 720 Td (Minutes of the meeting) Tj ET", catalogExtra: String = "",
        extend: (inout PDFWriter) -> Void = { _ in }
    ) -> [UInt8] {
        var pdf = PDFWriter()
        pdf.add("<< /Type /Catalog /Pages 2 0 R \(catalogExtra) >>")
        pdf.add("<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
        pdf.add("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>")
        pdf.stream("/Filter /FlateDecode", Deflate.zlib(Array(content.utf8)))
        pdf.add("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
        extend(&pdf)
        return pdf.bytes(root: 1)
    }
}

/// Zip packages for the office-document tests: entries stored or deflated, names as given.
enum PackageWriter {
    struct Entry {
        var name: [UInt8]
        var data: [UInt8]
        var deflate = false
        var flags: UInt16 = 0
        init(_ name: String, _ text: String, deflate: Bool = false) {
            self.name = Array(name.utf8)
            self.data = Array(text.utf8)
            self.deflate = deflate
        }
    }

    static func le16(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF)] }

    /// The package; `centralOffsets` can make the central directory point elsewhere.
    static func zip(_ entries: [Entry], centralOffsets: [Int: Int] = [:]) -> [UInt8] {
        var out: [UInt8] = []
        var central: [UInt8] = []
        for (i, entry) in entries.enumerated() {
            let stored = entry.deflate ? Deflate.raw(entry.data) : entry.data
            let crc = crc32(entry.data)
            let method = entry.deflate ? 8 : 0
            let offset = out.count
            out += [0x50, 0x4B, 0x03, 0x04, 20, 0] + le16(Int(entry.flags)) + le16(method) + [0, 0, 0, 0] + Fixtures.le32(Int(crc))
                + Fixtures.le32(stored.count) + Fixtures.le32(entry.data.count) + le16(entry.name.count) + [0, 0] + entry.name + stored
            central += [0x50, 0x4B, 0x01, 0x02, 20, 0, 20, 0] + le16(Int(entry.flags)) + le16(method) + [0, 0, 0, 0]
                + Fixtures.le32(Int(crc)) + Fixtures.le32(stored.count) + Fixtures.le32(entry.data.count) + le16(entry.name.count)
                + [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0] + Fixtures.le32(centralOffsets[i] ?? offset) + entry.name
        }
        let cdOffset = out.count
        out += central
        out += [0x50, 0x4B, 0x05, 0x06, 0, 0, 0, 0] + le16(min(entries.count, 0xFFFF)) + le16(min(entries.count, 0xFFFF))
            + Fixtures.le32(central.count) + Fixtures.le32(cdOffset) + [0, 0]
        return out
    }

    static let contentTypes = """
        <?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">\
        <Default Extension="xml" ContentType="application/xml"/>\
        <Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>\
        </Types>
        """

    /// A DOCX that libmagic names as one: `[Content_Types].xml` first, then `word/` parts.
    static func docx(_ contentTypes: String = contentTypes, _ deflateContentTypes: Bool = true, _ extra: [Entry] = []) -> [Entry] {
        [
            Entry("[Content_Types].xml", contentTypes, deflate: deflateContentTypes),
            Entry("_rels/.rels", "<Relationships/>", deflate: true),
            Entry("word/document.xml", "<w:document><w:body><w:p><w:r><w:t>Minutes</w:t></w:r></w:p></w:body></w:document>", deflate: true),
        ] + extra
    }
}
