import Foundation
import TestSupport
import Storage
import XCTest
@testable import Vault

/// Small but real files of every format, made here so the whole kind × type table is tested.
enum Fixtures {
    static func box(_ type: String, _ payload: [UInt8]) -> [UInt8] {
        let n = UInt32(8 + payload.count)
        return [UInt8(n >> 24), UInt8(n >> 16 & 0xff), UInt8(n >> 8 & 0xff), UInt8(n & 0xff)] + Array(type.utf8) + payload
    }

    static func le32(_ v: Int) -> [UInt8] { [UInt8(v & 0xff), UInt8(v >> 8 & 0xff), UInt8(v >> 16 & 0xff), UInt8(v >> 24 & 0xff)] }

    /// A stored (uncompressed) zip with the given entries, first entry first.
    static func zip(_ entries: [(String, String)]) -> [UInt8] {
        var out: [UInt8] = []
        var central: [UInt8] = []
        for (name, text) in entries {
            let data = Array(text.utf8), nameBytes = Array(name.utf8)
            let crc = crc32(data)
            let offset = out.count
            out += [0x50, 0x4b, 0x03, 0x04, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0] + le32(Int(crc)) + le32(data.count) + le32(data.count)
                + [UInt8(nameBytes.count), 0, 0, 0] + nameBytes + data
            central += [0x50, 0x4b, 0x01, 0x02, 20, 0, 20, 0, 0, 0, 0, 0, 0, 0, 0, 0] + le32(Int(crc)) + le32(data.count) + le32(data.count)
                + [UInt8(nameBytes.count), 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0] + le32(offset) + nameBytes
        }
        let cdOffset = out.count
        out += central
        out += [0x50, 0x4b, 0x05, 0x06, 0, 0, 0, 0, UInt8(entries.count), 0, UInt8(entries.count), 0] + le32(central.count) + le32(cdOffset) + [0, 0]
        return out
    }

    static func wav() -> [UInt8] {
        let samples = [UInt8](repeating: 0x10, count: 16000)
        return Array("RIFF".utf8) + le32(36 + samples.count) + Array("WAVEfmt ".utf8) + le32(16) + [1, 0, 1, 0] + le32(8000) + le32(16000)
            + [2, 0, 16, 0] + Array("data".utf8) + le32(samples.count) + samples
    }

    static func ogg() -> [UInt8] {
        let vorbis: [UInt8] = [1] + Array("vorbis".utf8) + [UInt8](repeating: 0, count: 23)
        return Array("OggS".utf8) + [0, 2] + [UInt8](repeating: 0, count: 8) + [1, 0, 0, 0] + [0, 0, 0, 0] + [0, 0, 0, 0] + [1, UInt8(vorbis.count)] + vorbis
    }

    static func mp3() -> [UInt8] {
        let frame: [UInt8] = [0xff, 0xfb, 0x90, 0x64] + [UInt8](repeating: 0, count: 413)
        return Array("ID3".utf8) + [3, 0, 0, 0, 0, 0, 0] + Array((0..<20).map { _ in frame }.joined())
    }

    static let allowedFormats: [EvidenceType: [UInt8]] = [
        .png: try! VaultFixture.sampleBytes("body-map-front.png"),
        .jpeg: try! VaultFixture.sampleBytes("injury-photo-with-gps.jpg"),
        .heic: box("ftyp", Array("heic".utf8) + [0, 0, 0, 0] + Array("mif1heic".utf8)) + box("meta", [UInt8](repeating: 0, count: 64)),
        .webp: Array("RIFF".utf8) + le32(22) + Array("WEBPVP8 ".utf8) + le32(10) + [0x9d, 0x01, 0x2a] + [UInt8](repeating: 0, count: 7),
        .pdf: try! VaultFixture.sampleBytes("strategy-meeting-minutes.pdf"),
        .docx: try! VaultFixture.sampleBytes("tac-meeting-minutes.docx"),
        .odt: zip([("mimetype", "application/vnd.oasis.opendocument.text"), ("content.xml", "<?xml version=\"1.0\"?><office:document-content/>")]),
        .rtf: Array("{\\rtf1\\ansi\\deff0 {\\fonttbl {\\f0 Times;}} \\f0 The minutes.\\par }\n".utf8),
        .text: try! VaultFixture.sampleBytes("disclosure-note.txt"),
        .mp3: mp3(),
        .m4a: box("ftyp", Array("M4A ".utf8) + [0, 0, 0, 0] + Array("M4A mp42isom".utf8)) + box("mdat", [UInt8](repeating: 0, count: 200)),
        .wav: wav(),
        .ogg: ogg(),
        .email: Array("Return-Path: <a@example.org>\nReceived: from x by y; Mon, 1 Jan 2024 00:00:00 +0000\nFrom: Social Care <a@example.org>\nTo: dsl@school.example\nSubject: Referral\nDate: Mon, 1 Jan 2024 00:00:00 +0000\nMIME-Version: 1.0\nContent-Type: text/plain\n\nBody.\n".utf8),
        .xlsx: zip([("[Content_Types].xml", "<?xml version=\"1.0\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/content-types\"><Override PartName=\"/xl/workbook.xml\" ContentType=\"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml\"/></Types>"), ("_rels/.rels", "<Relationships/>"), ("xl/workbook.xml", "<workbook/>")]),
        .ods: zip([("mimetype", "application/vnd.oasis.opendocument.spreadsheet"), ("content.xml", "<?xml version=\"1.0\"?><office:document-content/>")]),
    ]

