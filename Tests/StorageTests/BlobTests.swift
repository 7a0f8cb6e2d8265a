import XCTest
import KeyManagement
import TestSupport
@testable import Storage

final class BlobTests: XCTestCase {
    let school = "S1"
    let record = "0123456789abcdef0123456789abcdef"

    func encrypt(_ plaintext: [UInt8], key: SecretBytes, school: String? = nil, record: String? = nil, pieces: Int = 3) throws -> MemoryBlob {
        let blob = MemoryBlob()
        let writer = try BlobWriter(schoolID: school ?? self.school, recordID: record ?? self.record, dataKey: key, sink: blob)
        // Feed in uneven pieces: chunking must not depend on how the bytes arrive.
        var offset = 0
        let step = max(1, plaintext.count / pieces + 7)
        while offset < plaintext.count {
            let end = min(plaintext.count, offset + step)
            try writer.write(Array(plaintext[offset..<end]))
            offset = end
        }
        let hash = try writer.finish()
        XCTAssertEqual(hash, Blake2b.hash(blob.bytes))
        XCTAssertEqual(blob.size, BlobFormat.ciphertextSize(plaintextSize: plaintext.count, schoolID: school ?? self.school, recordID: record ?? self.record))
        return blob
    }

    func decrypt(_ blob: MemoryBlob, key: SecretBytes, school: String? = nil, record: String? = nil, expected: Int? = nil) throws -> [UInt8] {
        var out: [UInt8] = []
        try BlobReader.decrypt(blob, schoolID: school ?? self.school, recordID: record ?? self.record, dataKey: key,
                               expectedCiphertextSize: expected) { out += $0 }
        return out
    }

    func damage(of blob: MemoryBlob, key: SecretBytes, expected: Int?) -> BlobDamage? {
        do {
            _ = try decrypt(blob, key: key, expected: expected)
            return nil
        } catch StorageError.blobDamaged(let r, let d) {
            XCTAssertEqual(r, record, "the error names the record")
            return d
        } catch {
            XCTFail("\(error)")
            return nil
        }
    }

    let chunk = BlobFormat.encryptedChunkSize

    func firstChunkOffset() -> Int { BlobFormat.bindingPrefix(schoolID: school, recordID: record).count + SecretStream.headerBytes }

    func testRoundTripAtEveryChunkBoundary() throws {
        let key = try DataKey.generate()
        for size in [0, 1, 100, 65_535, 65_536, 65_537, 131_072, 200 * 1024, 300_001] {
            let plaintext = randomBytes(size)
            let blob = try encrypt(plaintext, key: key)
            XCTAssertEqual(try decrypt(blob, key: key, expected: blob.size), plaintext, "size \(size)")
        }
    }

    func testCiphertextContainsNoPlaintext() throws {
        let marker = Array("the child said go home tonight".utf8)
        let blob = try encrypt(Array(repeating: marker, count: 100).flatMap { $0 }, key: try DataKey.generate())
        XCTAssertNil(Data(blob.bytes).range(of: Data(marker)))
    }

    func testTruncatedBlobIsReportedAsTruncated() throws {
        let key = try DataKey.generate()
        let blob = try encrypt(randomBytes(200_000), key: key)
        let full = blob.size
        for cut in [firstChunkOffset() + chunk, firstChunkOffset() + 2 * chunk, full - 1, full - 10, firstChunkOffset() + 100] {
            let damaged = MemoryBlob()
            damaged.bytes = Array(blob.bytes.prefix(cut))
            guard case .truncated = damage(of: damaged, key: key, expected: full) else {
                return XCTFail("cut at \(cut): \(String(describing: damage(of: damaged, key: key, expected: full)))")
            }
        }
        let headerOnly = MemoryBlob()
        headerOnly.bytes = Array(blob.bytes.prefix(20))
        XCTAssertEqual(damage(of: headerOnly, key: key, expected: full), .truncated(afterChunk: -1))
    }

    func testTruncationAtAChunkBoundaryIsCaughtWithoutKnowingTheSize() throws {
        let key = try DataKey.generate()
        let blob = try encrypt(randomBytes(200_000), key: key)
        let damaged = MemoryBlob()
        damaged.bytes = Array(blob.bytes.prefix(firstChunkOffset() + 2 * chunk))
        XCTAssertEqual(damage(of: damaged, key: key, expected: nil), .truncated(afterChunk: 1))
    }

    func testBytesAfterTheFinalChunkAreReportedAsExtended() throws {
        let key = try DataKey.generate()
        for size in [1000, 65_536] {
            let blob = try encrypt(randomBytes(size), key: key)
            let full = blob.size
            let damaged = MemoryBlob()
            damaged.bytes = blob.bytes + [0, 1, 2]
            XCTAssertEqual(damage(of: damaged, key: key, expected: full), .extended(trailingBytes: 3), "size \(size)")
        }
        // Without the recorded size, bytes after a full final chunk are still caught.
        let blob = try encrypt(randomBytes(65_536), key: key)
        blob.bytes += [9]
        XCTAssertEqual(damage(of: blob, key: key, expected: nil), .extended(trailingBytes: 1))
    }

