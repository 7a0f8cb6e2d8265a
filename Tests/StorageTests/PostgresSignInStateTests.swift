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

    /// `reserveAttempt` as the throttle uses it: go ahead while fewer than `free` failures.
    static func attempt(_ node: PostgresCatalog, _ keys: [Data], free: Int = 3, at millis: Int64 = 1_000) throws -> Bool {
        try node.reserveAttempt(keys: keys, atMillis: millis, pendingSinceMillis: millis - 60_000) { counts in
            counts.values.contains { $0.failures >= free } ? 1 : nil
        } == nil
    }

    func testAttemptsBegunOnManyNodesAtOnceAreCountedBeforeAnyGoesAhead() throws {
        let nodes = try nodes(3)
        let name = Data("n-hash".utf8), address = Data("a-hash".utf8)
        let allowed = Counter(), failed = Counter()
        DispatchQueue.concurrentPerform(iterations: 30) { i in
            do { if try Self.attempt(nodes[i % nodes.count], [name, address]) { allowed.add() } } catch { failed.add() }
        }
        XCTAssertEqual(failed.value, 0)
        XCTAssertEqual(allowed.value, 3, "three of thirty simultaneous guesses go ahead, as many as one at a time")
        // Two fail, one succeeds: the name is cleared, the address keeps its two failures.
        try nodes[0].failAttempt(keys: [name, address], atMillis: 1_001)
        try nodes[1].failAttempt(keys: [name, address], atMillis: 1_002)
        try nodes[2].settleAttempt(clear: name, release: address)
        XCTAssertTrue(try Self.attempt(nodes[2], [name]), "a success clears the name")
        XCTAssertTrue(try Self.attempt(nodes[0], [address], free: 3), "two failures and this attempt")
        XCTAssertFalse(try Self.attempt(nodes[0], [address], free: 3), "two failures and two under way")
    }

    func testAnAttemptThatNeverEndsStopsCountingAfterAMinute() throws {
        let node = try nodes(1)[0]
        let name = Data("n".utf8)
        for _ in 0..<3 { XCTAssertTrue(try Self.attempt(node, [name], at: 1_000)) }
        XCTAssertFalse(try Self.attempt(node, [name], at: 1_500), "three under way: as if three failed when they began")
        XCTAssertTrue(try Self.attempt(node, [name], at: 61_001), "begun over a minute ago: no longer under way")
    }

    func testOldCountsAreForgottenAndTheRestKeptWithinCapacity() throws {
        let node = try nodes(1)[0]
        for i in 0..<10 { try node.failAttempt(keys: [Data([UInt8(i)])], atMillis: Int64(i * 100)) }
        try node.sweepFailures(forgetBeforeMillis: 200, capacity: 5)
        var left: [Data] = []
        _ = try node.reserveAttempt(keys: (0..<10).map { Data([UInt8($0)]) }, atMillis: 5_000, pendingSinceMillis: 0) { counts in
            left = Array(counts.keys)
            return 0
        }
        XCTAssertEqual(Set(left), Set((5..<10).map { Data([UInt8($0)]) }), "two too old, then the oldest three beyond five")
    }

    func testATransactionPostgresChoseToRollBackInADeadlockIsA503NotA500() throws {
        let nodes = try nodes(2)
        for key in [Data([1]), Data([2])] { try nodes[0].failAttempt(keys: [key], atMillis: 1) }
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
        try node.failAttempt(keys: [Data([1])], atMillis: 1)
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