    static let refusedFormats: [(String, [UInt8])] = [
        ("ELF executable", try! VaultFixture.sampleBytes("program-disguised.pdf")),
        ("Windows PE", try! VaultFixture.sampleBytes("program-disguised.docx")),
        ("DOS MZ", Array("MZ".utf8) + [0x90, 0, 3, 0, 0, 0, 4, 0, 0, 0, 0xff, 0xff] + [UInt8](repeating: 0, count: 200)),
        ("Mach-O", [0xcf, 0xfa, 0xed, 0xfe, 7, 0, 0, 1, 3, 0, 0, 0] + [UInt8](repeating: 0, count: 100)),
        ("Java class", [0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 0x34] + [UInt8](repeating: 0, count: 100)),
        ("shell script", Array("#!/bin/sh\nrm -rf /\n".utf8)),
        ("python script", Array("#!/usr/bin/env python3\nimport os\nos.system('id')\n".utf8)),
        ("perl script", Array("#!/usr/bin/perl\nprint \"hi\";\n".utf8)),
        ("php", Array("<?php system($_GET['c']); ?>\n".utf8)),
        ("batch file", Array("@echo off\r\nformat c:\r\n".utf8)),
        ("HTML", try! VaultFixture.sampleBytes("page-with-script.html")),
        ("HTML fragment", Array("<script>alert(1)</script>\n".utf8)),
        ("iframe in text", Array("Dear DSL,\n<iframe src=\"https://evil.example\"></iframe>\n".utf8)),
        ("SVG", try! VaultFixture.sampleBytes("image-with-script.svg")),
        ("XHTML", Array("<?xml version=\"1.0\"?>\n<html xmlns=\"http://www.w3.org/1999/xhtml\"><body><script>alert(1)</script></body></html>\n".utf8)),
        ("zip", zip([("a.txt", "hello")])),
        ("gzip", [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3] + [UInt8](repeating: 0, count: 20)),
        ("7z", [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c, 0, 4] + [UInt8](repeating: 0, count: 30)),
        ("random bytes", (0..<4096).map { _ in UInt8.random(in: 0...255) }),
        ("random bytes after an MP3 frame header", mp3Frame + (0..<4096).map { _ in UInt8.random(in: 0...255) }),
        ("random bytes after an AAC frame header", adtsFrame(length: 200).prefix(7) + (0..<4096).map { _ in UInt8.random(in: 0...255) }),
    ]

    /// One MPEG-1 layer III frame header: 128 kbit/s, 44.1 kHz, so 417 bytes to the next one.
    static let mp3Frame: [UInt8] = [0xff, 0xfb, 0x90, 0x64]

    /// MP3 as some recorders write it: frames only, no ID3 tag.
    static func bareMP3(frames: Int) -> [UInt8] {
        Array((0..<frames).map { _ in mp3Frame + [UInt8](repeating: 0, count: 413) }.joined())
    }

