/// What each kind of evidence may be. The table is data: a new category is one line in
/// `allowed`, a new format one line in `EvidenceType`.
public enum EvidenceType: String, CaseIterable, Sendable {
    case png, jpeg, heic, webp, pdf, docx, odt, rtf, text, mp3, m4a, wav, ogg, email, xlsx, ods

    /// The MIME types libmagic reports for this format (the first is canonical), and the
    /// aliases clients commonly declare.
    var mimeTypes: [String] {
        switch self {
        case .png: ["image/png"]
        case .jpeg: ["image/jpeg", "image/jpg", "image/pjpeg"]
        case .heic: ["image/heic", "image/heif", "image/heic-sequence", "image/heif-sequence"]
        case .webp: ["image/webp"]
        case .pdf: ["application/pdf", "application/x-pdf"]
        case .docx: ["application/vnd.openxmlformats-officedocument.wordprocessingml.document"]
        case .odt: ["application/vnd.oasis.opendocument.text"]
        case .rtf: ["text/rtf", "application/rtf"]
        case .text: ["text/plain"]
        case .mp3: ["audio/mpeg", "audio/mp3", "audio/mpeg3"]
        case .m4a: ["audio/x-m4a", "audio/mp4", "audio/m4a", "audio/aac", "audio/x-aac", "audio/x-hx-aac-adts"]
        case .wav: ["audio/x-wav", "audio/wav", "audio/wave", "audio/vnd.wave"]
        case .ogg: ["audio/ogg", "application/ogg", "audio/vorbis", "audio/opus"]
        case .email: ["message/rfc822"]
        case .xlsx: ["application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"]
        case .ods: ["application/vnd.oasis.opendocument.spreadsheet"]
        }
    }

    /// File-name extensions that claim this format.
    var extensions: [String] {
        switch self {
        case .png: ["png"]
        case .jpeg: ["jpg", "jpeg", "jpe", "jfif"]
        case .heic: ["heic", "heif"]
        case .webp: ["webp"]
        case .pdf: ["pdf"]
        case .docx: ["docx"]
        case .odt: ["odt"]
        case .rtf: ["rtf"]
        case .text: ["txt", "text"]
        case .mp3: ["mp3"]
        case .m4a: ["m4a", "aac"]
        case .wav: ["wav"]
        case .ogg: ["ogg", "oga", "opus"]
        case .email: ["eml"]
        case .xlsx: ["xlsx"]
        case .ods: ["ods"]
        }
    }

    public var displayName: String {
        switch self {
        case .text: "plain text"
        case .email: "email (message/rfc822)"
        default: rawValue.uppercased()
        }
    }

    public var canonicalMIME: String { mimeTypes[0] }

    static let byMIME: [String: EvidenceType] = {
        var map: [String: EvidenceType] = [:]
        for type in allCases { for mime in type.mimeTypes { map[mime] = type } }
        return map
    }()

    static let byExtension: [String: EvidenceType] = {
        var map: [String: EvidenceType] = [:]
        for type in allCases { for ext in type.extensions { map[ext] = type } }
        return map
    }()

    /// The format a MIME type names (parameters and case ignored), if it is one we know.
    public init?(mime: String) {
        guard let type = Self.byMIME[TypePolicy.normalise(mime)] else { return nil }
        self = type
    }
}

/// What one kind of evidence may be.
public struct KindRule: Sendable {
    public var types: [EvidenceType]
    /// Whether its PDFs, office documents and RTF may carry active content: JavaScript, launch
    /// actions, embedded files or objects, macros. Files of this vault are opened by staff on
    /// school machines, so no kind allows it; a kind that must (forms whose scripts are the
    /// point) says so here.
    public var allowsActiveContent: Bool

    public init(_ types: [EvidenceType], allowsActiveContent: Bool = false) {
        self.types = types
        self.allowsActiveContent = allowsActiveContent
    }
}

public enum TypePolicy {
    private static let images: [EvidenceType] = [.png, .jpeg, .heic, .webp]
    private static let minutes: [EvidenceType] = [.pdf, .docx, .odt, .rtf, .text]
    private static let audio: [EvidenceType] = [.mp3, .m4a, .wav, .ogg]

    /// The rule for each kind of evidence: the one table.
    public static let rules: [String: KindRule] = [
        "body-map": KindRule(images),
        "minutes": KindRule(minutes),
        "disclosure": KindRule([.png, .jpeg, .heic, .pdf, .text] + audio),
        "document": KindRule(images + minutes + audio + [.email, .xlsx, .ods]),
    ]

    /// Allowed formats per kind of evidence (from `rules`).
    public static let allowed: [String: [EvidenceType]] = rules.mapValues(\.types)

    public static var kinds: [String] { allowed.keys.sorted() }

