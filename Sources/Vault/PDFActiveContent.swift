import Glibc

/// Finds active content in a PDF as its bytes stream in: JavaScript (`/JavaScript`, `/JS`),
/// launch actions (`/Launch`), embedded files (`/EmbeddedFile`, `/EmbeddedFiles`) and rich media
/// (`/RichMedia`). Every byte is read once, in bounded memory.
///
/// - Names are read as a PDF reader reads them: `#xx` escapes decoded (`/J#61vaScript` is
///   `/JavaScript`), and compared without regard to case. Every name in the file counts, in a
///   dictionary, a string, a comment or a stream's raw bytes, with one exception: random bytes
///   spell the two-letter `/JS` about once in 300 MB, so in the file's raw bytes it counts only
///   outside stream data and after 16 bytes of ASCII text, as a dictionary key stands (inside
///   an object stream it always counts). A JavaScript action must name its type,
///   `/S /JavaScript`, and a document's scripts hang under `/JavaScript` in its name tree: that
///   name counts everywhere.
/// - Dictionaries can hide in compressed object streams (`/Type /ObjStm`). Every stream (every
///   `stream` keyword, wherever it is) whose data is zlib-compressed is inflated until its first
///   decoded bytes show whether it holds objects (a header of number pairs, then an object); one
///   that does is inflated to its end and its names read, `/JS` included. All object streams of a
///   file together may inflate to `inflateLimit` bytes: a PDF with more is refused, never read
///   further. Other streams cost at most one 16 KiB piece of output each.
/// - A stream whose dictionary says it holds objects (`/ObjStm`, `/First`) but that is compressed
///   in any other way (`/LZWDecode`, `/ASCII85Decode`, a chain of filters, a `/DecodeParms`
///   predictor) or does not inflate (an encrypted PDF's object streams) cannot be checked, and
///   the PDF is refused.
///
/// What this does not do: follow the cross-reference table. A `stream` keyword where no stream
/// begins (in a comment or a string) makes the bytes up to the next `endstream` count as stream
/// data, where a bare `/JS` is not counted, nor is one after binary bytes; `/JavaScript` still
/// is, and every stream that begins there is still inflated and read.
struct PDFActiveContent: ContentCheck {
    /// Bytes all object streams of one file may inflate to.
    static let inflateLimit = 32 << 20
    /// Bytes of any stream inflated to see whether it holds objects.
    static let probeBytes = 256
    /// Streams being inflated at once (a stream can begin inside another's bytes).
    static let maxInflating = 8
    /// Bytes of text before a raw `/JS` for it to count.
    static let textBeforeJS = 16

    /// The last bytes of the previous chunk: what a name or keyword at the start of this one
    /// looks back at, and the start of a keyword it cuts in two.
    private var seam: [UInt8] = []
    private var inData = false
    /// Whether the name being read began after `textBeforeJS` bytes of text.
    private var nameAfterText = false
    private var name = PDFName()
    /// After the `stream` keyword: 1 while skipping to the end of its line, 2 after a CR,
    /// 3 when the data begins with the next byte.
    private var awaitingData = 0
    // What was said since the last `stream` keyword: the dictionary of the next stream.
    private var saysObjects = false
    private var flateFilters = 0
    private var otherFilter = false
    private var decodeParms = false
    // The same, for the stream whose data is about to begin.
    private var streamSaysObjects = false
    private var streamCheckable = true

    private var inflating: [ObjectStreamProbe] = []
    private var inflated = 0
    private var finding: ActiveContent?

    private static let stream = Array("stream".utf8)

    /// Only three things matter, so the scan jumps from one to the next (`memchr`): a `/`, which
    /// begins a name; an `s`, which may begin `stream` or end `endstream`; and, after the `stream`
    /// keyword, the end of its line.
    mutating func scan(_ bytes: UnsafeRawBufferPointer) -> Refusal.Reason? {
        guard finding == nil, !bytes.isEmpty else { return finding?.reason }
        let n = bytes.count
        let base = bytes.baseAddress!
        // Where the bytes of the streams being inflated begin in this chunk.
        var dataStart = 0
        let seam = self.seam
        /// The byte at `k`, which may lie in the previous chunk (negative), if known.
        func byte(_ k: Int) -> UInt8? {
            if k >= 0 { return k < n ? bytes[k] : nil }
            return -k <= seam.count ? seam[seam.count + k] : nil
        }
        func find(_ c: UInt8, from k: Int) -> Int {
            guard k < n, let hit = memchr(base + k, Int32(c), n - k) else { return n }
            return base.distance(to: UnsafeRawPointer(hit))
        }

        var i = 0
        // A keyword cut in two by the chunk boundary: its `s` is in the seam.
        for p in max(0, seam.count - 6)..<seam.count where seam[p] == 0x73 {
            i = max(i, keywordAt(p - seam.count, byte, &dataStart, bytes))
        }
        var nextSlash = -1, nextS = -1
        while i < n, finding == nil {
            if name.isOpen {
                i = readName(bytes, from: i, byte)
                continue
            }
            if awaitingData != 0 {
                i = awaitData(bytes, from: i, &dataStart)
                continue
            }
            if nextSlash < i { nextSlash = find(0x2F, from: i) }
            if nextS < i { nextS = find(0x73, from: i) }
            if nextSlash < nextS {
                i = readName(bytes, from: nextSlash, byte)
            } else if nextS < n {
                // Bytes after the `s` decide; if they are in the next chunk, it decides.
                i = nextS + 6 < n ? keywordAt(nextS, byte, &dataStart, bytes) : nextS + 1
            } else {
                break
            }
        }
        self.seam = Array((seam + bytes.suffix(Self.textBeforeJS)).suffix(Self.textBeforeJS))
        if finding == nil, !inflating.isEmpty { inflate(UnsafeRawBufferPointer(rebasing: bytes[dataStart...])) }
        return finding?.reason
    }

