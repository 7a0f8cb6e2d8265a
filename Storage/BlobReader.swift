import KeyManagement

/// Decrypts a blob, streaming plaintext chunk by chunk to a handler that may send it on
/// (to a file, stdout or an HTTP response) before the whole blob is read. Every chunk is
/// authenticated before it is handed over; the stream is accepted only if TAG_FINAL arrives
/// exactly at the end of the blob. On failure it names the record and the kind of damage.
public enum BlobReader {
    public static func decrypt(
        _ blob: RandomAccessBlob, schoolID: String, recordID: String, dataKey: SecretBytes,
        expectedCiphertextSize: Int?, to handler: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        let decryptor = try BlobDecryptor(
            blob, schoolID: schoolID, recordID: recordID, dataKey: dataKey, expectedCiphertextSize: expectedCiphertextSize)
        while try decryptor.next({ chunk, _ in try handler(chunk) }) {}
    }

    public static func readFully(_ blob: RandomAccessBlob, at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        var total = 0
        while total < buffer.count {
            let n = try blob.read(at: offset + total, into: UnsafeMutableRawBufferPointer(rebasing: buffer[total...]))
            if n == 0 { break }
            total += n
        }
        return total
    }

    /// Works out why chunk `position` failed: a copy of an earlier chunk, a later chunk out of
    /// place, a blob shorter or longer than recorded, or altered bytes.
    static func diagnose(
        _ blob: RandomAccessBlob, failing chunk: UnsafeRawBufferPointer, position: Int, puller: SecretStreamPuller,
        prefix: [UInt8], firstChunkOffset: Int, macs: [[UInt8]: Int], expectedSize: Int?
    ) throws -> BlobDamage {
        if chunk.count >= 16, let original = macs[Array(chunk.suffix(16))] {
            return .duplicatedChunk(position: position, copyOf: original)
        }
        let candidate = UnsafeMutableRawBufferPointer.allocate(byteCount: BlobFormat.encryptedChunkSize, alignment: 16)
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: BlobFormat.chunkSize, alignment: 16)
        defer {
            scratch.initializeMemory(as: UInt8.self, repeating: 0)
            scratch.deallocate()
            candidate.deallocate()
        }
        var later = position + 1
        while true {
            let n = try readFully(blob, at: firstChunkOffset + later * BlobFormat.encryptedChunkSize, into: candidate)
            if n == 0 { break }
            let trial = try puller.copy()
            let fits = prefix.withUnsafeBufferPointer { ad in
                trial.pull(UnsafeRawBufferPointer(rebasing: candidate[0..<n]), associatedData: ad, into: scratch) != nil
            }
            if fits { return .reorderedChunk(position: later, belongsAt: position) }
            later += 1
        }
        if let expectedSize {
            if blob.size < expectedSize { return .truncated(afterChunk: position - 1) }
            if blob.size > expectedSize { return .extended(trailingBytes: blob.size - expectedSize) }
        }
        return .alteredChunk(position: position)
    }
}

/// Pull-style decryption, one chunk per call, for senders that write at their own pace (an
/// HTTP response). Same checks as `BlobReader.decrypt`.
public final class BlobDecryptor {
    private let blob: RandomAccessBlob
    private let recordID: String
    private let header: BlobFormat.ParsedHeader
    private let puller: SecretStreamPuller
    private let expectedCiphertextSize: Int?
    private let input = UnsafeMutableRawBufferPointer.allocate(byteCount: BlobFormat.encryptedChunkSize, alignment: 16)
    private let output = UnsafeMutableRawBufferPointer.allocate(byteCount: BlobFormat.chunkSize, alignment: 16)
    private var macs: [[UInt8]: Int] = [:]
    private var offset: Int
    private var index = 0
    private var finished = false

    public init(_ blob: RandomAccessBlob, schoolID: String, recordID: String, dataKey: SecretBytes, expectedCiphertextSize: Int?) throws {
        self.blob = blob
        self.recordID = recordID
        self.expectedCiphertextSize = expectedCiphertextSize
        let header = try BlobFormat.parseHeader(blob, record: recordID)
        guard header.schoolID == schoolID, header.recordID == recordID else {
            throw StorageError.blobDamaged(record: recordID, damage: .belongsToAnotherRecord(school: header.schoolID, record: header.recordID))
        }
        guard let puller = try header.streamHeader.withUnsafeBytes({ try SecretStreamPuller(key: dataKey, header: $0) }) else {
            throw StorageError.blobDamaged(record: recordID, damage: .alteredChunk(position: 0))
        }
        self.header = header
        self.puller = puller
        self.offset = header.size
    }

    deinit {
        output.initializeMemory(as: UInt8.self, repeating: 0)
        output.deallocate()
        input.deallocate()
    }

    private func damaged(_ d: BlobDamage) -> StorageError { .blobDamaged(record: recordID, damage: d) }

    /// Authenticates the next chunk and hands its plaintext to `body` with whether it is the
    /// last (the end of the blob has then been checked too). Returns false once the stream is done.
    public func next(_ body: (UnsafeRawBufferPointer, _ isFinal: Bool) throws -> Void) throws -> Bool {
        if finished { return false }
        let n = try BlobReader.readFully(blob, at: offset, into: input)
        if n == 0 { throw damaged(.truncated(afterChunk: index - 1)) }
        let chunk = UnsafeRawBufferPointer(rebasing: input[0..<n])
        let tag = header.prefix.withUnsafeBufferPointer { ad in puller.pull(chunk, associatedData: ad, into: output) }
        guard let tag else {
            throw damaged(try BlobReader.diagnose(
                blob, failing: chunk, position: index, puller: puller, prefix: header.prefix,
                firstChunkOffset: header.size, macs: macs, expectedSize: expectedCiphertextSize))
        }
        let plaintext = UnsafeRawBufferPointer(start: output.baseAddress, count: n - SecretStream.overheadBytes)
        switch tag {
        case .final:
            let end = offset + n
            var probe = [UInt8](repeating: 0, count: 1)
            let more = try blob.read(at: end, into: &probe)
            if blob.size > end || more > 0 { throw damaged(.extended(trailingBytes: max(blob.size - end, 1))) }
            finished = true
            try body(plaintext, true)
            return true
        case .message where n == BlobFormat.encryptedChunkSize:
            let mac = Array(chunk.suffix(16))
            if macs[mac] == nil { macs[mac] = index }
            offset += n
            index += 1
            try body(plaintext, false)
            return true
        default:
            throw damaged(.truncated(afterChunk: index))
        }
    }
}
