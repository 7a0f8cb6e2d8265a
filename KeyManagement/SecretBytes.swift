/// Secret key material in guarded memory from `sodium_malloc`: locked against swapping,
/// surrounded by guard pages, zeroed when released (and small blocks then reused, still
/// guarded and locked: `GuardedMemoryPool`).
///
/// Deliberately neither `Codable` nor `CustomStringConvertible`, and its mirror is empty, so a
/// key cannot be logged, printed or serialised by accident. Copying bytes out is possible only
/// through `withUnsafeBytes`, and callers in this project copy only into other `SecretBytes`.
public final class SecretBytes: @unchecked Sendable {
    private let pointer: UnsafeMutableRawPointer
    public let count: Int

    /// Zero-filled guarded memory of `count` bytes.
    public init(count: Int) throws {
        self.pointer = try GuardedMemoryPool.shared.take(count)
        self.count = count
    }

    /// Fresh random bytes from the OS CSPRNG (randombytes_buf).
    public static func random(count: Int) throws -> SecretBytes {
        let secret = try SecretBytes(count: count)
        Sodium.randomBytes(into: secret.pointer, count: count)
        return secret
    }

    /// A copy of `count` bytes starting at `offset` of this secret, in new guarded memory.
    public func slice(offset: Int, count: Int) throws -> SecretBytes {
        precondition(offset >= 0 && count >= 0 && offset + count <= self.count)
        let copy = try SecretBytes(count: count)
        copy.pointer.copyMemory(from: pointer + offset, byteCount: count)
        return copy
    }

    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: pointer, count: count))
    }

    public func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeMutableRawBufferPointer(start: pointer, count: count))
    }

    var typedPointer: UnsafeMutablePointer<UInt8> { pointer.assumingMemoryBound(to: UInt8.self) }
    var rawPointer: UnsafeMutableRawPointer { pointer }

    /// Constant-time comparison.
    public func isEqual(to other: SecretBytes) -> Bool {
        count == other.count && Sodium.constantTimeEqual(pointer, other.pointer, count: count)
    }

    /// Overwrites the secret with zeros (the memory stays allocated for reuse).
    public func zero() { Sodium.zero(pointer, count: count) }

    deinit { GuardedMemoryPool.shared.give(pointer, count: count) }
}

extension SecretBytes: CustomReflectable {
    public var customMirror: Mirror { Mirror(self, children: []) }
}

extension Array where Element == UInt8 {
    /// Overwrites the array's bytes with zeros (sodium_memzero, which the compiler keeps): for
    /// plaintext evidence held briefly in ordinary memory, such as a bundle being built.
    public mutating func wipe() {
        withUnsafeMutableBytes { if let base = $0.baseAddress { Sodium.zero(base, count: $0.count) } }
    }
}