    mutating func finish() -> Refusal.Reason? {
        guard finding == nil else { return finding?.reason }
        if let found = name.end() { note(found) }
        for i in inflating.indices { if let found = inflating[i].end() { finding = Self.activeContent(found) } }
        return finding?.reason
    }

    /// Reads a name from `bytes[from]` (its `/`, or the rest of one the previous chunk began)
    /// until it ends; returns where scanning goes on.
    private mutating func readName(_ bytes: UnsafeRawBufferPointer, from start: Int, _ byte: (Int) -> UInt8?) -> Int {
        var k = start
        while k < bytes.count {
            let c = bytes[k]
            if let found = name.read(c) { note(found) }
            if c == 0x2F {
                // A bare `/JS` counts after text only; see the type's comment.
                nameAfterText = (1...Self.textBeforeJS).allSatisfy { back in
                    guard let b = byte(k - back) else { return false }
                    return (b >= 0x20 && b <= 0x7E) || (b >= 0x09 && b <= 0x0D)
                }
            }
            k += 1
            if !name.isOpen { break }
        }
        return k
    }

    /// `stream` or the end of `endstream` at `k` (its `s`), if the bytes around it say so.
    /// Returns where scanning goes on: after the keyword's terminator, or after the `s`.
    private mutating func keywordAt(_ k: Int, _ byte: (Int) -> UInt8?, _ dataStart: inout Int, _ bytes: UnsafeRawBufferPointer) -> Int {
        for j in 1..<6 where byte(k + j) != Self.stream[j] { return k + 1 }
        if byte(k - 3) == 0x65, byte(k - 2) == 0x6E, byte(k - 1) == 0x64 {
            inData = false
            return k + 1
        }
        // Between delimiters, and not a name (`/stream`).
        guard let before = byte(k - 1), PDFName.ends(before), before != 0x2F,
              let terminator = byte(k + 6), PDFName.ends(terminator) else { return k + 1 }
        keyword(terminator: terminator)
        if awaitingData == 3 { startStream(bytes, at: k + 7, &dataStart) }
        return k + 7
    }

    /// After the `stream` keyword: finds where its data begins, from `bytes[start]`.
    private mutating func awaitData(_ bytes: UnsafeRawBufferPointer, from start: Int, _ dataStart: inout Int) -> Int {
        var k = start
        while k < bytes.count, awaitingData != 0, finding == nil {
            let c = bytes[k]
            switch awaitingData {
            case 1: if c == 0x0A { awaitingData = 3 } else if c == 0x0D { awaitingData = 2 }
            case 2:
                if c == 0x0A { awaitingData = 3 } else { startStream(bytes, at: k, &dataStart); return k }
            default:
                startStream(bytes, at: k, &dataStart)
                return k
            }
            k += 1
        }
        return k
    }

    /// The `stream` keyword, ended by `terminator`: its data begins on the next line.
    private mutating func keyword(terminator: UInt8) {
        awaitingData = terminator == 0x0A ? 3 : terminator == 0x0D ? 2 : 1
        streamSaysObjects = saysObjects
        streamCheckable = !(otherFilter || flateFilters > 1 || decodeParms)
        saysObjects = false
        flateFilters = 0
        otherFilter = false
        decodeParms = false
    }

