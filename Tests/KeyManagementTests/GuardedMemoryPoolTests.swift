import XCTest
@testable import KeyManagement

/// Reused guarded memory must never carry one key into the next holder of the block.
final class GuardedMemoryPoolTests: XCTestCase {
    /// An unusual size, so no other test's keys share the bucket.
    let size = 41

    func testAReleasedKeyIsZeroedBeforeItsBlockIsHandedOutAgain() throws {
        var first: SecretBytes? = try SecretBytes(count: size)
        first!.withUnsafeMutableBytes { $0.initializeMemory(as: UInt8.self, repeating: 0xA5) }
        let address = first!.withUnsafeBytes { $0.baseAddress }
        first = nil

        let pool = GuardedMemoryPool.shared
        XCTAssertGreaterThanOrEqual(pool.pooledCount(of: size), 1, "the released block was not kept for reuse")
        // Look at the pooled block directly: it holds zeros while it waits.
        let next = try SecretBytes(count: size)
        XCTAssertEqual(next.withUnsafeBytes { $0.baseAddress }, address, "the pool did not hand the block back")
        XCTAssertEqual(next.withUnsafeBytes { Array($0) }, [UInt8](repeating: 0, count: size))
    }

    func testThePoolKeepsAtMostItsCapacityAndFreesTheRest() throws {
        let size = self.size + 1
        func holdMany() throws {
            let many = try (0..<(GuardedMemoryPool.capacityPerSize + 10)).map { _ in try SecretBytes.random(count: size) }
            XCTAssertEqual(Set(many.map { $0.withUnsafeBytes { $0.baseAddress } }).count, many.count, "two live secrets share a block")
        }
        try holdMany()
        XCTAssertEqual(GuardedMemoryPool.shared.pooledCount(of: size), GuardedMemoryPool.capacityPerSize)
    }

    func testLargeSecretsAreNotPooled() throws {
        let big = GuardedMemoryPool.maxPooledSize + 1
        var secret: SecretBytes? = try SecretBytes.random(count: big)
        _ = secret?.count
        secret = nil
        XCTAssertEqual(GuardedMemoryPool.shared.pooledCount(of: big), 0)
    }
}
