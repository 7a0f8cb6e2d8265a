import Glibc

/// Finds macros and other active parts in an office document (DOCX, XLSX, ODT, ODS: zip
/// packages) as its bytes stream in, without unpacking it. It reads the name of every zip entry,
/// from the local headers as they pass and from the central directory at the end (the list
/// Office and LibreOffice open parts by), and refuses:
/// - VBA macros: a part named `vbaProject.bin`, `vbaData.xml` or a VBA signature, anywhere;
/// - ActiveX controls: parts under an `activeX/` folder;
/// - OLE objects and macro-enabled documents embedded under `embeddings/` (`oleObject1.bin`,
///   `x.xlsm`), which can carry programs;
/// - ODF Basic macros and scripts: parts under `Basic/` or `Scripts/`.
///
/// A VBA part can be given any name, so the one part Office reads to learn what each part is,
/// `[Content_Types].xml`, is inflated too (DEFLATE, at most `contentTypesLimit` bytes: never a
/// bomb) and refused if it declares a macro-enabled document
/// (`application/vnd.ms-word.document.macroEnabled.main+xml`), a VBA project, ActiveX or OLE
/// objects. The central directory must point at the `[Content_Types].xml` that was read;
/// a package whose lists disagree, whose content types are encrypted or stored in a way the
/// vault does not read, or that has more than `maxEntries` entries, is refused as uncheckable.
struct OfficePackageParts: ContentCheck {
    static let maxEntries = 10_000
    static let contentTypesLimit = 1 << 20
    /// Headers being read at once (a signature inside another entry's name).
    static let maxOpenHeaders = 8
    /// How much of a name is kept at each end.
    static let nameBytes = 256

    private var position: Int64 = 0
    /// Bytes of `PK\x01\x02` / `PK\x03\x04` matched.
    private var signatureMatched = 0
    private var signatureCentral = false
    private var headers: [EntryHeader] = []
    private var centralEntries = 0
    private var contentTypesOffsets: [Int64] = []
    private var contentTypes: ContentTypesReader?
    private var finding: ActiveContent?

    mutating func scan(_ bytes: UnsafeRawBufferPointer) -> Refusal.Reason? {
        guard finding == nil else { return finding?.reason }
        var contentTypesStart: Int? = contentTypes == nil ? nil : 0
        var i = 0
        let n = bytes.count
        while i < n, finding == nil {
            if headers.isEmpty, signatureMatched == 0 {
                // Nothing open: skip to the next 'P'.
                guard let hit = memchr(bytes.baseAddress! + i, 0x50, n - i) else { break }
                i = bytes.baseAddress!.distance(to: UnsafeRawPointer(hit))
            }
            let c = bytes[i]
            var k = 0
            while k < headers.count {
                switch headers[k].read(c) {
                case .reading:
                    k += 1
                case .done:
                    finished(headers.remove(at: k), &contentTypesStart, next: i + 1)
                }
                if finding != nil { break }
            }
            if matchSignature(c) {
                if headers.count == Self.maxOpenHeaders { finding = .packageUncheckable; break }
                headers.append(EntryHeader(central: signatureCentral, offset: position + Int64(i) - 3))
            }
            i += 1
        }
        if finding == nil, let start = contentTypesStart, start < n { readContentTypes(UnsafeRawBufferPointer(rebasing: bytes[start...])) }
        position += Int64(n)
        return finding?.reason
    }

    mutating func finish() -> Refusal.Reason? {
        if finding == nil, contentTypes != nil { finding = .packageUncheckable }  // cut off
        return finding?.reason
    }

    private mutating func matchSignature(_ c: UInt8) -> Bool {
        switch signatureMatched {
        case 0: signatureMatched = c == 0x50 ? 1 : 0
        case 1: signatureMatched = c == 0x4B ? 2 : c == 0x50 ? 1 : 0
        case 2:
            if c == 1 || c == 3 { signatureCentral = c == 1; signatureMatched = 3 } else { signatureMatched = c == 0x50 ? 1 : 0 }
        default:
            signatureMatched = c == 0x50 ? 1 : 0
            if c == (signatureCentral ? 2 : 4) { return true }
        }
        return false
    }