    /// A stream's data begins at `bytes[at]` (at the next chunk when `at` is past the end).
    private mutating func startStream(_ bytes: UnsafeRawBufferPointer, at i: Int, _ dataStart: inout Int) {
        guard i < bytes.count else { awaitingData = 3; return }
        awaitingData = 0
        inData = true
        if streamSaysObjects, !streamCheckable { finding = .pdfUncheckable; return }
        if !inflating.isEmpty { inflate(UnsafeRawBufferPointer(rebasing: bytes[dataStart..<i])) }
        dataStart = i
        // Streams end or show what they are within their first bytes; this many still open at
        // once is a file built to crowd one out.
        if inflating.count == Self.maxInflating { finding = .pdfUncheckable; return }
        inflating.append(ObjectStreamProbe(saysObjects: streamSaysObjects, budget: Self.inflateLimit - inflated))
    }

    private mutating func inflate(_ data: UnsafeRawBufferPointer) {
        guard finding == nil else { return }
        var kept: [ObjectStreamProbe] = []
        for var probe in inflating {
            probe.push(data)
            if let found = probe.found, let active = Self.activeContent(found) { finding = active }
            if probe.overLimit { finding = .pdfTooMuchToCheck }
            if probe.damaged, probe.isObjectStream || probe.saysObjects { finding = .pdfUncheckable }
            if probe.done { inflated += probe.objectBytes } else { kept.append(probe) }
        }
        inflating = kept
    }

    private static func activeContent(_ found: PDFName.Found) -> ActiveContent? {
        switch found {
        case .javaScript, .js: .pdfJavaScript
        case .launch: .pdfLaunch
        case .embeddedFiles: .pdfEmbeddedFiles
        case .richMedia: .pdfRichMedia
        default: nil
        }
    }

    private mutating func note(_ found: PDFName.Found) {
        switch found {
        // Two letters turn up by chance in binary bytes; see the type's comment.
        case .js where inData || !nameAfterText: break
        case .objectStream, .first: saysObjects = true
        case .flate: flateFilters += 1
        case .otherFilter: otherFilter = true
        case .decodeParms: decodeParms = true
        default: finding = Self.activeContent(found)
        }
    }
}

/// One stream being inflated: first to see whether it holds objects, then, if it does, to read
/// the names in them.
struct ObjectStreamProbe {
    let saysObjects: Bool
    private let inflater: Inflater
    private var head: [UInt8] = []
    private(set) var isObjectStream = false
    private(set) var found: PDFName.Found?
    private(set) var done = false
    private(set) var damaged = false
    private(set) var overLimit = false
    private var names = PDFName()
    private let budget: Int

    init(saysObjects: Bool, budget: Int) {
        self.saysObjects = saysObjects
        self.budget = budget
        inflater = Inflater(.zlib, limit: budget + PDFActiveContent.probeBytes)
    }

    /// Bytes of objects inflated, once done.
    var objectBytes: Int { isObjectStream ? inflater.produced : 0 }

    mutating func push(_ data: UnsafeRawBufferPointer) {
        guard !done, !data.isEmpty else { return }
        let inflater = self.inflater
        let state = inflater.push(data) { out in take(out) }
        switch state {
        case .running: break
        case .finished, .stopped:
            if !isObjectStream, !head.isEmpty, Self.looksLikeObjects(head, complete: true) == true { becomeObjectStream() }
            if let f = end() { found = f }
            done = true
        case .damaged:
            damaged = true
            done = true
        case .overLimit:
            overLimit = isObjectStream
            done = true
        }
        if isObjectStream, inflater.produced > budget { overLimit = true; done = true }
    }

    /// The name being read when the data ended.
    mutating func end() -> PDFName.Found? {
        guard let f = names.end(), f.isActive else { return found }
        return f
    }

    /// Reads inflated bytes; returns whether more are wanted.
    private mutating func take(_ out: UnsafeRawBufferPointer) -> Bool {
        var rest = out[...]
        if !isObjectStream {
            let room = PDFActiveContent.probeBytes - head.count
            head += out.prefix(room)
            rest = out[min(room, out.count)...]
            let full = head.count >= PDFActiveContent.probeBytes
            switch Self.looksLikeObjects(head, complete: full) {
            case nil: return true
            case false?: return false
            case true?: becomeObjectStream()
            }
        }
        for c in rest { if let f = names.read(c), f.isActive { found = f } }
        return found == nil
    }

    private mutating func becomeObjectStream() {
        isObjectStream = true
        for c in head { if let f = names.read(c), f.isActive { found = f } }
        head = []
    }

