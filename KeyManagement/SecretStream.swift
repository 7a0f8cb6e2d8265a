/// libsodium's secretstream (XChaCha20-Poly1305) with its state in guarded memory.
/// Each chunk carries a tag; the writer marks the last chunk TAG_FINAL and the reader must see
/// TAG_FINAL exactly at the end of input (Storage/BlobReader.swift enforces that).
public enum SecretStream {
    public static let headerBytes = Sodium.streamHeaderBytes
    /// Bytes a chunk's ciphertext adds to its plaintext (1 tag byte + 16 MAC bytes).
    public static let overheadBytes = Sodium.streamOverheadBytes
    public static let keyBytes = Sodium.streamKeyBytes

    public enum Tag: Sendable, Equatable { case message, final, other(UInt8) }

    static func tag(_ raw: UInt8) -> Tag {
        raw == Sodium.tagFinal ? .final : raw == Sodium.tagMessage ? .message : .other(raw)
    }
}

public final class SecretStreamPusher {
    private let state: SecretBytes
    public let header: [UInt8]

    public init(key: SecretBytes) throws {
        precondition(key.count == SecretStream.keyBytes)
        let state = try SecretBytes(count: Sodium.streamStateBytes)
        var header = [UInt8](repeating: 0, count: SecretStream.headerBytes)
        try header.withUnsafeMutableBufferPointer { h in
            try Sodium.streamInitPush(state: state.rawPointer, header: h.baseAddress!, key: key.typedPointer)
        }
        self.state = state
        self.header = header
    }

    /// Encrypts `plaintext` into `output`, which must hold plaintext.count + overheadBytes.
    public func push(
        _ plaintext: UnsafeRawBufferPointer, associatedData: UnsafeBufferPointer<UInt8>, final: Bool,
        into output: UnsafeMutableRawBufferPointer
    ) throws {
        precondition(output.count >= plaintext.count + SecretStream.overheadBytes)
        try Sodium.streamPush(
            state: state.rawPointer, output: output.baseAddress!.assumingMemoryBound(to: UInt8.self),
            input: plaintext.baseAddress?.assumingMemoryBound(to: UInt8.self), count: plaintext.count,
            ad: associatedData, tag: final ? Sodium.tagFinal : Sodium.tagMessage)
    }
}

public final class SecretStreamPuller {
    private let state: SecretBytes

    /// Fails (returns nil) only for a header libsodium rejects.
    public init?(key: SecretBytes, header: UnsafeRawBufferPointer) throws {
        precondition(key.count == SecretStream.keyBytes)
        guard header.count == SecretStream.headerBytes else { return nil }
        let state = try SecretBytes(count: Sodium.streamStateBytes)
        self.state = state
        guard Sodium.streamInitPull(
            state: state.rawPointer, header: header.baseAddress!.assumingMemoryBound(to: UInt8.self),
            key: key.typedPointer) else { return nil }
    }

    private init(state: SecretBytes) { self.state = state }

    /// Decrypts one chunk into `output` (ciphertext.count − overheadBytes); nil when it fails
    /// authentication. A failed pull leaves the state unchanged.
    public func pull(
        _ ciphertext: UnsafeRawBufferPointer, associatedData: UnsafeBufferPointer<UInt8>,
        into output: UnsafeMutableRawBufferPointer
    ) -> SecretStream.Tag? {
        guard ciphertext.count >= SecretStream.overheadBytes,
              output.count >= ciphertext.count - SecretStream.overheadBytes else { return nil }
        guard let raw = Sodium.streamPull(
            state: state.rawPointer, output: output.baseAddress!.assumingMemoryBound(to: UInt8.self),
            input: ciphertext.baseAddress!.assumingMemoryBound(to: UInt8.self), count: ciphertext.count,
            ad: associatedData) else { return nil }
        return SecretStream.tag(raw)
    }

    /// An independent copy of the current state (in guarded memory), used to diagnose damage:
    /// whether a chunk that fails here belongs at another position.
    public func copy() throws -> SecretStreamPuller {
        SecretStreamPuller(state: try state.slice(offset: 0, count: state.count))
    }
}
