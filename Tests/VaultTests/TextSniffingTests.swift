import Foundation
import XCTest
@testable import Vault

/// libmagic's guesses about text (HPGL from `BP`, APE audio from `MAC`, HTML from `<script`
/// anywhere, an email from `From:`) do not overrule text: a note is stored as the text it is.
final class TextSniffingTests: XCTestCase {
    /// Notes of every shape staff write, notes that begin with every pair of capitals (and
    /// every three), base64 blobs and UTF-16 notes: none is refused for a kind that takes text.
    func testGeneratedNotesAreStoredAsTextWhateverLibmagicGuesses() throws {
        let sniffer = try MagicSniffer()
        var g = Generator(seed: 0x6e6f746573)
        var notes: [[UInt8]] = []
        let letters = (UInt8(ascii: "A")...UInt8(ascii: "Z")).map { String(UnicodeScalar($0)) }
        for a in letters {
            for b in letters {
                for tail in [" readings recorded by the school nurse were normal.\n", ";\n", " 1,2;\n", ": notes\n", "1 seen\n"] {
                    notes.append(Array((a + b + tail).utf8))
                }
                for c in letters { notes.append(Array((a + b + c + " readings\n").utf8)) }
            }
        }
        for i in 0..<3_000 {
            let text = i % 3 == 0 ? g.base64(bytes: g.int(10...3_000)) : g.note(brackets: Generator.harmlessBrackets)
            notes.append(g.encode(text, as: i % 10 == 9 ? g.int(1...2) : 0))
        }
        var guesses: [String: Int] = [:]
        for note in notes {
            let mime = try note.withUnsafeBytes { try sniffer.mimeType(of: $0) }
            if mime != "text/plain" { guesses[mime, default: 0] += 1 }
            for kind in ["disclosure", "minutes"] {
                do {
                    let accepted = try note.withUnsafeBytes {
                        try TypePolicy.check(kind: kind, sniffedMIME: mime, declaredMIME: nil, filename: "note.txt", prefix: $0)
                    }
                    XCTAssertEqual(accepted.type, .text)
                    XCTAssertEqual(accepted.mime, "text/plain")
                } catch {
                    XCTFail("\(String(decoding: note.prefix(60), as: UTF8.self).debugDescription), sniffed as \(mime), refused as \(kind): \(error)")
                }
            }
        }
        // The corpus does meet libmagic's guesses, or this test would prove nothing.
        XCTAssertGreaterThan(guesses["application/vnd.hp-HPGL", default: 0], 100, "\(guesses)")
        XCTAssertGreaterThan(guesses.count, 5, "\(guesses)")
    }

    /// The reported note and others libmagic names as something else, through the vault: stored
    /// as text/plain, byte for byte.
    func testNotesLibmagicCallsAnotherFormatAreStoredAsPlainText() throws {
        let f = try VaultFixture()
        let notes = [
            ("disclosure", "BP readings recorded by the school nurse were normal.\n"),
            ("disclosure", "PA said she would collect him at 3.\n"),
            ("minutes", "MAC readings were taken at the meeting.\n"),
            ("minutes", "P1 readings: none\n"),
            ("disclosure", "GIF89a was the name of the file she mentioned.\n"),
            ("disclosure", "pupil said <script> was a word she saw\n"),
            ("disclosure", "C Smith (class teacher) reported the bruise.\nC  Jones confirmed.\n"),
            ("minutes", "C     Notes of meeting\n      PROGRAM was discussed with parents\n"),
            ("minutes", ".TH meeting notes\n.SH attendees\nDSL, teacher\n"),
        ]
        for (kind, note) in notes {
            let utf16: [UInt8] = [0xFF, 0xFE] + Array(note.utf16).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
            for bytes in [Array(note.utf8), utf16] {
                let record = try f.put(bytes, kind: kind, filename: "note.txt")
                XCTAssertEqual(record.sniffedType, "text/plain", note)
                XCTAssertEqual(try f.get(record.id), bytes)
            }
        }
        // A base64 upload that libmagic calls HPGL, found by the seed.
        let sniffer = try MagicSniffer()
        var g = Generator(seed: 0xba5e64)
        var hpgl: [UInt8]?
        for _ in 0..<20_000 where hpgl == nil {
            let blob = Array(g.base64(bytes: 300).utf8)
            if try blob.withUnsafeBytes({ try sniffer.mimeType(of: $0) }) == "application/vnd.hp-HPGL" { hpgl = blob }
        }
        let blob = try XCTUnwrap(hpgl, "the seed gives a base64 blob libmagic calls HPGL")
        XCTAssertEqual(try f.put(blob, kind: "disclosure", filename: "attachment.txt").sniffedType, "text/plain")
    }

