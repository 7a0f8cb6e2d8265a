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
        XCTAssertTrue(try nodes[0].putChallenge(challenge, context: "sign-in:c1", source: "s", expiresMillis: 2_000, nowMillis: 1_000, capacity: 10, perSource: 5))
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

    func put(_ node: PostgresCatalog, _ context: String, source: String?, expires: Int64 = 2_000, now: Int64 = 1_000,
             capacity: Int = 2, perSource: Int = 2) throws -> Bool {
        try node.putChallenge([1, 2, 3], context: context, source: source, expiresMillis: expires, nowMillis: now, capacity: capacity, perSource: perSource)
    }

    func testAnExpiredChallengeIsRefusedAndSweptAndReplacingOneNeedsNoRoom() throws {
        let node = try nodes(1)[0]
        XCTAssertTrue(try put(node, "a", source: "s1"))
        XCTAssertTrue(try put(node, "b", source: "s2"))
        XCTAssertFalse(try put(node, "c", source: "s3"), "full")
        XCTAssertTrue(try put(node, "a", source: "s1"), "a replacement")
        XCTAssertTrue(try put(node, "step-up:x", source: nil), "a session's ceremony is not crowded out")
        XCTAssertNil(try node.takeChallenge(context: "b", nowMillis: 2_000), "expired at 2000")
        XCTAssertTrue(try put(node, "c", source: "s3", expires: 3_000, now: 2_000), "expired ones make room")
        try node.sweepChallenges(nowMillis: 3_000)
        XCTAssertNil(try node.takeChallenge(context: "c", nowMillis: 2_500), "swept")
    }

    func testOneSourceCannotTakeEveryoneElsesRoom() throws {
        let node = try nodes(1)[0]
        for i in 0..<3 { XCTAssertTrue(try put(node, "f\(i)", source: "flood", capacity: 100, perSource: 3)) }
        XCTAssertFalse(try put(node, "f3", source: "flood", capacity: 100, perSource: 3))
        XCTAssertTrue(try put(node, "f0", source: "flood", capacity: 100, perSource: 3), "its own again")
        XCTAssertTrue(try put(node, "other", source: "someone", capacity: 100, perSource: 3))
    }

    /// `reserveAttempt` as the throttle uses it: go ahead while fewer than `free` failures and
    /// no attempt under way on the claimed key.
    static func attempt(_ node: PostgresCatalog, _ keys: [Data], claim: Data?, free: Int = 3, at millis: Int64 = 1_000) throws -> Bool {
        try node.reserveAttempt(keys: keys, claim: claim, atMillis: millis, pendingSinceMillis: millis - 120_000) { counts in
            counts.values.contains { $0.failures >= free || $0.underWay } ? 1 : nil
        } == nil
    }

    func rows(_ node: PostgresCatalog) throws -> Int {
        Int(try database.psql("SELECT count(*) FROM sign_in_failures")) ?? -1
    }

    func testOfAttemptsForOneNameBegunOnManyNodesAtOnceOneGoesAhead() throws {
        let nodes = try nodes(3)
        let name = Data("n-hash".utf8), address = Data("a-hash".utf8)
        let allowed = Counter(), failed = Counter()
        DispatchQueue.concurrentPerform(iterations: 30) { i in
            do { if try Self.attempt(nodes[i % nodes.count], [name, address], claim: name) { allowed.add() } } catch { failed.add() }
        }
        XCTAssertEqual(failed.value, 0)
        XCTAssertEqual(allowed.value, 1, "the name is held by the first; the rest wait")
        try nodes[1].failAttempt(keys: [name, address], release: name, atMillis: 1_001)
        XCTAssertTrue(try Self.attempt(nodes[2], [name, address], claim: name), "released by its failure")
        try nodes[0].clearFailures(key: name)
        XCTAssertTrue(try Self.attempt(nodes[0], [name, address], claim: name), "cleared by a success")
    }

    func testAnAttemptThatNeverEndsHoldsItsNameForTwoMinutesOnly() throws {
        let node = try nodes(1)[0]
        let name = Data("n".utf8)
        XCTAssertTrue(try Self.attempt(node, [name], claim: name, at: 1_000))
        XCTAssertFalse(try Self.attempt(node, [name], claim: name, at: 100_000))
        XCTAssertTrue(try Self.attempt(node, [name], claim: name, at: 121_001), "begun over two minutes ago: no longer under way")
    }

    func testARefusedAttemptLeavesNoRowBehind() throws {
        let node = try nodes(1)[0]
        let address = Data("busy school".utf8)
        for i in 0..<20 { try node.failAttempt(keys: [address], release: nil, atMillis: Int64(1_000 + i)) }
        for i in 0..<50 {
            XCTAssertFalse(try Self.attempt(node, [Data("name \(i)".utf8), address], claim: Data("name \(i)".utf8), free: 20, at: 1_500))
        }
        XCTAssertEqual(try rows(node), 1, "fifty new names refused: the address's row alone")
    }

    func testOldCountsAreForgottenAndTheRestKeptWithinCapacity() throws {
        let node = try nodes(1)[0]
        for i in 0..<10 { try node.failAttempt(keys: [Data([UInt8(i)])], release: nil, atMillis: Int64(i * 100)) }
        try node.sweepFailures(forgetBeforeMillis: 200, capacity: 5)
        let left = try database.psql("SELECT string_agg(encode(key, 'hex'), ',' ORDER BY key) FROM sign_in_failures")
        XCTAssertEqual(left, (5..<10).map { String(format: "%02x", $0) }.joined(separator: ","), "two too old, then the oldest three beyond five")
    }

    func testATransactionPostgresChoseToRollBackInADeadlockIsA503NotA500() throws {
        let nodes = try nodes(2)
        for key in [Data([1]), Data([2])] { try nodes[0].failAttempt(keys: [key], release: nil, atMillis: 1) }
        // Two transactions locking the same two rows in opposite orders: PostgreSQL rolls one back.
        let outcomes = Outcomes()
        DispatchQueue.concurrentPerform(iterations: 2) { i in
            let (first, second) = i == 0 ? (Data([1]), Data([2])) : (Data([2]), Data([1]))
            do {
                try nodes[i].guarded {
                    try nodes[i].scratchWrite { sql in
                        try sql.execute("UPDATE sign_in_failures SET failures = failures + 1 WHERE key = ?", [first])
                        Thread.sleep(forTimeInterval: 0.5)
                        try sql.execute("UPDATE sign_in_failures SET failures = failures + 1 WHERE key = ?", [second])
                    }
                }
                outcomes.add("committed")
            } catch StorageError.databaseUnavailable(let why) {
                outcomes.add(why.contains("SQLSTATE 40P01") ? "deadlock, try again" : why)
            } catch {
                outcomes.add("\(error)")
            }
        }
        XCTAssertEqual(outcomes.values.sorted(), ["committed", "deadlock, try again"])
    }

    func testSignInStateIsNotCopiedWithTheCatalog() throws {
        let node = try nodes(1)[0]
        try node.failAttempt(keys: [Data([1])], release: nil, atMillis: 1)
        let counts = try node.read { try CatalogCopy.counts($0) }
        XCTAssertNil(counts["sign_in_failures"])
        XCTAssertNotNil(counts["records"])
    }
}

final class Outcomes: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    func add(_ value: String) { lock.withLock { list.append(value) } }
    var values: [String] { lock.withLock { list } }
}
