import Foundation
import Storage
import XCTest
@testable import Vault

/// Markup hidden in text is refused wherever it is and however it is written; ordinary writing
/// with angle brackets is stored.
final class MarkupInTextTests: XCTestCase {
    func found(_ bytes: [UInt8], splitAt ranges: [Range<Int>]? = nil) -> Bool {
        var scanner = MarkupScanner()
        for range in ranges ?? [0..<bytes.count] where bytes[range].withUnsafeBytes({ scanner.scan($0) }) { return true }
        return scanner.finish()
    }

    /// The reported cases: a space or an attribute after `script`, or hundreds of spaces before
    /// `>`, after 5,000 bytes of ordinary words, in the sniffed prefix and across its end.
    func testScriptTagsWithSpacesOrAttributesAfterOrdinaryWordsAreRefused() throws {
        let f = try VaultFixture()
        var g = Generator(seed: 1)
        let tags = ["<script >alert(1)</script>", "<script async>alert(1)</script>", "<script async src=x.js>",
                    "<script" + String(repeating: " ", count: 300) + ">alert(1)</script>", "<SCRIPT\n>alert(1)</script\t>"]
        for tag in tags {
            for before in [5_000, MagicSniffer.sniffBytes - 3, MagicSniffer.sniffBytes - tag.utf8.count / 2, 200_000] {
                let text = Array(g.prose(bytes: before).utf8.prefix(before)) + Array(tag.utf8) + Array(" and more words.\n".utf8)
                XCTAssertThrowsError(try f.put(text, kind: "minutes", filename: "notes.txt"), "\(tag.prefix(20)) after \(before)") {
                    XCTAssertEqual(refusal($0)?.code, "dangerous-type", "\($0)")
                }
            }
        }
        XCTAssertEqual(try f.vault.records.list(RecordFilter(), by: .operator("t")), [])
    }

    /// Generated markup of every kind the scanner knows, in any case, with whitespace runs of
    /// any length, quoted and unquoted attributes, at the start, after kilobytes of prose or
    /// straddling 64 KiB boundaries, in UTF-8, UTF-16 and UTF-32, split into chunks anywhere.
    func testGeneratedMarkupIsFoundWhereverItIsAndHoweverItIsSplit() {
        var g = Generator(seed: 0x6d61726b)
        var labels: Set<String> = []
        for round in 0..<2_000 {
            let (label, markup) = g.markup()
            labels.insert(label)
            let before: String
            switch round % 4 {
            case 0: before = ""
            case 1: before = g.prose(bytes: g.int(1...20) * 1024)
            case 2: before = String(repeating: "a", count: 65_536 - g.int(1...markup.utf8.count))
            // Notes whose brackets close (an open `x<a` takes the markup after it into its
            // attributes, for a browser as for the scanner).
            default: before = g.note(brackets: Generator.closedBrackets)
            }
            let bytes = g.encode(before + markup + (g.chance(0.5) ? "" : " " + g.prose(bytes: 100)))
            XCTAssertTrue(found(bytes, splitAt: g.chunks(bytes.count)), "\(label): \(markup.prefix(120).debugDescription) after \(before.utf8.count)")
        }
        XCTAssertEqual(labels.count, 11, "every shape of markup was generated")

        // One piece, split at every byte.
        for markup in ["<script async>", "<svg/onload=alert(1)>", "<a href=\"&#106;avascript:x\">", "<!DOCTYPE html>", "<?php ?>",
                       "<style>*{}</style>", "<img src=x onerror=alert(1)>"] {
            let bytes = Array(("words " + markup + " words").utf8)
            for cut in 1..<bytes.count {
                XCTAssertTrue(found(bytes, splitAt: [0..<cut, cut..<bytes.count]), "\(markup) cut at \(cut)")
            }
        }
    }

    /// Notes with angle brackets as people write them: placeholders, comparisons, addresses,
    /// a word in brackets; in every encoding, split anywhere.
    func testOrdinaryWritingWithAngleBracketsIsNotMarkup() {
        var g = Generator(seed: 0x706c61696e)
        for phrase in Generator.harmlessBrackets {
            XCTAssertFalse(found(Array(phrase.utf8)), phrase)
        }
        for _ in 0..<2_000 {
            let text = g.note(brackets: Generator.harmlessBrackets) + (g.chance(0.3) ? g.pick(Generator.harmlessBrackets) : "")
            let bytes = g.encode(text)
            XCTAssertFalse(found(bytes, splitAt: g.chunks(bytes.count)), text.debugDescription)
        }
    }

    /// What a browser would not run is not markup: a script element never closed, a tag inside
    /// a comment or a quoted attribute value; what it would run is, even where a scanner that
    /// stops at the first `>` or `<` would miss it.
    func testTheScannerReadsTagsAsABrowserDoes() {
        let cases: [(String, Bool)] = [
            ("pupil said <script> was a word she saw", false),
            ("pupil said <script> was a word she saw, and later </script> too", true),
            ("<image removed>, <details withheld>, <name@example.org>", false),
            ("<!-- <script>alert(1)</script> -->", false),  // inside a comment, as a browser reads it
            ("<p title=\"<script>alert(1)</script>\">quoted, so inert</p>", false),
            ("<p title='a > b' onclick=alert(1)>", true),  // the > inside quotes does not end the tag
            ("<title> <p a=\"</title><img src=x onerror=alert(1)>\">", true),  // raw text ends at </title>
            ("<xmp><p a=\"</xmp><script>alert(1)</script>\">", true),
            ("<img\nsrc=x\n\n" + String(repeating: "more notes ", count: 500) + "\nonerror=alert(1)>", true),
            ("x <img src=x onerror=alert(1)", true),  // still open at the end: judged as if closed
            ("<a href=\"java&#x09;script:alert(1)\">", true),
            ("<a href=\"javascript-free.example\">", false),
            ("<a href=\"https://school.example/?q=javascript:\">", false),
            ("<body>", false),  // a bare <body> does nothing in a browser
            ("<body onload=alert(1)>", true),
            ("<html><body>hello</body></html>", true),
        ]
        for (text, markup) in cases {
            XCTAssertEqual(found(Array(text.utf8)), markup, text)
            let utf16: [UInt8] = [0xFF, 0xFE] + Array(text.utf16).flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] }
            XCTAssertEqual(found(utf16), markup, "UTF-16: \(text)")
        }
    }

    /// The brief's ordinary writing, through the vault: stored as plain text, although libmagic
    /// calls `pupil said <script> ...` HTML.
    func testOrdinaryWritingWithAngleBracketsIsStoredAsText() throws {
        let f = try VaultFixture()
        var g = Generator(seed: 3)
        for phrase in ["<image removed>", "pupil said <script> was a word she saw", "x < y and y > z", "<details withheld>",
                       "email from <name@example.org> about the visit"] {
            for text in [phrase + "\n", g.prose(bytes: 5_000) + phrase + "\n", g.prose(bytes: 70_000) + phrase + "\n"] {
                let record = try f.put(Array(text.utf8), kind: "disclosure", filename: "note.txt")
                XCTAssertEqual(record.sniffedType, "text/plain", phrase)
                XCTAssertEqual(try f.get(record.id), Array(text.utf8))
            }
        }
    }
}