    static func normalise(_ mime: String) -> String {
        let bare = mime.split(separator: ";", maxSplits: 1).first.map(String.init) ?? mime
        return bare.trimmingCharacters(in: .whitespaces).lowercased()
    }

    /// A declared Content-Type as a refusal may repeat it (to the client and in the audit log,
    /// which never forgets): a type we know, or else only that it is unknown. The header is free
    /// text, and could hold a child's name.
    static func printableDeclared(_ mime: String) -> String {
        let type = normalise(mime)
        let known = EvidenceType(mime: type) != nil || type == "application/octet-stream" || knownFamilyTypes.contains(type)
        return known ? type : "a type this vault does not know"
    }

    /// The refused types a refusal may name exactly (prefix matches such as `text/x-...` are not).
    static let knownFamilyTypes: Set<String> = [
        "text/html", "application/xhtml+xml", "image/svg+xml", "text/xml", "application/xml", "application/javascript",
        "text/javascript", "application/x-shellscript", "application/x-sh",
    ]

    static let htmlFamily = "an HTML page"
    static let markupInText = "HTML or script markup in a text file"

    /// A family name for types that are refused, so a refusal can say what the file really is.
    public static func family(ofMIME mime: String) -> String? {
        let m = normalise(mime)
        let executables: Set<String> = [
            "application/x-executable", "application/x-pie-executable", "application/x-sharedlib",
            "application/x-object", "application/x-coredump", "application/x-dosexec",
            "application/vnd.microsoft.portable-executable", "application/x-mach-binary",
            "application/x-java-applet", "application/java-archive", "application/x-elf",
            "application/x-msdownload", "application/x-ms-installer", "application/vnd.android.package-archive",
            "application/x-bytecode.python", "application/wasm",
        ]
        let archives: Set<String> = [
            "application/zip", "application/gzip", "application/x-gzip", "application/x-tar", "application/x-bzip2",
            "application/x-xz", "application/zstd", "application/x-7z-compressed", "application/x-rar",
            "application/vnd.rar", "application/x-lzip", "application/x-lzma", "application/x-compress",
            "application/x-cpio", "application/x-archive", "application/x-iso9660-image", "application/x-arc",
        ]
        if m == "inode/x-empty" || m == "application/x-empty" { return "empty" }
        if executables.contains(m) { return "an executable program" }
        if archives.contains(m) { return "an archive" }
        if m == "text/html" || m == "application/xhtml+xml" { return htmlFamily }
        if m == "image/svg+xml" { return "an SVG image, which can carry script" }
        if m == "text/xml" || m == "application/xml" { return "an XML document" }
        if m.hasPrefix("text/x-") || m == "application/javascript" || m == "text/javascript"
            || m == "application/x-shellscript" || m == "application/x-sh" { return "a script or program source" }
        return nil
    }

    /// The format a filename's extension claims, if any.
    public static func claimedType(filename: String) -> EvidenceType? {
        guard let dot = filename.lastIndex(of: "."), dot != filename.startIndex else { return nil }
        return EvidenceType.byExtension[filename[filename.index(after: dot)...].lowercased()]
    }

    /// libmagic names MPEG audio and ADTS from a two-byte frame sync; the frames must also chain.
    static func framesChain(sniffedMIME: String, prefix: UnsafeRawBufferPointer) -> Bool {
        switch sniffedMIME {
        case "audio/mpeg": AudioFrames.isMPEGAudio(prefix)
        case "audio/x-hx-aac-adts", "audio/aac", "audio/x-aac": AudioFrames.isADTS(prefix)
        default: true
        }
    }

    /// A file found acceptable from its first bytes.
    public struct Accepted {
        public let type: EvidenceType
        /// The MIME type to record: libmagic's, or `text/plain` where libmagic's answer was a
        /// guess about text (`TextContent`).
        public let mime: String
        /// What the rest of the file must still pass, already fed the sniffed bytes; nil when
        /// nothing is checked past them.
        var inspection: ContentInspection?
    }

