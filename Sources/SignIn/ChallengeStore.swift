import Foundation

/// Single-use, expiring WebAuthn challenges, one outstanding per context (a context names one
/// ceremony for one party, such as "register:" + user id or a pre-session id).
///
///     let challenge = try store.issue(for: context)      // put it in the creation/request options
///     ...
///     guard let expected = try store.take(for: context) else { /* expired or never issued */ }
///     let record = try verifier.verifyAuthentication(..., expectedChallenge: expected, ...)
///
/// `take` removes the challenge whether or not the verification that follows succeeds, so a
/// challenge can be tried once. Issuing again for a context replaces its challenge. Challenges
/// are 32 bytes from the system CSPRNG (getrandom on Linux). Where they are kept is the
/// `slots`: this process's memory (`MemoryChallengeSlots`, for one process), or a database
/// every server process shares, so a ceremony begun on one node can finish on another. Either
/// holds at most `capacity` challenges and refuses new ones beyond that once expired ones are
/// gone, so unauthenticated requests cannot grow it without bound.
public final class ChallengeStore: Sendable {
    public static let challengeLength = 32

    public let lifetime: TimeInterval
    public let capacity: Int
    private let slots: any ChallengeSlots
    private let now: @Sendable () -> Date

    /// `now` is the clock (injected so tests move time instead of waiting).
    public init(slots: any ChallengeSlots = MemoryChallengeSlots(), lifetime: TimeInterval = 300, capacity: Int = 10_000,
                now: @escaping @Sendable () -> Date = { Date() }) {
        self.slots = slots
        self.lifetime = lifetime
        self.capacity = capacity
        self.now = now
    }

    public func issue(for context: String) throws -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        let challenge = (0..<Self.challengeLength).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let time = now()
        try slots.put(challenge, for: context, expires: time.addingTimeInterval(lifetime), now: time, capacity: capacity)
        return challenge
    }

    /// The challenge issued for `context`, removed from the store; nil if there is none or it
    /// has expired. Throws only when the slots cannot be reached (a shared database away).
    public func take(for context: String) throws -> [UInt8]? {
        try slots.take(for: context, now: now())
    }

    /// Forgets expired challenges (slots that do not do so themselves when full).
    public func sweep() throws {
        try slots.sweep(now: now())
    }
}

/// Where a `ChallengeStore` keeps its challenges. `take` must be atomic: of two takers of one
/// context, at most one gets the challenge.
public protocol ChallengeSlots: Sendable {
    /// Keeps `challenge` for `context` until `expires`, replacing any it held. When `context`
    /// holds none and `capacity` challenges are outstanding at `now`, throws
    /// `SignInError.tooManyOutstandingChallenges`.
    func put(_ challenge: [UInt8], for context: String, expires: Date, now: Date, capacity: Int) throws
    /// Removes the challenge for `context` and returns it, if it had not expired at `now`.
    func take(for context: String, now: Date) throws -> [UInt8]?
    /// Removes the challenges expired at `now`.
    func sweep(now: Date) throws
}

/// Challenges in this process's memory: enough for one process.
public final class MemoryChallengeSlots: ChallengeSlots, @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [String: (challenge: [UInt8], expires: Date)] = [:]

    public init() {}

    public func put(_ challenge: [UInt8], for context: String, expires: Date, now: Date, capacity: Int) throws {
        try lock.withLock {
            if entries[context] == nil, entries.count >= capacity {
                entries = entries.filter { $0.value.expires > now }
                guard entries.count < capacity else { throw SignInError.tooManyOutstandingChallenges }
            }
            entries[context] = (challenge, expires)
        }
    }

    public func take(for context: String, now: Date) -> [UInt8]? {
        lock.withLock {
            guard let entry = entries.removeValue(forKey: context), entry.expires > now else { return nil }
            return entry.challenge
        }
    }

    public func sweep(now: Date) {
        lock.withLock { entries = entries.filter { $0.value.expires > now } }
    }
}
