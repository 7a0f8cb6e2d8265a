import Synchronization

/// Keeps released guarded allocations of the sizes every download needs, for reuse: a data
/// key (32 bytes) and a stream state (52 bytes). `sodium_malloc` maps, protects and locks fresh
/// pages for each, and `sodium_free` unmaps them, and those page-table changes make every core
/// flush its TLB. Reusing the allocations keeps the guard pages and the lock and drops the
/// syscalls.
///
/// A block is zeroed when it comes back, before it can be handed out again, so a pooled block
/// holds no key material while it waits. Its canary (the bytes `sodium_malloc` puts just before
/// it, which `sodium_free` checks for an underflow) is checked on every return: a damaged one
/// is handed to `sodium_free`, which aborts as it always did. Only `sizes` are pooled, at most
/// `capacityPerSize` blocks each, so the locked memory the pool keeps is bounded; if locking
/// new memory fails, the pool gives its blocks back and the allocation is tried again.
final class GuardedMemoryPool: Sendable {
    static let shared = GuardedMemoryPool()

    static let defaultSizes: Set<Int> = [32, 52]
    static let capacityPerSize = 32
    static let canaryBytes = 16

    let sizes: Set<Int>
    /// Free blocks by exact size (a block is reused only for its own size, so its canary and
    /// guard page stay where `sodium_malloc` put them).
    private let free = Mutex<[Int: [Block]]>([:])
    /// The canary of this process's allocations, read from the first one.
    private let canary = Mutex<[UInt8]?>(nil)

    /// A pooled block; owned by the pool while it sits there, and only touched under the mutex.
    private struct Block: @unchecked Sendable { let pointer: UnsafeMutableRawPointer }

    init(sizes: Set<Int> = GuardedMemoryPool.defaultSizes) {
        self.sizes = sizes
    }

    /// Zero-filled guarded memory of `count` bytes: a pooled block or a new one.
    func take(_ count: Int) throws -> UnsafeMutableRawPointer {
        if sizes.contains(count), let block = free.withLock({ $0[count]?.popLast() }) {
            return block.pointer
        }
        let pointer: UnsafeMutableRawPointer
        do {
            pointer = try Sodium.allocate(count)
        } catch KeyManagementError.secureMemoryUnavailable {
            // The locked-memory limit may be taken by pooled blocks: give them back and retry.
            drain()
            pointer = try Sodium.allocate(count)
        }
        if sizes.contains(count) { canary.withLock { if $0 == nil { $0 = Self.canaryBefore(pointer) } } }
        return pointer
    }

    /// Zeroes the block, then keeps it for reuse or frees it.
    func give(_ pointer: UnsafeMutableRawPointer, count: Int) {
        Sodium.zero(pointer, count: max(count, 1))
        if sizes.contains(count), let expected = canary.withLock({ $0 }), Self.canaryBefore(pointer) == expected {
            let kept = free.withLock { blocks -> Bool in
                guard (blocks[count]?.count ?? 0) < Self.capacityPerSize else { return false }
                blocks[count, default: []].append(Block(pointer: pointer))
                return true
            }
            if kept { return }
        }
        Sodium.release(pointer, count: count)
    }

    /// Frees every pooled block.
    func drain() {
        let blocks = free.withLock { blocks -> [(Int, [Block])] in
            defer { blocks = [:] }
            return blocks.map { ($0.key, $0.value) }
        }
        for (count, list) in blocks { for block in list { Sodium.release(block.pointer, count: count) } }
    }

    static func canaryBefore(_ pointer: UnsafeMutableRawPointer) -> [UInt8] {
        Array(UnsafeRawBufferPointer(start: pointer - canaryBytes, count: canaryBytes))
    }

    /// How many blocks of `count` bytes wait for reuse (tests).
    func pooledCount(of count: Int) -> Int { free.withLock { $0[count]?.count ?? 0 } }

    /// How many blocks wait for reuse in all (tests).
    var pooledTotal: Int { free.withLock { $0.values.reduce(0) { $0 + $1.count } } }
}
