import KeyManagement
import Storage

/// A record being read, chunk by chunk, at the reader's pace (a file, stdout, an HTTP
/// response). Its audit event is already durable. Every chunk is authenticated before it is
/// handed over, and the last one only after the whole plaintext matched the record's size and
/// SHA-256, so a reader that gets the end of the stream has exactly the stored evidence.
public final class RecordDownload {
    public let record: EvidenceRecord
    /// Records a failure in the audit log (nil when verify reads, which reports instead).
    private let onFailure: ((StorageError) -> Void)?
    private let decryptor: BlobDecryptor
    private var hasher = SHA256Hasher()
    private var size: Int64 = 0

    init(record: EvidenceRecord, decryptor: BlobDecryptor, onFailure: ((StorageError) -> Void)?) {
        self.record = record
        self.decryptor = decryptor
        self.onFailure = onFailure
    }

    /// Reads to the end, discarding the plaintext: what verify does with keys. Throws StorageError.
    func readToEnd() throws {
        while try nextChunk({ _ in }) {}
    }

    /// Hands the next chunk of plaintext to `sink`; returns false when the record is complete.
    /// Throws (after auditing the failure) on damage: the reader must then discard what it got.
    public func next(_ sink: (UnsafeRawBufferPointer) throws -> Void) throws -> Bool {
        do {
            return try nextChunk(sink)
        } catch let error as StorageError {
            onFailure?(error)
            throw VaultError.storage(error)
        }
    }

    private func nextChunk(_ sink: (UnsafeRawBufferPointer) throws -> Void) throws -> Bool {
        try decryptor.next { chunk, isFinal in
            hasher.update(chunk)
            size += Int64(chunk.count)
            if isFinal, size != record.size || Hex.encode(hasher.finalize()) != record.sha256 {
                throw StorageError.blobDamaged(record: record.id, damage: .plaintextMismatch)
            }
            try sink(chunk)
        }
    }
}
