/// A check that reads the whole of a file, chunk by chunk as it streams in, in bounded memory,
/// once its type is known: markup in text, active content in PDFs and office documents.
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

/// Content inside an allowed format that acts when the file is opened: script, programs it can
/// launch, files or objects embedded in it, macros. Each case says what was found in words a
/// person can act on; none repeats a byte of the file.
enum ActiveContent: Equatable {
    case pdfJavaScript, pdfLaunch, pdfEmbeddedFiles, pdfRichMedia
    /// A compressed object stream that cannot be read (an encrypted or damaged PDF, or a filter
    /// the vault does not decode), or more of them than the vault inflates.
    case pdfUncheckable, pdfTooMuchToCheck
    case macros, activeX, oleObjects, documentScripts
    /// The parts list cannot be read with confidence (an encrypted or damaged zip, or a list
    /// that contradicts itself), or it names more parts than the vault reads.
    case packageUncheckable, packageTooManyParts
    case rtfObjects

    var description: String {
        switch self {
        case .pdfJavaScript: "the PDF contains JavaScript"
        case .pdfLaunch: "the PDF has an action that launches a program or opens a file"
        case .pdfEmbeddedFiles: "the PDF has files embedded in it"
        case .pdfRichMedia: "the PDF contains rich media (Flash or 3D content), which can run script"
        case .pdfUncheckable:
            "the PDF has a compressed object stream the vault cannot read to check for JavaScript (it is encrypted, damaged or compressed in a way the vault does not decode)"
        case .pdfTooMuchToCheck:
            "the PDF's compressed object streams inflate to more than the \(PDFActiveContent.inflateLimit >> 20) MiB the vault checks"
        case .macros: "the document contains macros"
        case .activeX: "the document contains ActiveX controls"
        case .oleObjects: "the document embeds OLE objects, which can carry programs"
        case .documentScripts: "the document contains macros or scripts"
        case .packageUncheckable:
            "the document's list of parts cannot be checked for macros (the zip is encrypted, damaged or contradicts itself)"
        case .packageTooManyParts: "the document has more than \(OfficePackageParts.maxEntries) parts, more than the vault checks"
        case .rtfObjects: "the RTF document embeds objects, which can carry programs"
        }
    }

    var reason: Refusal.Reason { .activeContent(description) }
}