    /// Decides whether content sniffed as `sniffedMIME` (libmagic's answer for `prefix`, the
    /// file's first bytes) may be stored as `kind`, given what the client declared and what the
    /// filename claims. Throws the refusal a person can act on. Text is scanned for markup and
    /// PDFs, office documents and RTF for active content, in `prefix` and then, through the
    /// returned inspection, in the rest of the file; when `prefixIsWholeFile`, to the end here.
    public static func check(
        kind: String, sniffedMIME: String, declaredMIME: String?, filename: String?, prefix: UnsafeRawBufferPointer,
        prefixIsWholeFile: Bool = true, rules: [String: KindRule] = TypePolicy.rules
    ) throws -> Accepted {
        guard let rule = rules[kind] else { throw VaultError.unknownKind(kind, known: rules.keys.sorted()) }
        let allowedTypes = rule.types
        let allowedNames = allowedTypes.map(\.displayName)
        let libmagic = normalise(sniffedMIME)
        var sniffed = libmagic
        // libmagic's guesses about text give way to the text rules (`TextContent`).
        if !TextContent.trusts(libmagic), TextContent.isText(prefix, wholeFile: prefixIsWholeFile) { sniffed = "text/plain" }
        func refuse(_ reason: Refusal.Reason, found: String? = nil) -> VaultError {
            .refused(Refusal(
                reason: reason, kind: kind, declared: declaredMIME.map(printableDeclared), found: found ?? sniffed, allowed: allowedNames))
        }
        func inspect(_ check: any ContentCheck, found: String) throws -> ContentInspection {
            var inspection = ContentInspection(check: check, found: found)
            if let reason = inspection.scan(prefix) ?? (prefixIsWholeFile ? inspection.finish() : nil) {
                throw refuse(reason, found: found)
            }
            return inspection
        }
        if let family = family(ofMIME: sniffed) {
            throw refuse(family == "empty" ? .empty : .dangerous(family))
        }
        guard let type = EvidenceType(mime: sniffed) else { throw refuse(.notAllowed) }
        var inspection: ContentInspection?
        if type == .text {
            // Markup first: it is the more important reason to give.
            let family = libmagic == sniffed ? markupInText : (family(ofMIME: libmagic) ?? markupInText)
            inspection = try inspect(MarkupCheck(family: family), found: libmagic)
        }
        if !framesChain(sniffedMIME: sniffed, prefix: prefix) { throw refuse(.malformed(type.displayName)) }
        if let declared = declaredMIME.map(normalise), !declared.isEmpty, declared != "application/octet-stream" {
            guard EvidenceType(mime: declared) == type else { throw refuse(.declaredMismatch) }
        }
        if let filename, let claimed = claimedType(filename: filename), claimed != type {
            throw refuse(.extensionMismatch(claimed.displayName))
        }
        guard allowedTypes.contains(type) else { throw refuse(.notAllowed) }
        if !rule.allowsActiveContent, let check = activeContentCheck(type) {
            inspection = try inspect(check, found: sniffed)
        }
        return Accepted(type: type, mime: sniffed, inspection: inspection)
    }

    /// The check for active content a format can carry.
    static func activeContentCheck(_ type: EvidenceType) -> (any ContentCheck)? {
        switch type {
        case .pdf: PDFActiveContent()
        case .docx, .xlsx, .odt, .ods: OfficePackageParts()
        case .rtf: RTFObjects()
        default: nil
        }
    }
}

/// Why a file was refused: which kind, what was declared, what was found, what is allowed.
/// Holds no filename and no content.
public struct Refusal: Sendable, Equatable, CustomStringConvertible {
    public enum Reason: Sendable, Equatable {
        case empty
        case tooLarge(limit: Int64)
        case dangerous(String)
        case notAllowed
        case declaredMismatch
        case extensionMismatch(String)
        /// libmagic matched the format's signature, but the content does not have its structure.
        case malformed(String)
        /// An allowed format carrying content that acts when the file is opened (JavaScript,
        /// macros, embedded files), which the kind does not allow; says what was found.
        case activeContent(String)
    }
    public var reason: Reason
    public var kind: String
    public var declared: String?
    public var found: String
    public var allowed: [String]

    public var code: String {
        switch reason {
        case .empty: "empty"
        case .tooLarge: "too-large"
        case .dangerous: "dangerous-type"
        case .notAllowed: "type-not-allowed"
        case .declaredMismatch: "declared-type-mismatch"
        case .extensionMismatch: "extension-mismatch"
        case .malformed: "malformed-content"
        case .activeContent: "active-content"
        }
    }

    public var description: String {
        let allows = "kind \(kind) allows \(allowed.joined(separator: ", "))"
        switch reason {
        case .empty: return "the file is empty"
        case .tooLarge(let limit): return "the file is larger than the limit of \(limit) bytes"
        case .dangerous(let family):
            let declaredPart = declared.map { "declared \($0), but " } ?? ""
            return "\(declaredPart)the content is \(family) (\(found)); \(allows)"
        case .notAllowed: return "the content is \(found), which \(allows.replacingOccurrences(of: "allows", with: "does not allow: it allows"))"
        case .declaredMismatch: return "declared \(declared ?? "?") but the content is \(found); \(allows)"
        case .extensionMismatch(let claimed): return "the file name says \(claimed) but the content is \(found); \(allows)"
        case .malformed(let format):
            return "the content begins like \(format) (\(found)) but its frames do not follow one another, so it is not \(format); \(allows)"
        case .activeContent(let what):
            return "\(what) (\(found)); kind \(kind) does not allow active content such as scripts, macros or embedded files"
        }
    }
}
