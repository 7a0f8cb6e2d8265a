import Foundation
import Storage
import XCTest
@testable import Vault

/// PDFs with JavaScript, launch actions or embedded files, office documents with macros,
/// ActiveX or OLE objects, and RTF with embedded objects are refused as `active-content`;
/// ordinary documents are not.
final class ActiveContentTests: XCTestCase {
    static func fixture(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: Bundle.module.url(forResource: "ActiveContentSamples/" + name, withExtension: nil)!))
    }

    /// The reason `TypePolicy.check` and the inspection it returns give for `bytes` as `kind`,
    /// fed in the pieces `cuts` (the first is the sniffed prefix; by default 64 KiB, then the
    /// rest); nil when accepted.
    func activeContent(_ bytes: [UInt8], kind: String = "document", mime: String? = nil, cuts: [Range<Int>]? = nil) throws -> String? {
        let sniffed = try mime ?? bytes.withUnsafeBytes { try MagicSniffer().mimeType(of: $0) }
        let prefixEnd = min(bytes.count, MagicSniffer.sniffBytes)
        let pieces = cuts ?? [0..<prefixEnd, prefixEnd..<bytes.count]
        do {
            var accepted = try bytes[pieces[0]].withUnsafeBytes {
                try TypePolicy.check(kind: kind, sniffedMIME: sniffed, declaredMIME: nil, filename: nil, prefix: $0,
                                     prefixIsWholeFile: pieces[0].count == bytes.count)
            }
            guard pieces[0].count < bytes.count, accepted.inspection != nil else { return nil }
            for piece in pieces.dropFirst() where !piece.isEmpty {
                if let reason = bytes[piece].withUnsafeBytes({ accepted.inspection!.scan($0) }) { return Self.what(reason) }
            }
            return accepted.inspection!.finish().map(Self.what)
        } catch {
            guard let r = refusal(error) else { throw error }
            return Self.what(r.reason)
        }
    }

    static func what(_ reason: Refusal.Reason) -> String {
        if case .activeContent(let what) = reason { return what }
        return "\(reason)"
    }

    // MARK: Real files

    func testRealFilesWithActiveContentAreRefusedAndNothingOfThemIsKept() throws {
        let f = try VaultFixture()
        let cases = [
            ("minutes-openaction-in-object-stream.pdf", "the PDF contains JavaScript"),
            ("minutes-with-macros.docx", "the document contains macros"),
            ("minutes-macro-part-renamed.docx", "the document contains macros"),
            ("minutes-with-basic-macro.odt", "the document contains macros or scripts"),
        ]
        for (name, what) in cases {
            XCTAssertThrowsError(try f.put(try Self.fixture(name), kind: "minutes", filename: name), name) { error in
                guard let r = refusal(error) else { return XCTFail("\(name): \(error)") }
                XCTAssertEqual(r.code, "active-content", name)
                XCTAssertEqual(r.reason, .activeContent(what), name)
                XCTAssertFalse("\(error)".contains(name), "a refusal never repeats the filename")
                XCTAssertFalse("\(error)".contains("alert"), "nor the content")
            }
        }
        XCTAssertEqual(try f.vault.records.list(RecordFilter(), by: .operator("t")), [])
        XCTAssertEqual(try FileBlobStore(root: f.layout.blobs).storedRecordIDs(), [])
        let refusals = try f.events.filter { $0.action == "put" && $0.outcome == "refused" }
        XCTAssertEqual(refusals.count, cases.count)
        for event in refusals {
            XCTAssertTrue(event.reason?.contains("active content") == true, event.reason ?? "")
            for (name, _) in cases { XCTAssertFalse(event.reason!.contains(name)) }
        }
    }

    func testRealMinutesAreStillAccepted() throws {
        let f = try VaultFixture()
        for bytes in [try VaultFixture.sampleBytes("strategy-meeting-minutes.pdf"), try VaultFixture.sampleBytes("tac-meeting-minutes.docx"),
                      try Self.fixture("minutes-redeflated.docx")] {
            let record = try f.put(bytes, kind: "minutes")
            XCTAssertEqual(try f.get(record.id), bytes)
        }
    }

    // MARK: PDF

    /// Script, launch, embedded-file and rich-media names, written plainly, hex-escaped, in any
    /// case, in a dictionary, inside a compressed object stream, at the start or after 64 KiB,
    /// and read in chunks split anywhere.
    func testGeneratedPDFsWithActiveContentAreRefused() throws {
        var g = Generator(seed: 0x706466)
        let findings: [(String, String)] = [
            ("/OpenAction << /S /JavaScript /JS (app.alert(1)) >>", "the PDF contains JavaScript"),
            ("/OpenAction << /JS (app.alert(1)) >>", "the PDF contains JavaScript"),
            ("/OpenAction << /S /J#61vaScript /J#53 (x) >>", "the PDF contains JavaScript"),
            ("/OpenAction << /S /#4A#61#76#61#53#63#72#69#70#74 >>", "the PDF contains JavaScript"),
            ("/Names << /JavaScript << /Names [(a) 9 0 R] >> >>", "the PDF contains JavaScript"),
            ("/OpenAction << /S /Launch /F (cmd.exe) >>", "the PDF has an action that launches a program or opens a file"),
            ("/OpenAction << /S /L#61unch /Win << /F (calc) >> >>", "the PDF has an action that launches a program or opens a file"),
            ("/Names << /EmbeddedFiles << /Names [(a.exe) 9 0 R] >> >>", "the PDF has files embedded in it"),
            ("/AF [<< /Type /Filespec /EF << /F << /Type /EmbeddedFile >> >> >>]", "the PDF has files embedded in it"),
            ("/Extra << /Subtype /RichMedia >>", "the PDF contains rich media (Flash or 3D content), which can run script"),
        ]
        for (entry, what) in findings {
            let entries = [entry, entry.replacingOccurrences(of: "JavaScript", with: "jAVAsCRIPT")]
            for variant in entries {
                // In the catalog, in plain sight.
                let plain = PDFWriter.document(catalogExtra: variant)
                XCTAssertEqual(try activeContent(plain), what, variant)
                // Only inside a compressed object stream, after a 70 KiB page.
                let hidden = PDFWriter.document(content: g.prose(bytes: 70_000)) { pdf in
                    let stream = PDFWriter.objectStream(["<< /Type /Annot \(variant) >>"], first: 100)
                    pdf.stream(stream.dictionary, stream.data)
                }
                XCTAssertNil(Data(hidden).range(of: Data(variant.utf8)), "the entry is not in the raw bytes")
                XCTAssertEqual(try activeContent(hidden), what, "in an object stream: \(variant)")
                XCTAssertEqual(try activeContent(hidden, cuts: g.chunks(hidden.count)), what, "in chunks: \(variant)")
            }
        }
        // A bare /JS inside an object stream (its /S /JavaScript elsewhere, or missing).
        let bare = PDFWriter.document { pdf in
            let stream = PDFWriter.objectStream(["<< /JS (app.alert(1)) >>", "<< /Type /Whatever >>"], first: 100)
            pdf.stream(stream.dictionary, stream.data)
        }
        XCTAssertEqual(try activeContent(bare), "the PDF contains JavaScript")
        // The object stream's keyword, and the names before it, cut in two or three anywhere.
        let keyword = Data(bare).range(of: Data(">>\nstream\n".utf8))!.lowerBound
        let objStm = Data(bare).range(of: Data("/Type /ObjStm".utf8))!.lowerBound
        for cut in Array((objStm - 2)...(objStm + 14)) + Array((keyword - 2)...(keyword + 12)) {
            XCTAssertEqual(try activeContent(bare, mime: "application/pdf", cuts: [0..<cut, cut..<bare.count]), "the PDF contains JavaScript", "cut at \(cut)")
            XCTAssertEqual(try activeContent(bare, mime: "application/pdf", cuts: [0..<cut, cut..<(cut + 1), (cut + 1)..<(cut + 3), (cut + 3)..<bare.count]),
                           "the PDF contains JavaScript", "cut at \(cut), \(cut + 1), \(cut + 3)")
        }
        // Split at every byte around the name.
        let pdf = PDFWriter.document(catalogExtra: "/OpenAction << /S /J#61vaScript >>")
        let at = pdf.withUnsafeBytes { Data($0) }.range(of: Data("/J#61".utf8))!.lowerBound
        for cut in (at - 2)...(at + 14) {
            XCTAssertEqual(try activeContent(pdf, mime: "application/pdf", cuts: [0..<cut, cut..<pdf.count]), "the PDF contains JavaScript")
        }
    }

    /// Object streams that cannot be read are refused, not passed; one that inflates past the
    /// limit is refused without being inflated further.
    func testPDFsWhoseObjectStreamsCannotBeCheckedAreRefused() throws {
        let objects = "1 0 << /Type /Annot >>"
        let cases: [(String, [UInt8], String)] = [
            ("/Type /ObjStm /N 1 /First 4 /Filter /LZWDecode", Array(objects.utf8), "cannot read"),
            ("/Type /ObjStm /N 1 /First 4 /Filter [/ASCIIHexDecode /FlateDecode]", Array(objects.utf8), "cannot read"),
            ("/Type /ObjStm /N 1 /First 4 /Filter [/FlateDecode /FlateDecode]", Deflate.zlib(Deflate.zlib(Array(objects.utf8))), "cannot read"),
            ("/Type /ObjStm /N 1 /First 4 /Filter /FlateDecode /DecodeParms << /Predictor 12 /Columns 5 >>",
             Deflate.zlib(Array(objects.utf8)), "cannot read"),
            // As an encrypted PDF's object streams look: bytes that do not inflate.
            ("/Type /ObjStm /N 1 /First 4 /Filter /FlateDecode", (0..<200).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }, "cannot read"),
            ("/First 4 /N 1 /Filter /Fl", [0x78, 0x9C, 0xFF, 0xFF, 0xFF, 0xFF], "cannot read"),
            // A bomb: a few hundred KiB that inflate to 40 MiB of one name.
            ("/Type /ObjStm /N 1 /First 4 /Filter /FlateDecode",
             Deflate.zlib(Array("1 0 << /Note (".utf8), repeatingLast: 40 << 20), "MiB the vault checks"),
        ]
        for (dictionary, data, what) in cases {
            let pdf = PDFWriter.document { $0.stream(dictionary, data) }
            let reason = try activeContent(pdf)
            XCTAssertTrue(reason?.contains(what) == true, "\(dictionary): \(reason ?? "accepted")")
        }
        // Object streams that use up the whole budget, then one with a script: still read.
        let start = Array("1 0 (".utf8)
        let spent = PDFWriter.document { pdf in
            pdf.stream("/Type /ObjStm /N 1 /First 4 /Filter /FlateDecode",
                       Deflate.zlib(start, repeatingLast: PDFActiveContent.inflateLimit - start.count))
            let stream = PDFWriter.objectStream(["<< /Note (\(String(repeating: "x", count: 400))) >>", "<< /S /JavaScript /JS (app.alert(1)) >>"], first: 2)
            pdf.stream(stream.dictionary, stream.data)
        }
        let reason = try activeContent(spent)
        XCTAssertTrue(reason == "the PDF contains JavaScript" || reason?.contains("MiB the vault checks") == true, reason ?? "accepted")
    }

    /// PDFs as writers make them pass: compressed pages and images (whose bytes hold `/JS` by
    /// chance), GoTo open actions, links, bookmarks, object streams of ordinary objects.
    func testOrdinaryPDFsAreAccepted() throws {
        var g = Generator(seed: 0x6f6b)
        var accidental = (0..<300_000).map { _ in UInt8(truncatingIfNeeded: g.rng.next()) }
        accidental.replaceSubrange(1000..<1004, with: Array("/JS ".utf8))
        accidental.replaceSubrange(90_000..<90_004, with: Array("/JS(".utf8))
        let pdfs = [
            PDFWriter.document(),
            PDFWriter.document(content: g.prose(bytes: 200_000)),
            PDFWriter.document(catalogExtra: "/OpenAction [3 0 R /Fit] /PageMode /UseOutlines /Outlines 6 0 R") { pdf in
                pdf.add("<< /Type /Outlines /First 7 0 R /Last 7 0 R /Count 1 >>")
                pdf.add("<< /Title (Minutes) /Parent 6 0 R /Dest [3 0 R /Fit] /A << /S /URI /URI (https://school.example) >> >>")
                // An image after a /First: inflated only far enough to see it holds no objects.
                pdf.stream("/Type /XObject /Subtype /Image /Width 100 /Height 100 /BitsPerComponent 8 /ColorSpace /DeviceGray /Filter /FlateDecode",
                           Deflate.zlib(accidental))
                pdf.stream("/Type /XObject /Subtype /Image /Width 10 /Height 10 /Filter /DCTDecode", [0xFF, 0xD8] + accidental)
                let stream = PDFWriter.objectStream(["<< /Type /Annot /Subtype /Link /A << /S /URI /URI (https://x.example) >> >>",
                                                     "<< /Producer (Writer) >>", "42", "[1 2 3]"], first: 20)
                pdf.stream(stream.dictionary, stream.data)
            },
        ]
        // Random bytes after a PDF header, as the core benchmark puts: `/JS` after binary bytes
        // is chance, not a key.
        var binary = Array("%PDF-1.4\n".utf8) + (0..<2_000_000).map { _ in UInt8(truncatingIfNeeded: g.rng.next()) }
        for at in stride(from: 1_000, to: 2_000_000, by: 150_000) { binary.replaceSubrange(at..<(at + 4), with: Array("/JS(".utf8)) }
        let f = try VaultFixture()
        for pdf in pdfs + [binary] {
            XCTAssertNil(try activeContent(pdf), "accepted")
            XCTAssertNil(try activeContent(pdf, cuts: g.chunks(pdf.count)))
            XCTAssertEqual(try f.get(try f.put(pdf, kind: "minutes").id), pdf)
        }
    }

    // MARK: Office documents

    func testOfficeDocumentsWithMacrosActiveXOrOLEObjectsAreRefused() throws {
        typealias Entry = PackageWriter.Entry
        let docx = PackageWriter.docx
        let cases: [([Entry], String)] = [
            (docx(PackageWriter.contentTypes, true, [Entry("word/vbaProject.bin", "\u{D0}\u{CF}")]), "the document contains macros"),
            (docx(PackageWriter.contentTypes, true, [Entry("WORD\\VBAPROJECT.BIN", "x")]), "the document contains macros"),
            (docx(PackageWriter.contentTypes, true, [Entry("word/vbaData.xml", "<wne:vbaSuppData/>", deflate: true)]), "the document contains macros"),
            (docx(PackageWriter.contentTypes, true, [Entry("word/activeX/activeX1.xml", "<ax/>")]), "the document contains ActiveX controls"),
            (docx(PackageWriter.contentTypes, true, [Entry("word/embeddings/oleObject1.bin", "x")]),
             "the document embeds OLE objects, which can carry programs"),
            (docx(PackageWriter.contentTypes, true, [Entry("word/embeddings/Microsoft_Excel_Macro-Enabled_Worksheet1.xlsm", "x")]),
             "the document contains macros"),
            (docx(PackageWriter.contentTypes.replacingOccurrences(of: "wordprocessingml.document.main", with: "MACROENABLED.main"), true, []),
             "the document contains macros"),
            (docx(PackageWriter.contentTypes.replacingOccurrences(
                of: "</Types>", with: "<Default Extension=\"dat\" ContentType=\"application/vnd.ms-office.vbaProject\"/></Types>"), false, []),
             "the document contains macros"),
            (docx(PackageWriter.contentTypes.replacingOccurrences(
                of: "</Types>", with: "<Override PartName=\"/word/x.xml\" ContentType=\"application/vnd.ms-office.activeX+xml\"/></Types>"), true, []),
             "the document contains ActiveX controls"),
            ([Entry("mimetype", "application/vnd.oasis.opendocument.text"), Entry("content.xml", "<office:document-content/>"),
              Entry("Basic/Standard/Module1.xml", "<script:module/>", deflate: true)], "the document contains macros or scripts"),
            ([Entry("mimetype", "application/vnd.oasis.opendocument.spreadsheet"), Entry("content.xml", "<office:document-content/>"),
              Entry("Scripts/python/run.py", "import os", deflate: true)], "the document contains macros or scripts"),
        ]
        var g = Generator(seed: 0x6f6c65)
        for (entries, what) in cases {
            let bytes = PackageWriter.zip(entries)
            XCTAssertEqual(try activeContent(bytes), what, "\(entries.map { String(decoding: $0.name, as: UTF8.self) })")
            // After 64 KiB of pictures (after the parts libmagic names a package by), in chunks split anywhere.
            let keep = entries[0].name == Array("mimetype".utf8) ? 1 : 3
            let padded = PackageWriter.zip(Array(entries.prefix(keep)) + [Entry("word/media/image1.png", g.base64(bytes: 80_000))]
                + entries.dropFirst(keep))
            XCTAssertEqual(try activeContent(padded, cuts: g.chunks(padded.count)), what)
        }
    }

    /// A package whose lists disagree, whose content types are encrypted, or that is too big to
    /// check, is refused; an ordinary one is not.
    func testOfficePackagesThatCannotBeCheckedAreRefused() throws {
        typealias Entry = PackageWriter.Entry
        // The central directory points at another entry as [Content_Types].xml.
        let entries = PackageWriter.docx(PackageWriter.contentTypes, true, [
            Entry("word/other.xml", "<Types><Override ContentType=\"application/vnd.ms-office.vbaProject\"/></Types>", deflate: true),
        ])
        let plain = PackageWriter.zip(entries)
        XCTAssertNil(try activeContent(plain))
        let lying = PackageWriter.zip(entries, centralOffsets: [0: plain.withUnsafeBytes { Data($0) }.range(of: Data("word/other".utf8))!.lowerBound - 30])
        XCTAssertTrue(try activeContent(lying)?.contains("cannot be checked") == true)
        // Encrypted content types.
        var encrypted = PackageWriter.docx()
        encrypted[0].flags = 1
        XCTAssertTrue(try activeContent(PackageWriter.zip(encrypted))?.contains("cannot be checked") == true)
        // Too many parts.
        let many = PackageWriter.docx(PackageWriter.contentTypes, true, (0...OfficePackageParts.maxEntries).map { Entry("word/p\($0).xml", "") })
        XCTAssertTrue(try activeContent(PackageWriter.zip(many))?.contains("more than \(OfficePackageParts.maxEntries) parts") == true)
        // Ordinary documents, with stored or deflated parts, pictures and embedded charts.
        for extra in [[], [Entry("word/media/image1.png", "x"), Entry("word/embeddings/Microsoft_Excel_Worksheet1.xlsx", "x"),
                           Entry("word/charts/chart1.xml", "<c:chartSpace/>", deflate: true)]] {
            XCTAssertNil(try activeContent(PackageWriter.zip(PackageWriter.docx(PackageWriter.contentTypes, false, extra))))
            XCTAssertNil(try activeContent(PackageWriter.zip(PackageWriter.docx(PackageWriter.contentTypes, true, extra))))
        }
    }

    // MARK: RTF

    func testRTFWithEmbeddedObjectsIsRefused() throws {
        let refused = [
            "{\\rtf1\\ansi {\\object\\objemb{\\*\\objclass Package}{\\*\\objdata 0105000002000000}}}\n",
            "{\\rtf1\\ansi {\\OBJECT\\objautlink\\objupdate{\\*\\objdata 01050000}}}\n",
        ]
        for text in refused {
            XCTAssertEqual(try activeContent(Array(text.utf8), kind: "minutes"), "the RTF document embeds objects, which can carry programs")
        }
        for text in ["{\\rtf1\\ansi The objective was met; see \\\\objects in the minutes.\\par }\n", "{\\rtf1\\ansi \\ob objection\\par }\n"] {
            XCTAssertNil(try activeContent(Array(text.utf8), kind: "minutes"), text)
        }
    }

    // MARK: The flag

    /// No kind allows active content; a kind whose rule says so takes it.
    func testOnlyAKindWhoseRuleAllowsActiveContentTakesIt() throws {
        XCTAssertFalse(TypePolicy.rules.values.contains { $0.allowsActiveContent })
        let rules = ["trusted-forms": KindRule([.pdf, .docx, .odt], allowsActiveContent: true), "minutes": KindRule([.pdf, .docx, .odt])]
        for name in ["minutes-openaction-in-object-stream.pdf", "minutes-with-macros.docx", "minutes-with-basic-macro.odt"] {
            let bytes = try Self.fixture(name)
            let mime = try bytes.withUnsafeBytes { try MagicSniffer().mimeType(of: $0) }
            func check(_ kind: String) throws -> TypePolicy.Accepted {
                try bytes.withUnsafeBytes {
                    try TypePolicy.check(kind: kind, sniffedMIME: mime, declaredMIME: nil, filename: nil, prefix: $0, rules: rules)
                }
            }
            XCTAssertNil(try check("trusted-forms").inspection, name)
            XCTAssertThrowsError(try check("minutes"), name) { XCTAssertEqual(refusal($0)?.code, "active-content") }
        }
    }
}