    func testDuplicatedChunkIsReportedAsDuplicated() throws {
        let key = try DataKey.generate()
        let blob = try encrypt(randomBytes(200_000), key: key)
        let start = firstChunkOffset()
        let damaged = MemoryBlob()
        damaged.bytes = Array(blob.bytes[0..<start + 2 * chunk]) + Array(blob.bytes[start + chunk..<start + 2 * chunk]) + Array(blob.bytes[(start + 2 * chunk)...])
        XCTAssertEqual(damage(of: damaged, key: key, expected: blob.size), .duplicatedChunk(position: 2, copyOf: 1))
    }

    func testReorderedChunksAreReportedAsReordered() throws {
        let key = try DataKey.generate()
        let blob = try encrypt(randomBytes(300_000), key: key)
        let start = firstChunkOffset()
        let c1 = Array(blob.bytes[start + chunk..<start + 2 * chunk])
        let c2 = Array(blob.bytes[start + 2 * chunk..<start + 3 * chunk])
        let damaged = MemoryBlob()
        damaged.bytes = Array(blob.bytes[0..<start + chunk]) + c2 + c1 + Array(blob.bytes[(start + 3 * chunk)...])
        XCTAssertEqual(damage(of: damaged, key: key, expected: blob.size), .reorderedChunk(position: 2, belongsAt: 1))
    }

    func testFlippedBitAnywhereInTheBlobIsDetected() throws {
        let key = try DataKey.generate()
        let blob = try encrypt(randomBytes(140_000), key: key)
        let positions = [0, 9, 15, 30, firstChunkOffset() - 1, firstChunkOffset(), firstChunkOffset() + 5000,
                         firstChunkOffset() + chunk + 17, blob.size - 1]
        for position in positions {
            let damaged = MemoryBlob()
            damaged.bytes = blob.bytes
            damaged.bytes[position] ^= 0x04
            XCTAssertNotNil(damage(of: damaged, key: key, expected: blob.size), "flip at \(position)")
        }
        let damaged = MemoryBlob()
        damaged.bytes = blob.bytes
        damaged.bytes[firstChunkOffset() + chunk + 100] ^= 1
        XCTAssertEqual(damage(of: damaged, key: key, expected: blob.size), .alteredChunk(position: 1))
    }

    func testBlobOfAnotherRecordIsReportedAsSwapped() throws {
        let key = try DataKey.generate()
        let other = try encrypt(randomBytes(1000), key: key, school: "S2", record: "ffffffffffffffffffffffffffffffff")
        XCTAssertEqual(damage(of: other, key: key, expected: nil), .belongsToAnotherRecord(school: "S2", record: "ffffffffffffffffffffffffffffffff"))
    }

    func testBlobWithHeaderRewrittenToAnotherRecordFailsAuthentication() throws {
        // An attacker who swaps a blob and rewrites its header to match cannot make it decrypt.
        let key = try DataKey.generate()
        let other = try encrypt(randomBytes(1000), key: key, record: "ffffffffffffffffffffffffffffffff")
        let prefix = BlobFormat.bindingPrefix(schoolID: school, recordID: record)
        let otherPrefix = BlobFormat.bindingPrefix(schoolID: school, recordID: "ffffffffffffffffffffffffffffffff")
        other.bytes = prefix + Array(other.bytes[otherPrefix.count...])
        XCTAssertEqual(damage(of: other, key: key, expected: nil), .alteredChunk(position: 0))
    }

    func testBlobUnderAnotherKeyFailsAuthentication() throws {
        let blob = try encrypt(randomBytes(1000), key: try DataKey.generate())
        XCTAssertEqual(damage(of: blob, key: try DataKey.generate(), expected: blob.size), .alteredChunk(position: 0))
    }

    func testForeignBytesAreNotABlob() throws {
        let blob = MemoryBlob()
        blob.bytes = Array("%PDF-1.4 not a blob at all, just some bytes".utf8)
        XCTAssertEqual(damage(of: blob, key: try DataKey.generate(), expected: nil), .notABlob)
        blob.bytes = BlobFormat.magic + [2, 16] + [0, 0, 0, 0]
        XCTAssertEqual(damage(of: blob, key: try DataKey.generate(), expected: nil), .unsupportedVersion(2))
    }

    /// Golden file: a blob written by format version 1 must keep decrypting.
    func testGoldenBlobV1StillDecrypts() throws {
        let url = Bundle.module.url(forResource: "Vectors/blob-v1", withExtension: "json")!
        let vector = try JSONDecoder().decode([String: String].self, from: Data(contentsOf: url))
        let keyBytes = Hex.decode(vector["key"]!)!
        let key = try SecretBytes(count: 32)
        key.withUnsafeMutableBytes { $0.copyBytes(from: keyBytes) }
        let blob = MemoryBlob()
        blob.bytes = Array(Data(base64Encoded: vector["blob"]!)!)
        let plaintext = try decrypt(blob, key: key, school: vector["school"]!, record: vector["record"]!, expected: blob.size)
        XCTAssertEqual(Hex.encode(SHA256Hasher.hash(plaintext)), vector["plaintextSHA256"]!)
        XCTAssertEqual(plaintext.count, Int(vector["plaintextSize"]!)!)
        XCTAssertEqual(Hex.encode(Blake2b.hash(blob.bytes)), vector["ciphertextBlake2b"]!)
    }
}
