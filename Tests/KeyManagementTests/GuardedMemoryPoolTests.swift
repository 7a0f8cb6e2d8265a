import XCTest
@testable import KeyManagement

/// Reused guarded memory must never carry one key into the next holder of the block, and the
/// locked memory the pool keeps must stay bounded. Each test has its own pool.
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

    func testThePoolKeepsAtMostItsTotalCapacityAcrossSizes() throws {
        let pool = GuardedMemoryPool()
        for size in 100..<(100 + GuardedMemoryPool.capacity / GuardedMemoryPool.capacityPerSize + 2) {
            let blocks = try (0..<GuardedMemoryPool.capacityPerSize).map { _ in try pool.take(size) }
            for block in blocks { pool.give(block, count: size) }
        }
        XCTAssertEqual(pool.pooledTotal, GuardedMemoryPool.capacity)
        XCTAssertEqual(pool.pooledCount(of: 100 + GuardedMemoryPool.capacity / GuardedMemoryPool.capacityPerSize), 0,
                       "sizes past the capacity found the pool full")
    }

    func testLargeSecretsAreNotPooled() throws {
        let pool = GuardedMemoryPool()
        let big = GuardedMemoryPool.maxPooledSize + 1
        pool.give(try pool.take(big), count: big)
        XCTAssertEqual(pool.pooledTotal, 0)
    }

    func testSecretBytesComeFromThePoolZeroed() throws {
        let size = 41  // a size no other code uses
        var first: SecretBytes? = try SecretBytes.random(count: size)
        let address = first!.withUnsafeBytes { $0.baseAddress }
        first = nil
        let next = try SecretBytes(count: size)
        XCTAssertEqual(next.withUnsafeBytes { $0.baseAddress }, address, "SecretBytes did not go back to the pool")
        XCTAssertEqual(next.withUnsafeBytes { Array($0) }, [UInt8](repeating: 0, count: size))
    }
}