    /// An AAC-LC frame in ADTS (44.1 kHz, stereo) of `length` bytes, header included.
    static func adtsFrame(length: Int) -> [UInt8] {
        [0xff, 0xf1, 0x50, 0x80 | UInt8(length >> 11 & 3), UInt8(length >> 3 & 0xff), UInt8((length & 7) << 5) | 0x1f, 0xfc]
            + [UInt8](repeating: 0, count: length - 7)
    }
}

final class TypePolicyTests: XCTestCase {
    func testEveryKindAcceptsExactlyTheFormatsItsTableAllows() throws {
        let f = try VaultFixture()
        for kind in TypePolicy.kinds {
            let allowed = Set(TypePolicy.allowed[kind]!)
            for (type, bytes) in Fixtures.allowedFormats {
                do {
                    let record = try f.put(bytes, kind: kind)
                    XCTAssertTrue(allowed.contains(type), "\(type) slipped into \(kind)")
                    XCTAssertEqual(EvidenceType(mime: record.sniffedType), type, "\(type) sniffed as \(record.sniffedType)")
                    XCTAssertEqual(try f.get(record.id), bytes)
                } catch {
                    XCTAssertFalse(allowed.contains(type), "\(type) refused for \(kind): \(error)")
                    XCTAssertEqual(refusal(error)?.reason, .notAllowed, "\(type) in \(kind)")
                }
            }
        }
    }

    func testExecutablesScriptsMarkupAndArchivesAreRefusedForEveryKind() throws {
        let f = try VaultFixture()
        for kind in TypePolicy.kinds {
            for (name, bytes) in Fixtures.refusedFormats {
                XCTAssertThrowsError(try f.put(bytes, kind: kind), "\(name) as \(kind)") {
                    XCTAssertNotNil(refusal($0), "\(name): \($0)")
                }
            }
        }
        XCTAssertEqual(try f.vault.records.list(.init(), by: .operator("t")).count, 0)
    }

    /// libmagic calls any file that starts with an MPEG or ADTS frame sync audio: about one
    /// random file in a thousand. The frames must chain for it to be stored as audio.
    func testRandomBytesThatLibmagicCallsAudioAreRefusedAsMalformed() throws {
        let sniffer = try MagicSniffer()
        var rng = SplitMix64(seed: 0x5eed)
        var calledAudio = 0
        for _ in 0..<3000 {
            let bytes = (0..<4096).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            let mime = try bytes.withUnsafeBytes { try sniffer.mimeType(of: $0) }
            guard mime.hasPrefix("audio/") else { continue }
            calledAudio += 1
            for kind in TypePolicy.kinds {
                XCTAssertThrowsError(try bytes.withUnsafeBytes {
                    try TypePolicy.check(kind: kind, sniffedMIME: mime, declaredMIME: nil, filename: nil, prefix: $0)
                }, "random bytes sniffed as \(mime) passed as \(kind)")
            }
        }
        XCTAssertGreaterThan(calledAudio, 0, "the seed should give libmagic some random bytes it calls audio")

        let f = try VaultFixture()
        for (name, header) in [("MP3", Fixtures.mp3Frame), ("AAC", Array(Fixtures.adtsFrame(length: 200).prefix(7)))] {
            let forged = header + (0..<4096).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
            XCTAssertThrowsError(try f.put(forged, kind: "disclosure")) {
                XCTAssertEqual(refusal($0)?.reason, .malformed(name == "MP3" ? "MP3" : "M4A"), "\($0)")
                XCTAssertEqual(refusal($0)?.code, "malformed-content")
            }
        }
        XCTAssertEqual(try f.vault.records.list(.init(), by: .operator("t")).count, 0)
    }

    func testMP3WithoutATagAndAACInADTSFramesAreStoredAsAudio() throws {
        let f = try VaultFixture()
        let aac = Array((0..<10).map { _ in Fixtures.adtsFrame(length: 200) }.joined())
        let cases: [(String, [UInt8], EvidenceType)] = [
            ("bare MP3", Fixtures.bareMP3(frames: 20), .mp3),
            ("MP3 of two frames", Fixtures.bareMP3(frames: 2), .mp3),
            ("MP3 with an ID3v1 tag after one frame", Fixtures.bareMP3(frames: 1) + Array("TAG".utf8) + [UInt8](repeating: 0x20, count: 125), .mp3),
            ("AAC in ADTS frames", aac, .m4a),
        ]
        for (name, bytes, type) in cases {
            let record = try f.put(bytes, kind: "disclosure")
            XCTAssertEqual(EvidenceType(mime: record.sniffedType), type, name)
            XCTAssertEqual(try f.get(record.id), bytes, name)
        }
        // One frame cut short is not a recording.
        XCTAssertThrowsError(try f.put(Array(Fixtures.bareMP3(frames: 1).prefix(300)), kind: "disclosure")) {
            XCTAssertEqual(refusal($0)?.code, "malformed-content", "\($0)")
        }
    }

