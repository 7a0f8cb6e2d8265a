import Crypto

/// Incremental BLAKE2b-256 (libsodium generichash): the ciphertext hash recorded for every blob,
/// so a store can be checked for damage without any key.
public final class Blake2b {
    public static let outputBytes = 32
    private let state: UnsafeMutableRawPointer

    public init() {
        state = UnsafeMutableRawPointer.allocate(byteCount: Sodium.blake2bStateBytes, alignment: 64)
        Sodium.blake2bInit(state: state, outputBytes: Self.outputBytes)
    }

    public func update(_ bytes: UnsafeRawBufferPointer) { Sodium.blake2bUpdate(state: state, bytes) }
    public func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { update($0) } }

    /// Call once.
    public func finalize() -> [UInt8] { Sodium.blake2bFinal(state: state, outputBytes: Self.outputBytes) }

    public static func hash(_ bytes: [UInt8]) -> [UInt8] {
        let h = Blake2b()
        h.update(bytes)
        return h.finalize()
    }

    /// BLAKE2b-512 of `bytes` (minisign's prehash).
    public static func hash512(_ bytes: [UInt8]) -> [UInt8] {
        let state = UnsafeMutableRawPointer.allocate(byteCount: Sodium.blake2bStateBytes, alignment: 64)
        defer { state.deallocate() }
        Sodium.blake2bInit(state: state, outputBytes: 64)
        bytes.withUnsafeBytes { Sodium.blake2bUpdate(state: state, $0) }
        return Sodium.blake2bFinal(state: state, outputBytes: 64)
    }

    deinit { state.deallocate() }
}

/// Incremental SHA-256 of plaintext (evidence integrity). swift-crypto's implementation uses the
/// CPU's SHA extensions; libsodium's does not and is six times slower here (PERF-NOTES.md).
public struct SHA256Hasher {
    private var inner = Crypto.SHA256()
    public init() {}
    public mutating func update(_ bytes: UnsafeRawBufferPointer) { inner.update(bufferPointer: bytes) }
    public mutating func update(_ bytes: [UInt8]) { bytes.withUnsafeBytes { inner.update(bufferPointer: $0) } }
    public func finalize() -> [UInt8] { Array(inner.finalize()) }

    public static func hash(_ bytes: [UInt8]) -> [UInt8] {
        var h = SHA256Hasher()
        h.update(bytes)
        return h.finalize()
    }
}

/// Lower-case hexadecimal, used for ids and hashes in metadata and audit events (never for keys).
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    public static func encode<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func decode(_ text: String) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(chars.count / 2)
        var i = 0
        while i < chars.count {
            guard let hi = value(chars[i]), let lo = value(chars[i + 1]) else { return nil }
            out.append(hi << 4 | lo)
            i += 2
        }
        return out
    }

    private static func value(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        default: return nil
        }
    }
}

/// Random bytes that are not secret (ids, nonces, salts).
public func randomPublicBytes(_ count: Int) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: count)
    bytes.withUnsafeMutableBytes { Sodium.randomBytes(into: $0.baseAddress!, count: count) }
    return bytes
}