    /// A header has been read up to `next`, the first byte after it.
    private mutating func finished(_ header: EntryHeader, _ contentTypesStart: inout Int?, next: Int) {
        if let found = header.activeContent { finding = found; return }
        if header.central {
            centralEntries += 1
            if centralEntries > Self.maxEntries { finding = .packageTooManyParts; return }
            if header.isContentTypes, !contentTypesOffsets.contains(header.localOffset) { finding = .packageUncheckable }
            return
        }
        guard header.isContentTypes else { return }
        // The one part whose content is read: from the next byte on.
        guard contentTypesOffsets.isEmpty, let reader = ContentTypesReader(header) else {
            finding = .packageUncheckable
            return
        }
        contentTypesOffsets.append(header.offset)
        contentTypes = reader
        contentTypesStart = next
    }

    private mutating func readContentTypes(_ data: UnsafeRawBufferPointer) {
        guard var reader = contentTypes else { return }
        reader.push(data)
        if let found = reader.found { finding = found }
        contentTypes = reader.done ? nil : reader
    }
}

/// A zip local or central header, read one byte at a time up to the end of its name (and, for
/// a local header, its extra field).
struct EntryHeader {
    enum Progress { case reading, done }

    let central: Bool
    /// Where its signature is in the file.
    let offset: Int64
    private var fixed: [UInt8] = []
    private var nameLength = -1
    private var extraLength = 0
    private var nameRead = 0
    private var extraRead = 0
    private var head: [UInt8] = []
    private var tail: [UInt8] = []

    init(central: Bool, offset: Int64) {
        self.central = central
        self.offset = offset
        fixed.reserveCapacity(42)
    }

    /// Bytes after the signature before the name: 42 in a central header, 26 in a local one.
    private var fixedLength: Int { central ? 42 : 26 }

    private func field16(_ at: Int) -> Int { Int(fixed[at]) | Int(fixed[at + 1]) << 8 }
    private func field32(_ at: Int) -> Int64 { Int64(field16(at)) | Int64(field16(at + 2)) << 16 }

    var flags: Int { field16(central ? 4 : 2) }
    var method: Int { field16(central ? 6 : 4) }
    var compressedSize: Int64 { field32(central ? 16 : 14) }
    var localOffset: Int64 { field32(38) }

    mutating func read(_ c: UInt8) -> Progress {
        if fixed.count < fixedLength {
            fixed.append(c)
            if fixed.count == fixedLength {
                nameLength = field16(central ? 24 : 22)
                extraLength = central ? 0 : field16(24)
                if nameLength == 0, extraLength == 0 { return .done }
            }
            return .reading
        }
        if nameRead < nameLength {
            nameRead += 1
            if head.count < OfficePackageParts.nameBytes { head.append(c) }
            tail.append(c)
            if tail.count > 2 * OfficePackageParts.nameBytes { tail.removeFirst(OfficePackageParts.nameBytes) }
            return nameRead == nameLength && extraLength == 0 ? .done : .reading
        }
        extraRead += 1
        return extraRead == extraLength ? .done : .reading
    }

    private static func normalised(_ bytes: [UInt8]) -> String {
        String(decoding: bytes.map { $0 == 0x5C ? 0x2F : ($0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0) }, as: UTF8.self)
    }

    var isContentTypes: Bool { nameLength <= 20 && Self.normalised(head).trimmingPrefix("/") == "[content_types].xml" }