    /// Strong signatures still decide for text-like content: scripts with #!, PDF, RTF, XML and
    /// SVG, email headers, HTML pages with markup. And a weak guess about bytes that are not text
    /// stands.
    func testSignaturesThatAreNotGuessesStillDecide() throws {
        let f = try VaultFixture()
        for (text, reason) in [
            ("#!/bin/sh\nrm -rf /\n", Refusal.Reason.dangerous("a script or program source")),
            ("@echo off\r\nformat c:\r\n", .dangerous("a script or program source")),
            ("<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>\n",
             .dangerous("an SVG image, which can carry script")),
            ("<html><body><script>alert(1)</script></body></html>\n", .dangerous("an HTML page")),
            ("BP notes\n<script src=x.js></script>\n", .dangerous("HTML or script markup in a text file")),
        ] {
            XCTAssertThrowsError(try f.put(Array(text.utf8), kind: "disclosure", filename: "note.txt"), text) {
                XCTAssertEqual(refusal($0)?.reason, reason, text)
            }
        }
        XCTAssertEqual(try f.put(Array("%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n".utf8), kind: "minutes").sniffedType,
                       "application/pdf")
        XCTAssertEqual(try f.put(Array("{\\rtf1\\ansi BP readings were normal.\\par }\n".utf8), kind: "minutes").sniffedType, "text/rtf")
        // An email is an email (its header lines are its signature): stored as one where the
        // kind takes email, and refused, with what it is, where it does not.
        let email = Array("From: Social Care <a@example.org>\nTo: dsl@school.example\nSubject: Referral\n\nBody.\n".utf8)
        XCTAssertEqual(try f.put(email, kind: "document").sniffedType, "message/rfc822")
        XCTAssertThrowsError(try f.put(email, kind: "minutes")) {
            XCTAssertEqual(refusal($0)?.reason, .notAllowed)
            XCTAssertEqual(refusal($0)?.found, "message/rfc822")
        }
        // Not text (a NUL and control bytes): libmagic's answer stands, and is refused.
        XCTAssertThrowsError(try f.put(Array("BP readings".utf8) + [0, 1, 2, 3, 0x1B] + Array("more".utf8), kind: "disclosure")) {
            XCTAssertEqual(refusal($0)?.reason, .notAllowed, "\($0)")
        }
    }

    func testTextIsRecognisedInEachEncodingAndNotOtherwise() {
        func isText(_ bytes: [UInt8], whole: Bool = true) -> Bool { bytes.withUnsafeBytes { TextContent.isText($0, wholeFile: whole) } }
        XCTAssertTrue(isText(Array("BP readings, é ü “x” 😀\r\n\t\u{0C}".utf8)))
        XCTAssertTrue(isText([0xEF, 0xBB, 0xBF] + Array("BP".utf8)))
        XCTAssertTrue(isText([0xFF, 0xFE, 0x42, 0, 0x50, 0, 0x3D, 0xD8, 0x00, 0xDE]))  // "BP😀" in UTF-16LE
        XCTAssertTrue(isText([0xFE, 0xFF, 0, 0x42, 0, 0x50]))
        XCTAssertTrue(isText([0xFF, 0xFE, 0, 0, 0x42, 0, 0, 0]))
        XCTAssertFalse(isText([]))
        XCTAssertFalse(isText(Array("BP".utf8) + [0]))
        XCTAssertFalse(isText(Array("BP".utf8) + [0x1B, 0x5B]))
        XCTAssertFalse(isText(Array("BP".utf8) + [0x7F]))
        XCTAssertFalse(isText([0x42, 0xC0, 0x80]))  // overlong NUL
        XCTAssertFalse(isText([0x42, 0xED, 0xA0, 0x80]))  // a surrogate in UTF-8
        XCTAssertFalse(isText([0x42, 0xFF]))
        XCTAssertFalse(isText([0xFF, 0xFE, 0x00, 0xD8, 0x42, 0x00]))  // a lone high surrogate
        // A character cut off by the end of the sniffed bytes is fine only when more follows.
        XCTAssertTrue(isText(Array("BP é".utf8).dropLast(), whole: false))
        XCTAssertFalse(isText(Array("BP é".utf8).dropLast(), whole: true))
    }
}
