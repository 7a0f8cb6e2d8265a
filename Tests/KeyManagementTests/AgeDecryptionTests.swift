import Foundation
import XCTest
@testable import KeyManagement
import TestSupport

/// Files the stock `age` encrypts to a vault's identity open with `AgeDecryptor`, what we encrypt
/// opens with `age -d`, and every kind of damage is refused with an error that names it.
final class AgeDecryptionTests: XCTestCase {
    var dir: String!

    override func setUpWithError() throws {
        dir = NSTemporaryDirectory() + "age-open-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: "/usr/bin/age"), "age is missing: run Scripts/setup.sh --test")
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: dir) }

    /// `age -r R… -o OUT IN`: the stock tool encrypts `plaintext` to `recipients`.
    func stockEncrypt(_ plaintext: [UInt8], to recipients: [String]) throws -> [UInt8] {
        let input = dir + "/" + UUID().uuidString, output = input + ".age"
        try Data(plaintext).write(to: URL(fileURLWithPath: input))
        let run = try runTool("/usr/bin/age", recipients.flatMap { ["-r", $0] } + ["-o", output, input])
        XCTAssertEqual(run.status, 0, run.stderr)
        return [UInt8](try Data(contentsOf: URL(fileURLWithPath: output)))
    }

    func open(_ ciphertext: [UInt8], _ identity: AgeIdentity, limit: Int = 1 << 30) throws -> [UInt8] {
        try AgeDecryptor.decrypt(ciphertext, identity: identity, maxPlaintext: limit)
    }

    func assertRefused(_ ciphertext: [UInt8], _ identity: AgeIdentity, _ expected: (AgeError) -> Bool, _ what: String,
                       file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try open(ciphertext, identity), what, file: file, line: line) { error in
            guard let age = error as? AgeError else { return XCTFail("\(what): \(error)", file: file, line: line) }
            XCTAssertTrue(expected(age), "\(what): \(age)", file: file, line: line)
        }
    }

    func isDamaged(_ e: AgeError) -> Bool { if case .damaged = e { true } else { false } }
    func isMalformed(_ e: AgeError) -> Bool { if case .malformedHeader = e { true } else { false } }

    // MARK: interoperability with the stock tools

    func testFilesStockAgeEncryptsToOurIdentityOpenAtEveryChunkBoundary() throws {
        let identity = try AgeIdentity.generate()
        for size in [0, 1, 65_536, 65_537, 300_000] {
            let plaintext = randomPublicBytes(size)
            let ciphertext = try stockEncrypt(plaintext, to: [identity.recipient])
            XCTAssertEqual(try open(ciphertext, identity), plaintext, "\(size) bytes")
        }
    }

    func testAFileStockAgeEncryptsToSeveralRecipientsOpensWithOurs() throws {
        let ours = try AgeIdentity.generate(), first = try AgeIdentity.generate(), last = try AgeIdentity.generate()
        let plaintext = Array("Chronology, pupil record transfer\n".utf8)
        let ciphertext = try stockEncrypt(plaintext, to: [first.recipient, ours.recipient, last.recipient])
        XCTAssertEqual(try open(ciphertext, ours), plaintext)
        XCTAssertEqual(try open(ciphertext, last), plaintext)
    }

    func testStockAgeOpensWhatWeEncryptWithOurIdentitysKeygenText() throws {
        let identity = try AgeIdentity.generate()
        let keyFile = dir + "/identity.txt"
        try identity.keygenFileTextForInterop().write(toFile: keyFile, atomically: true, encoding: .utf8)
        for size in [0, 65_536, 200_000] {
            let plaintext = randomPublicBytes(size)
            let path = dir + "/\(size).age"
            try Data(try AgeEncryptor.encrypt(plaintext, to: [try AgeRecipient.parse(identity.recipient)])).write(to: URL(fileURLWithPath: path))
            let run = try StockAge.decrypt(file: path, identity: keyFile)
            XCTAssertEqual(run.status, 0, run.stderr)
            XCTAssertEqual(Array(run.stdout), plaintext, "\(size) bytes")
        }
    }

    func testAnIdentityFromAgeKeygenParsesAndOpensWhatAgeEncryptsToIt() throws {
        let (keyFile, recipient) = try StockAge.keygen(in: dir, name: "school")
        let identity = try AgeIdentity.parse(try String(contentsOfFile: keyFile, encoding: .utf8))
        XCTAssertEqual(identity.recipient, recipient)
        let plaintext = randomPublicBytes(1000)
        XCTAssertEqual(try open(try stockEncrypt(plaintext, to: [recipient]), identity), plaintext)
    }

    // MARK: identities

    func testAnIdentityRebuiltFromItsSecretKeyHasTheSameRecipient() throws {
        let identity = try AgeIdentity.generate()
        let again = try AgeIdentity(secretKey: identity.secretKey)
        XCTAssertEqual(again.publicKey, identity.publicKey)
        XCTAssertTrue(identity.recipient.hasPrefix("age1"))
        XCTAssertEqual(try AgeIdentity.parse(identity.keygenFileTextForInterop()).recipient, identity.recipient)
    }

    func testASecretKeyOfTheWrongLengthIsRefused() throws {
        XCTAssertThrowsError(try AgeIdentity(secretKey: try SecretBytes(count: 31))) {
            XCTAssertEqual($0 as? AgeError, .badIdentity("an X25519 secret key is 32 bytes, not 31"))
        }
    }

    func testIdentityTextThatIsLowerCaseOrMistypedIsRefusedWithoutRepeatingIt() throws {
        let line = try AgeIdentity.generate().keygenFileTextForInterop().split(separator: "\n").last.map(String.init)!
        var typo = Array(line)
        typo[30] = typo[30] == "Q" ? "P" : "Q"
        for text in [line.lowercased(), String(typo), "AGE-SECRET-KEY-1", String(line.dropLast(2))] {
            XCTAssertThrowsError(try AgeIdentity.parse(text), text) { error in
                guard case .badIdentity = error as? AgeError else { return XCTFail("\(error)") }
                XCTAssertFalse(String(describing: error).contains(String(line.dropFirst(16).prefix(10))), "the message repeats the key")
            }
        }
    }

    // MARK: streaming and the size limit

    func testFeedingOneByteAtATimeGivesWhatFeedingAllAtOnceGives() throws {
        let identity = try AgeIdentity.generate()
        let plaintext = randomPublicBytes(140_000)
        let ciphertext = try stockEncrypt(plaintext, to: [identity.recipient])
        let age = AgeDecryptor(identity: identity, maxPlaintext: plaintext.count)
        var out: [UInt8] = []
        for byte in ciphertext { try age.write([byte]) { out += $0 } }
        try age.finish { out += $0 }
        XCTAssertEqual(out, plaintext)
        XCTAssertEqual(out, try open(ciphertext, identity))
    }

    func testAFileExactlyAtTheLimitOpens() throws {
        let identity = try AgeIdentity.generate()
        let plaintext = randomPublicBytes(65_537)
        XCTAssertEqual(try open(try stockEncrypt(plaintext, to: [identity.recipient]), identity, limit: 65_537), plaintext)
    }

    func testAFileLargerThanTheLimitIsRefusedBeforeItIsBufferedOrReleased() throws {
        let identity = try AgeIdentity.generate()
        let limit = 100_000
        let ciphertext = try stockEncrypt(randomPublicBytes(400_000), to: [identity.recipient])
        let age = AgeDecryptor(identity: identity, maxPlaintext: limit)
        var released = 0, fed = 0
        XCTAssertThrowsError(try {
            while fed < ciphertext.count {
                let end = min(ciphertext.count, fed + 1024)
                try age.write(Array(ciphertext[fed..<end])) { released += $0.count }
                fed = end
            }
        }()) { XCTAssertEqual($0 as? AgeError, .tooLarge(limit: limit)) }
        XCTAssertLessThanOrEqual(released, limit)
        // Refused within the piece that carried the payload past the limit, not at the end.
        XCTAssertLessThan(fed, 300 + limit + 2 * (AgeEncryptor.chunkSize + AgeEncryptor.tagBytes))
        XCTAssertThrowsError(try age.finish { _ in }) { XCTAssertEqual($0 as? AgeError, .finished) }
    }

    // MARK: refusals

    func testAFileForAnotherKeyIsRefusedAsNotForThisVault() throws {
        let ciphertext = try stockEncrypt([1, 2, 3], to: [try AgeIdentity.generate().recipient])
        assertRefused(ciphertext, try AgeIdentity.generate(), { $0 == .noMatchingRecipient }, "another key")
        XCTAssertEqual(AgeError.noMatchingRecipient.description, "the file is not encrypted to this vault's key")
    }

    func testAPassphraseFileIsRefusedAsNotForThisVault() throws {
        let passphrase = try SecretBytes(count: 12)
        passphrase.withUnsafeMutableBytes { $0.copyBytes(from: Array("horse staple".utf8)) }
        let ciphertext = try AgeEncryptor.encrypt([1, 2, 3], to: [.scrypt(passphrase: passphrase, workFactor: 10)])
        assertRefused(ciphertext, try AgeIdentity.generate(), { $0 == .passphraseEncrypted }, "scrypt")
    }

    func testAnythingButAnAgeFileIsRefusedAsNotAge() throws {
        let identity = try AgeIdentity.generate()
        for bytes in [[], Array("%PDF-1.7\n".utf8), Array("age-encryption.org".utf8) + [0x0a]] {
            assertRefused(bytes, identity, { $0 == .notAgeFile }, "\(bytes.count) bytes")
        }
        assertRefused(Array("age-encryption.org/v2\n-> X 1\n\n--- AAAA\n".utf8), identity, isMalformed, "another version")
    }

    func testAChangeAnywhereInTheFileIsRefused() throws {
        let identity = try AgeIdentity.generate()
        let ciphertext = try stockEncrypt(randomPublicBytes(70_000), to: [identity.recipient])
        let macLine = ciphertext.indices.first { ciphertext[$0...].starts(with: Array("\n--- ".utf8)) }! + 5
        var mac = ciphertext
        mac[macLine] = mac[macLine] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        assertRefused(mac, identity, { $0 == .headerMACMismatch || self.isMalformed($0) }, "MAC changed")
        var share = ciphertext
        share[40] = share[40] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        assertRefused(share, identity, { $0 == .noMatchingRecipient || self.isMalformed($0) }, "share changed")
        var payload = ciphertext
        payload[payload.count - 100] ^= 1
        assertRefused(payload, identity, isDamaged, "a payload byte flipped")
        assertRefused(ciphertext + [0], identity, isDamaged, "a byte after the end")
        assertRefused(Array(ciphertext.dropLast(1)), identity, isDamaged, "the last byte cut off")
        assertRefused(Array(ciphertext.prefix(ciphertext.count - (70_000 - 65_536) - 16)), identity, isDamaged, "the final chunk cut off")
    }

    func testADamagedFileNamesRoughlyWhereWithoutAnyPlaintextOrKey() throws {
        let identity = try AgeIdentity.generate()
        let plaintext = Array(String(repeating: "Sensitive note ", count: 6000).utf8)
        var ciphertext = try stockEncrypt(plaintext, to: [identity.recipient])
        ciphertext[ciphertext.count - 10] ^= 0x80
        XCTAssertThrowsError(try open(ciphertext, identity)) { error in
            let text = String(describing: error)
            XCTAssertTrue(text.contains("at byte ~"), text)
            XCTAssertFalse(text.contains("Sensitive"), text)
        }
    }

    func testAHeaderLongerThan64KiBIsRefusedBeforeTheEndOfIt() throws {
        let identity = try AgeIdentity.generate()
        let real = try stockEncrypt([1], to: [identity.recipient])
        let grease = Array(String(repeating: "-> grease\nAAAA\n", count: 5000).utf8)
        let huge = Array(real.prefix(22)) + grease + Array(real.dropFirst(22))
        let age = AgeDecryptor(identity: identity, maxPlaintext: 10)
        var fed = 0
        XCTAssertThrowsError(try {
            while fed < huge.count { try age.write([huge[fed]]) { _ in }; fed += 1 }
        }()) { error in XCTAssertTrue(self.isMalformed(error as! AgeError), "\(error)") }
        XCTAssertEqual(fed, 64 * 1024 - 1, "refused at the limit, not after reading the rest")
    }

    func testALowOrderShareIsRefusedAsMalformed() throws {
        // A share of all zeros gives the all-zero shared secret, which anyone could compute.
        let header = "age-encryption.org/v1\n-> X25519 \(AgeEncryptor.base64([UInt8](repeating: 0, count: 32)))\n\(AgeEncryptor.base64([UInt8](repeating: 7, count: 32)))\n--- \(AgeEncryptor.base64([UInt8](repeating: 0, count: 32)))\n"
        assertRefused(Array(header.utf8) + [UInt8](repeating: 0, count: 40), try AgeIdentity.generate(), {
            $0 == .malformedHeader("an X25519 share is a low-order point")
        }, "low-order share")
    }
}