    static let vbaParts: Set<String> = [
        "vbaproject.bin", "vbadata.xml", "vbaprojectsignature.bin", "vbaprojectsignatureagile.bin", "vbaprojectsignaturev3.bin",
    ]
    static let macroExtensions: Set<String> = ["docm", "dotm", "xlsm", "xltm", "xlam", "xlsb", "pptm", "potm", "ppsm", "ppam", "sldm"]

    /// What the entry's name says it is, if it is active content.
    var activeContent: ActiveContent? {
        let start = "/" + Self.normalised(head)
        let end = Self.normalised(tail)
        let last = end.split(separator: "/").last.map(String.init) ?? ""
        if Self.vbaParts.contains(last) { return .macros }
        if start.contains("/activex/") || end.contains("/activex/") { return .activeX }
        if start.contains("/embeddings/") || end.contains("/embeddings/") {
            if last.hasSuffix(".bin") { return .oleObjects }
            if let dot = last.lastIndex(of: "."), Self.macroExtensions.contains(String(last[last.index(after: dot)...])) { return .macros }
        }
        if start.contains("/basic/") || start.contains("/scripts/") { return .documentScripts }
        return nil
    }
}

/// The content of `[Content_Types].xml`, read for the content types of active parts.
struct ContentTypesReader {
    /// Lowercased, as they appear in content types
    /// (`application/vnd.ms-office.vbaProject`, `...document.macroEnabled.main+xml`,
    /// `application/vnd.ms-office.activeX+xml`, `...officedocument.oleObject`).
    static let needles: [(String, ActiveContent)] = [
        ("macroenabled", .macros), ("vbaproject", .macros), ("ms-office.activex", .activeX), ("oleobject", .oleObjects),
    ]

    private let inflater: Inflater?
    private var storedLeft: Int64
    private var tail: [UInt8] = []
    private(set) var found: ActiveContent?
    private(set) var done = false

    /// Nil when the entry cannot be read: encrypted, a method other than stored or DEFLATE, or
    /// stored with no size in its header.
    init?(_ header: EntryHeader) {
        guard header.flags & 1 == 0 else { return nil }
        switch header.method {
        case 8:
            inflater = Inflater(.raw, limit: OfficePackageParts.contentTypesLimit)
            storedLeft = 0
        case 0:
            guard header.flags & 8 == 0, header.compressedSize != 0xFFFF_FFFF,
                  header.compressedSize <= OfficePackageParts.contentTypesLimit else { return nil }
            inflater = nil
            storedLeft = header.compressedSize
        default:
            return nil
        }
    }

    mutating func push(_ data: UnsafeRawBufferPointer) {
        guard !done else { return }
        if let inflater {
            switch inflater.push(data, { look($0) }) {
            case .running: break
            case .finished, .stopped: done = true
            case .damaged, .overLimit: found = found ?? .packageUncheckable; done = true
            }
        } else {
            let take = Int(min(storedLeft, Int64(data.count)))
            _ = look(UnsafeRawBufferPointer(rebasing: data[0..<take]))
            storedLeft -= Int64(take)
            if storedLeft == 0 { done = true }
        }
    }

    /// Looks for the needles in `piece`, and across its start; returns whether to go on.
    private mutating func look(_ piece: UnsafeRawBufferPointer) -> Bool {
        let text = tail + piece.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }
        for (needle, active) in Self.needles where Self.contains(text, Array(needle.utf8)) {
            found = active
            return false
        }
        tail = Array(text.suffix(20))
        return true
    }

    private static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard haystack.count >= needle.count else { return false }
        return haystack.withUnsafeBytes { h in
            var at = 0
            // Each occurrence of the needle's first byte, then the rest compared.
            while at <= h.count - needle.count, let hit = memchr(h.baseAddress! + at, Int32(needle[0]), h.count - needle.count + 1 - at) {
                at = h.baseAddress!.distance(to: UnsafeRawPointer(hit))
                if memcmp(h.baseAddress! + at, needle, needle.count) == 0 { return true }
                at += 1
            }
            return false
        }
    }
}