    func testAFileNamedForAnotherTypeIsRefused() throws {
        let f = try VaultFixture()
        let png = try VaultFixture.sampleBytes("body-map-front.png")
        XCTAssertThrowsError(try f.put(png, kind: "body-map", filename: "photo.jpg")) {
            XCTAssertEqual(refusal($0)?.reason, .extensionMismatch("JPEG"))
        }
        XCTAssertNoThrow(try f.put(png, kind: "body-map", filename: "photo.PNG"))
        XCTAssertNoThrow(try f.put(png, kind: "body-map", filename: "scan-without-extension"))
    }

    func testUnknownKindIsRefusedWithTheKnownKinds() throws {
        let f = try VaultFixture()
        XCTAssertThrowsError(try f.put([1, 2, 3], kind: "photos")) {
            XCTAssertEqual($0 as? VaultError, .unknownKind("photos", known: TypePolicy.kinds))
        }
    }

    func testOversizedUploadIsRefusedAndLeavesNothing() throws {
        let f = try VaultFixture()
        let session = try f.vault.records.beginPut(PutRequest(school: "S1", child: "C1", concern: "K1", kind: "minutes", filename: "a.txt", maxBytes: 100_000), by: .operator("t"))
        let chunk = [UInt8](repeating: UInt8(ascii: "a"), count: 70_000)
        try chunk.withUnsafeBytes { try session.write($0) }
        XCTAssertThrowsError(try chunk.withUnsafeBytes { try session.write($0) }) {
            XCTAssertEqual(refusal($0)?.reason, .tooLarge(limit: 100_000))
        }
        XCTAssertEqual(f.allStoreFiles().filter { $0.hasPrefix("blobs/") }, [])
    }

    func testInvalidIdentifiersAreRefusedWithoutRepeatingThem() throws {
        let f = try VaultFixture()
        for (school, child, concern) in [("S1", "Jane Smith", "K1"), ("S1", "../../x", "K1"), ("", "C1", "K1"), ("S1", "C1", "K\n1")] {
            XCTAssertThrowsError(try f.put([1], kind: "minutes", school: school, child: child, concern: concern)) { error in
                guard case VaultError.storage(.invalidIdentifier) = error else { return XCTFail("\(error)") }
                XCTAssertFalse("\(error)".contains("Jane"))
            }
        }
        XCTAssertFalse(try f.events.contains { ($0.reason ?? "").contains("Jane") || ($0.child ?? "").contains("Jane") })
    }

    func testFilenamesAreStoredAsSanitisedData() {
        XCTAssertEqual(Vault.sanitiseFilename("../../etc/passwd"), "passwd")
        XCTAssertEqual(Vault.sanitiseFilename("minutes\n\u{1b}[31m.pdf"), "minutes[31m.pdf")
        XCTAssertEqual(Vault.sanitiseFilename("/"), "unnamed")
        XCTAssertEqual(Vault.sanitiseFilename(".."), "unnamed")
        XCTAssertEqual(Vault.sanitiseFilename(String(repeating: "é", count: 300)).utf8.count, 254)
        // Invisible format characters and the dots and spaces Windows drops at the end.
        XCTAssertEqual(Vault.sanitiseFilename("minutes\u{202E}fdp.hta"), "minutesfdp.hta")
        XCTAssertEqual(Vault.sanitiseFilename("a\u{200B}b\u{2066}.pdf. . "), "ab.pdf")
        // A long name is cut in its stem: the extension survives.
        let long = Vault.sanitiseFilename(String(repeating: "A", count: 251) + ".png.pdf")
        XCTAssertEqual(long.utf8.count, 255)
        XCTAssertTrue(long.hasSuffix("A.png.pdf") || long.hasSuffix("A.pdf"), long)
        XCTAssertTrue(long.hasSuffix(".pdf"), long)
        // One letter with 300 combining marks does not fit: the stem becomes "unnamed", never "".
        XCTAssertEqual(Vault.sanitiseFilename("a" + String(repeating: "\u{0301}", count: 300) + ".pdf"), "unnamed.pdf")
        // A cut that ends in a dot is trimmed again.
        let cutAtDot = Vault.sanitiseFilename(String(repeating: "a", count: 250) + ".pdf." + String(repeating: "x", count: 40))
        XCTAssertEqual(cutAtDot, String(repeating: "a", count: 250) + ".pdf")
        // Blank letters that display as nothing.
        XCTAssertEqual(Vault.sanitiseFilename("report.pdf\u{3164}\u{3164}\u{2800}.txt"), "report.pdf.txt")
        XCTAssertEqual(Vault.sanitiseFilename("...."), "unnamed")
    }

