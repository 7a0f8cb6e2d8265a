import KeyManagement

/// The blob format, version 1 (docs/formats.md is the specification; this is its code).
///
///     offset  size  field
///     0       8     magic 89 53 52 42 0D 0A 1A 0A ("\x89SRB\r\n\x1a\n")
///     8       1     format version = 1
///     9       1     log2 of the chunk size = 16 (64 KiB)
///     10      4     big-endian length L of the binding
///     14      L     binding: Binding("strongroom/v1/blob", school id, record id)
///     14+L    24    secretstream header
///     38+L    ...   chunks: each is up to 65,536 plaintext bytes + 17 bytes; all chunks but the
///                   last are full and tagged MESSAGE; the last is tagged FINAL and is followed
///                   by nothing.
///
/// Every chunk's associated data is bytes 0..<14+L (magic to binding), so each chunk repeats the
/// record binding, and any change to the header fails authentication of chunk 0.
public enum BlobFormat {
    public static let magic: [UInt8] = [0x89, 0x53, 0x52, 0x42, 0x0D, 0x0A, 0x1A, 0x0A]
    public static let version: UInt8 = 1
    public static let chunkSizeLog2: UInt8 = 16
    public static let chunkSize = 1 << 16
    public static let encryptedChunkSize = chunkSize + SecretStream.overheadBytes
    static let bindingLabel = "strongroom/v1/blob"
    static let fixedPrefix = 14
    static let maxBindingBytes = 1024

    /// The header bytes that are also every chunk's associated data.
    public static func bindingPrefix(schoolID: String, recordID: String) -> [UInt8] {
        var binding = Binding(label: bindingLabel)
        binding.append(schoolID)
        binding.append(recordID)
        let n = UInt32(binding.bytes.count)
        return magic + [version, chunkSizeLog2,
                        UInt8(n >> 24), UInt8(truncatingIfNeeded: n >> 16), UInt8(truncatingIfNeeded: n >> 8), UInt8(truncatingIfNeeded: n)]
            + binding.bytes
    }

    /// Total blob size for a plaintext of `size` bytes, so damage by length is found without keys.
    public static func ciphertextSize(plaintextSize: Int, schoolID: String, recordID: String) -> Int {
        let chunks = max(1, (plaintextSize + chunkSize - 1) / chunkSize)
        return bindingPrefix(schoolID: schoolID, recordID: recordID).count + SecretStream.headerBytes
            + plaintextSize + chunks * SecretStream.overheadBytes
    }

    struct ParsedHeader {
        var prefix: [UInt8]
        var schoolID: String
        var recordID: String
        var streamHeader: [UInt8]
        var size: Int { prefix.count + streamHeader.count }
    }

    /// Parses the header at the start of `blob`; throws the damage it finds.
    static func parseHeader(_ blob: RandomAccessBlob, record: String) throws -> ParsedHeader {
        func damaged(_ d: BlobDamage) -> StorageError { .blobDamaged(record: record, damage: d) }
        var fixed = [UInt8](repeating: 0, count: fixedPrefix)
        let got = try blob.read(at: 0, into: &fixed)
        if got < magic.count || Array(fixed[0..<magic.count]) != magic {
            throw damaged(got < magic.count && Array(fixed[0..<got]) == Array(magic.prefix(got)) ? .truncated(afterChunk: -1) : .notABlob)
        }
        guard got == fixedPrefix else { throw damaged(.truncated(afterChunk: -1)) }
        guard fixed[8] == version, fixed[9] == chunkSizeLog2 else { throw damaged(.unsupportedVersion(Int(fixed[8]))) }
        let length = Int(fixed[10]) << 24 | Int(fixed[11]) << 16 | Int(fixed[12]) << 8 | Int(fixed[13])
        guard length <= maxBindingBytes else { throw damaged(.notABlob) }
        var rest = [UInt8](repeating: 0, count: length + SecretStream.headerBytes)
        guard try blob.read(at: fixedPrefix, into: &rest) == rest.count else { throw damaged(.truncated(afterChunk: -1)) }
        let bindingBytes = Array(rest[0..<length])
        guard let fields = decodeBinding(bindingBytes), fields.count == 3, fields[0] == bindingLabel else {
            throw damaged(.notABlob)
        }
        return ParsedHeader(
            prefix: fixed + bindingBytes, schoolID: fields[1], recordID: fields[2],
            streamHeader: Array(rest[length...]))
    }

    static func decodeBinding(_ bytes: [UInt8]) -> [String]? {
        var fields: [String] = []
        var i = 0
        while i < bytes.count {
            guard i + 4 <= bytes.count else { return nil }
            let n = Int(bytes[i]) << 24 | Int(bytes[i + 1]) << 16 | Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
            i += 4
            guard n <= bytes.count - i else { return nil }
            guard let s = String(validating: bytes[i..<i + n], as: UTF8.self) else { return nil }
            fields.append(s)
            i += n
        }
        return fields
    }
}

/// A stored blob that can be read at any offset: a local file now, a ranged GET later.
public protocol RandomAccessBlob: AnyObject {
    var size: Int { get }
    /// Reads up to `buffer.count` bytes at `offset`; returns how many were read (0 at the end).
    func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws -> Int
}

extension RandomAccessBlob {
    func read(at offset: Int, into bytes: inout [UInt8]) throws -> Int {
        try bytes.withUnsafeMutableBytes { buffer in
            var total = 0
            while total < buffer.count {
                let n = try read(at: offset + total, into: UnsafeMutableRawBufferPointer(rebasing: buffer[total...]))
                if n == 0 { break }
                total += n
            }
            return total
        }
    }
}

/// Where a blob writer sends ciphertext.
public protocol BlobSink: AnyObject {
    func write(_ bytes: UnsafeRawBufferPointer) throws
}

extension BlobFormat {
    /// The header's binding, read without any key (for verify --no-keys).
    public static func parseHeaderWithoutKeys(_ blob: RandomAccessBlob, record: String) throws -> (schoolID: String, recordID: String, size: Int) {
        let h = try parseHeader(blob, record: record)
        return (h.schoolID, h.recordID, h.size)
    }
}