    /// Whether decoded bytes begin as an object stream's do: whole numbers in pairs (object
    /// number, offset), then an object. Nil while only numbers have been seen, unless `complete`.
    /// A page's content stream begins with numbers too, but then an operator (`cm`, `re`, `rg`).
    static func looksLikeObjects(_ b: [UInt8], complete: Bool) -> Bool? {
        var i = 0
        var numbers = 0
        while true {
            while i < b.count, PDFName.isSpace(b[i]) { i += 1 }
            if i == b.count { return complete ? numbers >= 2 : nil }
            let c = b[i]
            guard c >= 0x30 && c <= 0x39 else { return numbers >= 2 && objectStarts.contains(c) }
            var j = i
            while j < b.count, b[j] >= 0x30 && b[j] <= 0x39 { j += 1 }
            if j == b.count { return complete ? numbers + 1 >= 2 : nil }
            if PDFName.ends(b[j]) { numbers += 1; i = j; continue }
            // A real number after the pairs is an object too.
            return numbers >= 2 && b[j] == 0x2E
        }
    }

    /// How an object begins: a dictionary or hex string, array, string, name, signed or real
    /// number, true, false, null.
    private static let objectStarts: Set<UInt8> = [0x3C, 0x5B, 0x28, 0x2F, 0x2B, 0x2D, 0x2E, 0x74, 0x66, 0x6E]
}

/// Reads PDF names (`/Name`) one byte at a time: `#xx` escapes decoded, lowercased, and the names
/// this check cares about recognised.
struct PDFName {
    enum Found: Equatable {
        case javaScript, js, launch, embeddedFiles, richMedia
        case objectStream, first, flate, otherFilter, decodeParms

        var isActive: Bool {
            switch self {
            case .javaScript, .js, .launch, .embeddedFiles, .richMedia: true
            default: false
            }
        }
    }

    static let table: [[UInt8]: Found] = {
        var table: [[UInt8]: Found] = [:]
        let entries: [(String, Found)] = [
            ("javascript", .javaScript), ("js", .js), ("launch", .launch), ("embeddedfile", .embeddedFiles),
            ("embeddedfiles", .embeddedFiles), ("richmedia", .richMedia), ("objstm", .objectStream), ("first", .first),
            ("flatedecode", .flate), ("fl", .flate), ("decodeparms", .decodeParms), ("dp", .decodeParms),
            ("asciihexdecode", .otherFilter), ("ahx", .otherFilter), ("ascii85decode", .otherFilter), ("a85", .otherFilter),
            ("lzwdecode", .otherFilter), ("lzw", .otherFilter), ("runlengthdecode", .otherFilter), ("rl", .otherFilter),
            ("crypt", .otherFilter),
        ]
        for (name, found) in entries { table[Array(name.utf8)] = found }
        return table
    }()

    static func isSpace(_ c: UInt8) -> Bool { c == 0x00 || c == 0x09 || c == 0x0A || c == 0x0C || c == 0x0D || c == 0x20 }

    /// Whitespace and delimiters end a name (PDF 32000-1, 7.2.2).
    static func ends(_ c: UInt8) -> Bool {
        switch c {
        case 0x00, 0x09, 0x0A, 0x0C, 0x0D, 0x20, 0x28, 0x29, 0x3C, 0x3E, 0x5B, 0x5D, 0x7B, 0x7D, 0x2F, 0x25: true
        default: false
        }
    }

    private(set) var isOpen = false
    private var bytes: [UInt8] = []
    private var tooLong = false
    /// 1 after `#`, 2 after `#` and one hex digit.
    private var escape = 0
    private var escapeFirst: UInt8 = 0

    init() { bytes.reserveCapacity(16) }

    /// Reads one byte; returns a name of interest when one ends here.
    mutating func read(_ c: UInt8) -> Found? {
        var result: Found?
        if isOpen {
            if escape == 1 {
                if Self.hex(c) != nil { escapeFirst = c; escape = 2; return nil }
                escape = 0; add(0x23)
            } else if escape == 2 {
                escape = 0
                if let low = Self.hex(c) { add(Self.hex(escapeFirst)! << 4 | low); return nil }
                add(0x23); add(escapeFirst)
            }
            if Self.ends(c) {
                result = end()
            } else if c == 0x23 {
                escape = 1
                return nil
            } else {
                add(c)
                return nil
            }
        }
        if c == 0x2F {
            isOpen = true
            bytes.removeAll(keepingCapacity: true)
            tooLong = false
            escape = 0
        }
        return result
    }

    /// Ends the name being read, if any (at the end of the data).
    mutating func end() -> Found? {
        guard isOpen else { return nil }
        if escape == 1 { add(0x23) } else if escape == 2 { add(0x23); add(escapeFirst) }
        escape = 0
        isOpen = false
        return tooLong ? nil : Self.table[bytes]
    }

    private mutating func add(_ c: UInt8) {
        guard bytes.count < 16 else { tooLong = true; return }
        bytes.append(c >= 0x41 && c <= 0x5A ? c | 0x20 : c)
    }

    private static func hex(_ c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: c - 0x30
        case 0x41...0x46: c - 0x37
        case 0x61...0x66: c - 0x57
        default: nil
        }
    }
}