    /// Markup anywhere in a text file, in any case and with any whitespace after the tag name,
    /// split across chunks at any point; not angle brackets in ordinary writing.
    func testMarkupIsFoundAnywhereInTextAndAcrossChunks() {
        func found(_ text: String, chunk: Int = 1 << 20) -> Bool {
            var scanner = MarkupScanner()
            let bytes = Array(text.utf8)
            var offset = 0
            while offset < bytes.count {
                let end = min(bytes.count, offset + chunk)
                if bytes[offset..<end].withUnsafeBytes({ scanner.scan($0) }) { return true }
                offset = end
            }
            return scanner.finish()
        }
        for markup in ["Notes\n<img src=x onerror=\"alert(1)\">", "<META\thttp-equiv=\"refresh\" content=0>", "x <script>a()</script>",
                       "<svg/onload=alert(1)>", "<?PHP echo 1; ?>", "<!DOCTYPE html>", "<iframe\nsrc=x>", "<body>x</body>", "<style>*{}</style>",
                       "<div onmouseover=\"alert(1)\">x</div>", "<a href=\"javascript:alert(1)\">x</a>", "<p/onclick=x()>",
                       "<img src=x onerror=alert(1)"] {
            XCTAssertTrue(found(markup), markup)
            for chunk in 1...8 { XCTAssertTrue(found(markup, chunk: chunk), "\(markup) in chunks of \(chunk)") }
            // The same in UTF-16 (libmagic calls it text/plain too): NUL bytes are skipped.
            let utf16 = String(decoding: Array(markup.utf16).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }, as: UTF8.self)
            XCTAssertTrue(found(utf16), "UTF-16: \(markup)")
        }
        for plain in ["if x<a then b = 3", "write to <jane@school.example>", "a < b and c > d", "I <3 school", "<imgur.com>",
                      "score <10 /10", "<metadata> was noted", "<b>bold</b> words", "<image removed>", "<body map on file>",
                      "<details withheld> by request, see note = 4", "<form attached>", "<title of the meeting>", "<body>",
                      String(repeating: "<ab ", count: 2_000)] {
            XCTAssertFalse(found(plain), plain)
            XCTAssertFalse(found(plain, chunk: 3), plain)
        }
    }

    /// libmagic looks at 64 KiB: markup after that is found by the ingest, and the file refused
    /// with nothing stored.
    func testATextFileWithMarkupAfterTheSniffedPrefixIsRefused() throws {
        let f = try VaultFixture()
        var text = Array(String(repeating: "An ordinary line of notes about the meeting.\n", count: 2_000).utf8)
        XCTAssertGreaterThan(text.count, MagicSniffer.sniffBytes)
        text += Array("<html><script>alert(1)</script></html>\n".utf8)
        XCTAssertThrowsError(try f.put(text, kind: "minutes", filename: "notes.txt")) {
            XCTAssertEqual(refusal($0)?.code, "dangerous-type")
        }
        XCTAssertEqual(f.allStoreFiles().filter { $0.hasPrefix("blobs/") && !$0.hasPrefix("blobs/tmp") }, [])
        XCTAssertEqual(try f.vault.records.list(RecordFilter(), by: .operator("t")), [])
        XCTAssertEqual(try f.events.filter { $0.action == "put" }.map(\.outcome), ["refused"])
    }

    /// Records stored before names got their content's extension are served with it.
    func testAnOldRecordIsServedUnderANameEndingInItsContentsExtension() {
        var record = EvidenceRecord(
            id: String(repeating: "a", count: 32), school: "S1", child: "C1", concern: "K1", kind: "minutes", filename: "minutes.hta",
            declaredType: nil, sniffedType: "application/pdf", size: 1, sha256: "", ciphertextBlake2b: "", ciphertextSize: 1,
            createdAtMillis: 0, createdBy: "dsl", kekID: "k", wrappedDEK: Data([1]))
        XCTAssertEqual(record.servedFilename, "minutes.hta.pdf")
        record.filename = "scan.PDF"
        XCTAssertEqual(record.servedFilename, "scan.PDF")
    }

    /// The extension check sees the name that is stored, so nothing the sanitiser drops (a NUL,
    /// a trailing dot or space, a path, the end of an over-long name) can carry a name past it.
    func testTheExtensionCheckSeesTheNameAsStored() throws {
        let f = try VaultFixture()
        let png = try VaultFixture.sampleBytes("body-map-front.png")
        for name in ["report.pdf\u{0}", "report.pdf.", "report.pdf ", "report.pdf\u{202E}", "x/../report.pdf",
                     String(repeating: "A", count: 251) + ".pdf.pdf"] {
            XCTAssertThrowsError(try f.put(png, kind: "body-map", filename: name), name.debugDescription) {
                XCTAssertEqual(refusal($0)?.reason, .extensionMismatch("PDF"), name.debugDescription)
            }
        }
        XCTAssertFalse(try f.vault.records.list(RecordFilter(school: "S1"), by: .operator("t")).contains { $0.filename.lowercased().contains(".pdf") })
    }

    /// Whoever saves a record opens it as what it is: a name without an extension of the
    /// content's own format (none, or one we do not know such as .hta or .html) gets one.
    func testAStoredNameAlwaysEndsInAnExtensionOfItsContent() throws {
        let f = try VaultFixture()
        let png = try VaultFixture.sampleBytes("body-map-front.png")
        let pdf = Array("%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n".utf8)
        let text = Array("Notes of a conversation.\n".utf8)
        let cases: [([UInt8], String, String, String)] = [
            (png, "body-map", "scan", "scan.png"),
            (png, "body-map", "photo.PNG", "photo.PNG"),
            (png, "body-map", "photo.jpeg.png", "photo.jpeg.png"),
            (pdf, "minutes", "minutes\u{202E}fdp.hta", "minutesfdp.hta.pdf"),
            (pdf, "minutes", "minutes.v2", "minutes.v2.pdf"),
            (text, "disclosure", "notes.html", "notes.html.txt"),
            (text, "disclosure", "run.bat", "run.bat.txt"),
            (pdf, "minutes", String(repeating: "B", count: 260), String(repeating: "B", count: 251) + ".pdf"),
        ]
        for (bytes, kind, name, stored) in cases {
            let record = try f.put(bytes, kind: kind, filename: name)
            XCTAssertEqual(record.filename, stored, name.debugDescription)
            XCTAssertEqual(try f.vault.records.show(id: record.id, by: .operator("t")).filename, stored)
        }
    }

    /// A kind or Content-Type field can hold a name typed in the wrong box: refusals neither
    /// repeat it to the client nor write it into the audit log, which can never forget it.
    func testRefusalsDoNotRepeatFreeTextFromTheRequest() throws {
        let f = try VaultFixture()
        let png = try VaultFixture.sampleBytes("body-map-front.png")
        XCTAssertThrowsError(try f.put(png, kind: "Jane Smith")) { XCTAssertFalse("\($0)".contains("Jane"), "\($0)") }
        XCTAssertThrowsError(try f.put(png, kind: "body-map", declared: "Jane Smith DOB 2015-03-04")) { error in
            XCTAssertEqual(refusal(error)?.code, "declared-type-mismatch")
            XCTAssertFalse("\(error)".lowercased().contains("jane"), "\(error)")
        }
        XCTAssertThrowsError(try f.put(png, kind: "body-map", declared: "application/pdf")) {
            XCTAssertTrue("\($0)".contains("declared application/pdf"), "a type we know is still named: \($0)")
        }
        XCTAssertFalse(try f.events.contains { ($0.reason ?? "").lowercased().contains("jane") })
    }
}

/// A seeded generator, so a test over random bytes gives the same bytes on every run.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d4_9bb1_3311_eb
        return z ^ (z >> 31)
    }
}
