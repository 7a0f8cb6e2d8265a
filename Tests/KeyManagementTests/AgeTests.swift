import Foundation
import XCTest
@testable import KeyManagement
import TestSupport

/// What Strongroom encrypts in the age format opens with the stock `age` (Debian's, installed by
/// `Scripts/setup.sh --test`), for both kinds of recipient, and nothing changed opens at all.
final class AgeTests: XCTestCase {
    var dir: String!

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "age-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: "/usr/bin/age"), "age is missing: run Scripts/setup.sh --test")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    func keygen(_ name: String) throws -> (file: String, recipient: String) { try StockAge.keygen(in: dir, name: name) }

    func decrypt(_ ciphertext: [UInt8], identity: String) throws -> ToolRun {
        let path = dir + "/\(UUID().uuidString).age"
        try Data(ciphertext).write(to: URL(fileURLWithPath: path))
        return try StockAge.decrypt(file: path, identity: identity)
    }

    func decrypt(_ ciphertext: [UInt8], passphrase: String) throws -> ToolRun {
        let path = dir + "/\(UUID().uuidString).age"
        try Data(ciphertext).write(to: URL(fileURLWithPath: path))
        return try StockAge.decrypt(file: path, passphrase: passphrase)
    }

    func passphrase(_ text: String) throws -> SecretBytes {
        let secret = try SecretBytes(count: text.utf8.count)
        secret.withUnsafeMutableBytes { $0.copyBytes(from: Array(text.utf8)) }
        return secret
    }

    func testStockAgeDecryptsWhatWeEncryptToAnX25519RecipientAtEveryChunkBoundary() throws {
        let (identity, recipient) = try keygen("agency")
        for size in [0, 1, 65_535, 65_536, 65_537, 131_072, 200_000] {
            let plaintext = randomPublicBytes(size)
            let ciphertext = try AgeEncryptor.encrypt(plaintext, to: [try AgeRecipient.parse(recipient)])
            let r = try decrypt(ciphertext, identity: identity)
            XCTAssertEqual(r.status, 0, "\(size) bytes: \(r.stderr)")
            XCTAssertEqual(Array(r.stdout), plaintext, "\(size) bytes")
        }
    }

    func testStreamingInPiecesGivesWhatAgeDecrypts() throws {
        let (identity, recipient) = try keygen("agency")
        let plaintext = randomPublicBytes(300_001)
        let age = try AgeEncryptor(recipients: [try AgeRecipient.parse(recipient)])
        var out: [UInt8] = []
        var offset = 0
        for piece in [1, 7, 65_536, 100_000, 3] where offset < plaintext.count {
            let end = min(plaintext.count, offset + piece)
            try age.write(Array(plaintext[offset..<end])) { out += $0 }
            offset = end
        }
        try age.write(Array(plaintext[offset...])) { out += $0 }
        try age.finish { out += $0 }
        XCTAssertThrowsError(try age.finish { _ in }) { XCTAssertEqual($0 as? AgeError, .finished) }
        XCTAssertEqual(Array(try decrypt(out, identity: identity).stdout), plaintext)
    }

    func testEveryRecipientOfSeveralCanDecryptAndNoOneElse() throws {
        let a = try keygen("a"), b = try keygen("b"), outsider = try keygen("outsider")
        let plaintext = Array("Strategy meeting minutes\n".utf8)
        let ciphertext = try AgeEncryptor.encrypt(plaintext, to: [try .parse(a.recipient), try .parse(b.recipient)])
        XCTAssertEqual(Array(try decrypt(ciphertext, identity: a.file).stdout), plaintext)
        XCTAssertEqual(Array(try decrypt(ciphertext, identity: b.file).stdout), plaintext)
        XCTAssertNotEqual(try decrypt(ciphertext, identity: outsider.file).status, 0)
    }

    func testStockAgeDecryptsWithThePassphraseAndRefusesAnotherOne() throws {
        let plaintext = randomPublicBytes(70_000)
        let ciphertext = try AgeEncryptor.encrypt(plaintext, to: [.scrypt(passphrase: try passphrase("correct horse battery staple"), workFactor: 14)])
        let right = try decrypt(ciphertext, passphrase: "correct horse battery staple")
        XCTAssertEqual(right.status, 0, right.stderr)
        XCTAssertEqual(Array(right.stdout), plaintext)
        XCTAssertNotEqual(try decrypt(ciphertext, passphrase: "wrong horse").status, 0)
        XCTAssertThrowsError(try AgeEncryptor(recipients: [.scrypt(passphrase: try passphrase("p"), workFactor: 14), try .parse(try keygen("x").recipient)])) {
            guard case AgeError.badRecipientSet = $0 else { return XCTFail("\($0)") }
        }
    }

    func testAChangedByteAnywhereMeansAgeRefusesTheFile() throws {
        let (identity, recipient) = try keygen("agency")
        let plaintext = randomPublicBytes(150_000)
        let ciphertext = try AgeEncryptor.encrypt(plaintext, to: [try .parse(recipient)])
        let headerEnd = try XCTUnwrap(ciphertext.firstRange(of: Array("\n---".utf8))).lowerBound
        for offset in [30, headerEnd + 8, headerEnd + 60, headerEnd + 70_000, ciphertext.count - 1] {
            var changed = ciphertext
            changed[offset] ^= 0x01
            let r = try decrypt(changed, identity: identity)
            XCTAssertNotEqual(r.status, 0, "a flip at \(offset) of \(ciphertext.count)")
        }
        // Cut short at a chunk boundary: the last chunk is marked, so truncation is refused too.
        let r = try decrypt(Array(ciphertext.prefix(ciphertext.count - (ciphertext.count - headerEnd) / 2)), identity: identity)
        XCTAssertNotEqual(r.status, 0)
    }

    func testMalformedRecipientsAreRefusedWithTheReason() throws {
        let good = try keygen("g").recipient
        XCTAssertNoThrow(try AgeRecipient.parse(good))
        var typo = Array(good)
        typo[10] = typo[10] == "q" ? "p" : "q"
        for bad in [String(typo), good.uppercased(), "age1", "", "age2" + good.dropFirst(4), good + "q",
                    Bech32.encode(hrp: "age", data: [1, 2, 3]), Bech32.encode(hrp: "agf", data: randomPublicBytes(32))] {
            XCTAssertThrowsError(try AgeRecipient.parse(bad), bad) {
                guard case AgeError.badRecipient = $0 else { return XCTFail("\($0)") }
            }
        }
        let key = randomPublicBytes(32)
        guard case .x25519(let parsed) = try AgeRecipient.parse(AgeRecipient.text(publicKey: key)) else { return XCTFail() }
        XCTAssertEqual(parsed, key)
    }
}
