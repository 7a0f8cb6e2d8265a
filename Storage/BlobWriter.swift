import KeyManagement

/// Encrypts a plaintext stream into the blob format, in one pass and fixed memory: it holds at
/// most one 64 KiB plaintext chunk (held back until it is known whether it is the last) and
/// one encrypted chunk. It also computes the ciphertext BLAKE2b recorded in the metadata.
public final class BlobWriter {
    private let sink: BlobSink
    private let pusher: SecretStreamPusher
    private let associatedData: [UInt8]
    private var pending: UnsafeMutableRawBufferPointer
    private var pendingCount = 0
    private let output: UnsafeMutableRawBufferPointer
    private let hasher = Blake2b()
    public private(set) var ciphertextSize = 0
    public private(set) var plaintextSize = 0
    private var finished = false

    public init(schoolID: String, recordID: String, dataKey: SecretBytes, sink: BlobSink) throws {
        self.sink = sink
        self.pusher = try SecretStreamPusher(key: dataKey)
        self.associatedData = BlobFormat.bindingPrefix(schoolID: schoolID, recordID: recordID)
        // The plaintext staging buffer is zeroed when the writer is released.
        pending = UnsafeMutableRawBufferPointer.allocate(byteCount: BlobFormat.chunkSize, alignment: 16)
        output = UnsafeMutableRawBufferPointer.allocate(byteCount: BlobFormat.encryptedChunkSize, alignment: 16)
        try emit(associatedData)
        try emit(pusher.header)
    }

    deinit {
        pending.initializeMemory(as: UInt8.self, repeating: 0)
        pending.deallocate()
        output.deallocate()
    }

    /// Adds plaintext. Chunks are encrypted as they fill.
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        precondition(!finished)
        var offset = 0
        while offset < bytes.count {
            if pendingCount == BlobFormat.chunkSize {
                // More data follows, so the held-back chunk is not the last.
                try pushPending(final: false)
            }
            let n = min(bytes.count - offset, BlobFormat.chunkSize - pendingCount)
            (pending.baseAddress! + pendingCount).copyMemory(from: bytes.baseAddress! + offset, byteCount: n)
            pendingCount += n
            offset += n
        }
        plaintextSize += bytes.count
    }

    public func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }

    /// Encrypts the last chunk with TAG_FINAL; returns the ciphertext's BLAKE2b-256.
    public func finish() throws -> [UInt8] {
        precondition(!finished)
        try pushPending(final: true)
        finished = true
        return hasher.finalize()
    }

    private func pushPending(final: Bool) throws {
        let count = pendingCount + SecretStream.overheadBytes
        try associatedData.withUnsafeBufferPointer { ad in
            try pusher.push(
                UnsafeRawBufferPointer(start: pending.baseAddress, count: pendingCount), associatedData: ad,
                final: final, into: output)
        }
        pendingCount = 0
        try emit(UnsafeRawBufferPointer(start: output.baseAddress, count: count))
    }

    private func emit(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try emit($0) } }

    private func emit(_ bytes: UnsafeRawBufferPointer) throws {
        hasher.update(bytes)
        try sink.write(bytes)
        ciphertextSize += bytes.count
    }
}
