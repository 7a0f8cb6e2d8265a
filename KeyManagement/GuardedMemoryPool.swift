import Synchronization

/// Keeps released guarded allocations of small sizes for reuse. Every download needs a data key
/// (32 bytes) and a stream state (52 bytes) in guarded memory; `sodium_malloc` maps, protects
/// and locks fresh pages for each, and `sodium_free` unmaps them, and those page-table changes
/// make every core flush its TLB. Reusing the allocations keeps the guard pages and the lock
/// and drops the syscalls.
///
/// A block is zeroed when it comes back, before it can be handed out again, so a pooled block
/// holds no key material while it waits. The pool is bounded, so the locked memory it keeps is
/// too (at most `capacity` blocks of a page or two): past `capacityPerSize` blocks of one size,
/// `capacity` blocks in all, or above `maxPooledSize` bytes, a block is freed as before.
final class GuardedMemoryPool: Sendable {
    static let shared = GuardedMemoryPool()

    static let maxPooledSize = 256
    static let capacityPerSize = 32
    static let capacity = 128

    /// Free blocks by exact size (a block is reused only for its own size, so its canary and
    /// guard page stay where `sodium_malloc` put them).
    private let free = Mutex<(bySize: [Int: [Block]], total: Int)>(([:], 0))

    /// A pooled block; owned by the pool while it sits there, and only touched under the mutex.
    private struct Block: @unchecked Sendable { let pointer: UnsafeMutableRawPointer }

    /// Zero-filled guarded memory of `count` bytes: a pooled block or a new one.
    func take(_ count: Int) throws -> UnsafeMutableRawPointer {
        if count <= Self.maxPooledSize,
           let block = free.withLock({ pool -> Block? in
               guard let block = pool.bySize[count]?.popLast() else { return nil }
               pool.total -= 1
               return block
           }) {
            return block.pointer
        }
        return try Sodium.allocate(count)
    }

    /// Zeroes the block, then keeps it for reuse or frees it.
    func give(_ pointer: UnsafeMutableRawPointer, count: Int) {
        Sodium.zero(pointer, count: max(count, 1))
        if count <= Self.maxPooledSize {
            let kept = free.withLock { pool -> Bool in
                guard pool.total < Self.capacity, (pool.bySize[count]?.count ?? 0) < Self.capacityPerSize else { return false }
                pool.bySize[count, default: []].append(Block(pointer: pointer))
                pool.total += 1
                return true
            }
            if kept { return }
        }
        Sodium.release(pointer, count: count)
    }

    /// How many blocks of `count` bytes wait for reuse (tests).
    func pooledCount(of count: Int) -> Int { free.withLock { $0.bySize[count]?.count ?? 0 } }

    /// How many blocks wait for reuse in all (tests).
    var pooledTotal: Int { free.withLock { $0.total } }
}
