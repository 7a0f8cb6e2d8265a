import Foundation
import TestSupport
import XCTest
@testable import KeyManagement
@testable import Storage

/// Sign-in's challenges and guess counts as every node sees them in PostgreSQL: a challenge is
/// taken once however many nodes race for it, counts add up across nodes, and both stay bounded.
final class PostgresSignInStateTests: XCTestCase {
    var database: PostgresTestDatabase!
    var opened: [PostgresCatalog] = []
    let vaultID = "vault-" + UUID().uuidString.prefix(8)

    override func setUpWithError() throws {
        database = try PostgresTestDatabase()
    }

    override func tearDownWithError() throws {
        for catalog in opened { catalog.close() }
        database?.drop()
    }

    func nodes(_ n: Int) throws -> [PostgresCatalog] {
        let first = try PostgresCatalog.create(location: database.location, password: database.password, vaultID: vaultID)
        opened.append(first)
        for _ in 1..<n {
            opened.append(try PostgresCatalog.open(location: database.location, password: database.password, vaultID: vaultID))
        }
        return opened
    }

    func testAChallengeIssuedOnOneNodeIsTakenOnceWhicheverNodesRaceForIt() throws {
        let nodes = try nodes(4)
        let challenge = [UInt8](repeating: 7, count: 32)
        XCTAssertTrue(try nodes[0].putChallenge(challenge, context: "sign-in:c1", expiresMillis: 2_000, nowMillis: 1_000, capacity: 10))
        let taken = Counter(), failed = Counter()
        DispatchQueue.concurrentPerform(iterations: 40) { i in
            do {
                if let got = try nodes[i % nodes.count].takeChallenge(context: "sign-in:c1", nowMillis: 1_500) {
                    XCTAssertEqual(got, challenge)
                    taken.add()
                }
            } catch {
                failed.add()
            }
        }
        XCTAssertEqual(failed.value, 0)
        XCTAssertEqual(taken.value, 1, "one of forty takers gets it")
    }

    func testAnExpiredChallengeIsRefusedAndSweptAndReplacingOneNeedsNoRoom() throws {
        let node = try nodes(1)[0]
        XCTAssertTrue(try node.putChallenge([1], context: "a", expiresMillis: 2_000, nowMillis: 1_000, capacity: 2))
        XCTAssertTrue(try node.putChallenge([2], context: "b", expiresMillis: 2_000, nowMillis: 1_000, capacity: 2))
        XCTAssertFalse(try node.putChallenge([3], context: "c", expiresMillis: 2_000, nowMillis: 1_000, capacity: 2), "full")
        XCTAssertTrue(try node.putChallenge([4], context: "a", expiresMillis: 2_000, nowMillis: 1_000, capacity: 2), "a replacement")
        XCTAssertNil(try node.takeChallenge(context: "b", nowMillis: 2_000), "expired at 2000")
        XCTAssertTrue(try node.putChallenge([5], context: "c", expiresMillis: 3_000, nowMillis: 2_000, capacity: 2), "expired ones make room")
        try node.sweepChallenges(nowMillis: 3_000)
        XCTAssertNil(try node.takeChallenge(context: "c", nowMillis: 2_500), "swept")
    }

    func testFailuresCountedOnManyNodesAtOnceAllCount() throws {
        let nodes = try nodes(3)
        let name = Data("n-hash".utf8), address = Data("a-hash".utf8)
        let failed = Counter()
        DispatchQueue.concurrentPerform(iterations: 30) { i in
            do { try nodes[i % nodes.count].addFailure(keys: [name, address], atMillis: Int64(1_000 + i)) } catch { failed.add() }
        }
        XCTAssertEqual(failed.value, 0)
        let counts = try nodes[1].failureCounts(keys: [name, address, Data("other".utf8)])
        XCTAssertEqual(counts[name]?.failures, 30)
        XCTAssertEqual(counts[address]?.failures, 30)
        XCTAssertEqual(counts[name]?.lastMillis, 1_029, "the latest failure, whatever order they landed in")
        XCTAssertNil(counts[Data("other".utf8)])
        try nodes[2].clearFailures(key: name)
        XCTAssertNil(try nodes[0].failureCounts(keys: [name])[name])
    }

    func testOldCountsAreForgottenAndTheRestKeptWithinCapacity() throws {
        let node = try nodes(1)[0]
        for i in 0..<10 { try node.addFailure(keys: [Data([UInt8(i)])], atMillis: Int64(i * 100)) }
        try node.sweepFailures(forgetBeforeMillis: 200, capacity: 5)
        let left = try node.failureCounts(keys: (0..<10).map { Data([UInt8($0)]) })
        XCTAssertEqual(Set(left.keys), Set((5..<10).map { Data([UInt8($0)]) }), "two too old, then the oldest three beyond five")
    }

    func testSignInStateIsNotCopiedWithTheCatalog() throws {
        let node = try nodes(1)[0]
        try node.addFailure(keys: [Data([1])], atMillis: 1)
        let counts = try node.read { try CatalogCopy.counts($0) }
        XCTAssertNil(counts["sign_in_failures"])
        XCTAssertNotNil(counts["records"])
    }
}
