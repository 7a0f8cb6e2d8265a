import XCTest
@testable import KeyManagement

/// Reused guarded memory must never carry one key into the next holder of the block, and the
/// locked memory the pool keeps must stay bounded. Most tests have their own pool.
final class GuardedMemoryPoolTests: XCTestCase {
    func testAReleasedKeyIsZeroedBeforeItsBlockIsHandedOutAgain() throws {
        let pool = GuardedMemoryPool()
        let block = try pool.take(32)
        block.initializeMemory(as: UInt8.self, repeating: 0xA5, count: 32)
        pool.give(block, count: 32)
        XCTAssertEqual(pool.pooledCount(of: 32), 1, "the released block was not kept for reuse")

        let again = try pool.take(32)
        XCTAssertEqual(again, block, "the pool did not hand the block back")
        XCTAssertEqual(Array(UnsafeRawBufferPointer(start: again, count: 32)), [UInt8](repeating: 0, count: 32))
        pool.give(again, count: 32)
    }

    func testABlockIsReusedOnlyForItsOwnSize() throws {
        let pool = GuardedMemoryPool()
        let block = try pool.take(32)
        pool.give(block, count: 32)
        let other = try pool.take(52)
        XCTAssertNotEqual(other, block)
        XCTAssertEqual(pool.pooledCount(of: 32), 1)
        pool.give(other, count: 52)
    }

    func testThePoolKeepsAtMostItsCapacityPerSizeAndFreesTheRest() throws {
        let pool = GuardedMemoryPool()
        let blocks = try (0..<(GuardedMemoryPool.capacityPerSize + 10)).map { _ in try pool.take(32) }
        XCTAssertEqual(Set(blocks).count, blocks.count, "two live secrets share a block")
        for block in blocks { pool.give(block, count: 32) }
        XCTAssertEqual(pool.pooledCount(of: 32), GuardedMemoryPool.capacityPerSize)
    }

    /// Only the sizes it is for: secrets of other sizes (a passphrase, a sealed draft) go back
    /// to libsodium and cannot crowd the pool.
    func testOnlyItsOwnSizesArePooled() throws {
        let pool = GuardedMemoryPool()
        for size in [16, 33, 64, 200, 4096] { pool.give(try pool.take(size), count: size) }
        XCTAssertEqual(pool.pooledTotal, 0)
        pool.give(try pool.take(52), count: 52)
        XCTAssertEqual(pool.pooledTotal, 1)
        pool.drain()
        XCTAssertEqual(pool.pooledTotal, 0)
    }

    func testSecretBytesGoBackToTheSharedPool() throws {
        let shared = GuardedMemoryPool.shared
        var secret: SecretBytes? = try SecretBytes.random(count: 32)
        let whileHeld = shared.pooledCount(of: 32)
        secret = nil
        XCTAssertNil(secret)
        XCTAssertEqual(shared.pooledCount(of: 32), whileHeld + 1, "the released key's block was not returned to the pool")
    }
}
