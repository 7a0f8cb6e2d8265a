import Foundation
import XCTest
@testable import SignIn

/// Challenges are random, single use, expire, are kept one per context and are bounded in number.
final class ChallengeStoreTests: XCTestCase {
    final class Clock: @unchecked Sendable {
        var now = Date(timeIntervalSince1970: 1_700_000_000)
    }

    func testAChallengeIsTakenOnceAndIsFreshEachTime() throws {
        let store = ChallengeStore()
        let a = try store.issue(for: "x"), b = try store.issue(for: "y")
        XCTAssertEqual(a.count, 32)
        XCTAssertNotEqual(a, b)
        XCTAssertEqual(try store.take(for: "x"), a)
        XCTAssertNil(try store.take(for: "x"))
        XCTAssertEqual(try store.take(for: "y"), b)
        XCTAssertNil(try store.take(for: "never issued"))
    }

    func testIssuingAgainReplacesTheOutstandingChallenge() throws {
        let store = ChallengeStore()
        _ = try store.issue(for: "x")
        let second = try store.issue(for: "x")
        XCTAssertEqual(try store.take(for: "x"), second)
    }

    func testAnExpiredChallengeIsGone() throws {
        let clock = Clock()
        let store = ChallengeStore(lifetime: 300, now: { clock.now })
        _ = try store.issue(for: "x")
        clock.now += 299
        let fresh = try store.issue(for: "y")
        clock.now += 1
        XCTAssertNil(try store.take(for: "x"), "300 s after issue it has expired")
        XCTAssertEqual(try store.take(for: "y"), fresh)
    }

    func testTheStoreIsBoundedAndMakesRoomOnlyFromExpiredChallenges() throws {
        let clock = Clock()
        let store = ChallengeStore(lifetime: 60, capacity: 3, perSource: 3, now: { clock.now })
        for (context, source) in [("a", "s1"), ("b", "s2"), ("c", "s3")] { _ = try store.issue(for: context, source: source) }
        XCTAssertThrowsError(try store.issue(for: "d", source: "s4")) { XCTAssertEqual($0 as? SignInError, .tooManyOutstandingChallenges) }
        XCTAssertNoThrow(try store.issue(for: "a", source: "s1"), "replacing an outstanding one needs no room")
        XCTAssertNoThrow(try store.issue(for: "step-up", source: nil), "a session's ceremony is not crowded out")
        clock.now += 61
        XCTAssertNoThrow(try store.issue(for: "d", source: "s4"), "expired ones make room")
        XCTAssertNil(try store.take(for: "b"))
        XCTAssertNotNil(try store.take(for: "d"))
    }

    func testOneSourceCannotTakeEveryoneElsesRoom() throws {
        let store = ChallengeStore(capacity: 100, perSource: 5)
        for i in 0..<5 { _ = try store.issue(for: "flood-\(i)", source: "198.51.100.7") }
        XCTAssertThrowsError(try store.issue(for: "flood-5", source: "198.51.100.7")) {
            XCTAssertEqual($0 as? SignInError, .tooManyOutstandingChallenges)
        }
        XCTAssertNoThrow(try store.issue(for: "flood-0", source: "198.51.100.7"), "its own again replaces it")
        XCTAssertNoThrow(try store.issue(for: "someone", source: "203.0.113.1"))
        _ = try store.take(for: "flood-1")
        XCTAssertNoThrow(try store.issue(for: "flood-5", source: "198.51.100.7"), "a finished ceremony gives its room back")
    }
}
