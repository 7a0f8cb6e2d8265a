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
/// every server process shares, so a ceremony begun on one node can finish on another.
///
/// A ceremony anyone may begin (a passkey sign-in) names its `source`, the client's address:
/// at most `perSource` of those are outstanding from one source and `capacity` from all, so
/// unauthenticated requests cannot grow the store without bound, and one client cannot fill it
/// for everyone. A ceremony of a session or an enrolment link names none: it replaces its own
/// challenge, so it is bounded by the sessions and links there are, and a flood of sign-in
/// ceremonies never crowds it out.
public final class ChallengeStore: Sendable {
    public static let challengeLength = 32

    public let lifetime: TimeInterval
    public let capacity: Int
    public let perSource: Int
    private let slots: any ChallengeSlots
    private let now: @Sendable () -> Date

    /// `now` is the clock (injected so tests move time instead of waiting).
    public init(slots: any ChallengeSlots = MemoryChallengeSlots(), lifetime: TimeInterval = 300, capacity: Int = 10_000,
                perSource: Int = 20, now: @escaping @Sendable () -> Date = { Date() }) {
        self.slots = slots
        self.lifetime = lifetime
        self.capacity = capacity
        self.perSource = perSource
        self.now = now
    }

    /// A new challenge for `context`; `source` as above. Throws
    /// `SignInError.tooManyOutstandingChallenges` when `source` or all sources hold their most.
    public func issue(for context: String, source: String? = nil) throws -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        let challenge = (0..<Self.challengeLength).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let time = now()
        try slots.put(challenge, for: context, source: source, expires: time.addingTimeInterval(lifetime), now: time,
                      capacity: capacity, perSource: perSource)
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
    /// Keeps `challenge` for `context` until `expires`, replacing any it held. With a `source`,
    /// throws `SignInError.tooManyOutstandingChallenges` when, besides `context`'s own, `source`
    /// has `perSource` challenges unexpired at `now`, or all sources `capacity`.
    func put(_ challenge: [UInt8], for context: String, source: String?, expires: Date, now: Date, capacity: Int, perSource: Int) throws
    /// Removes the challenge for `context` and returns it, if it had not expired at `now`.
    func take(for context: String, now: Date) throws -> [UInt8]?
    /// Removes the challenges expired at `now`.
    func sweep(now: Date) throws
}

/// Challenges in this process's memory: enough for one process.
public final class MemoryChallengeSlots: ChallengeSlots, @unchecked Sendable {
    private struct Entry {
        var challenge: [UInt8]
        var expires: Date
        var source: String?
    }

    private let lock = NSLock()
    private var entries: [String: Entry] = [:]
    /// Entries naming a source, by source, and in all: kept with `entries`.
    private var bySource: [String: Int] = [:]
    private var withSource = 0

    public init() {}

    public func put(_ challenge: [UInt8], for context: String, source: String?, expires: Date, now: Date,
                    capacity: Int, perSource: Int) throws {
        try lock.withLock {
            if let source {
                func full() -> Bool {
                    let own = entries[context]?.source
                    let everyone = withSource - (own != nil ? 1 : 0)
                    let mine = bySource[source, default: 0] - (own == source ? 1 : 0)
                    return everyone >= capacity || mine >= perSource
                }
                if full() {
                    for (key, entry) in entries where entry.expires <= now { remove(key) }
                    guard !full() else { throw SignInError.tooManyOutstandingChallenges }
                }
            }
            remove(context)
            entries[context] = Entry(challenge: challenge, expires: expires, source: source)
            if let source {
                bySource[source, default: 0] += 1
                withSource += 1
            }
        }
    }

    public func take(for context: String, now: Date) -> [UInt8]? {
        lock.withLock {
            guard let entry = remove(context), entry.expires > now else { return nil }
            return entry.challenge
        }
    }

    public func sweep(now: Date) {
        lock.withLock { for (key, entry) in entries where entry.expires <= now { remove(key) } }
    }

    @discardableResult
    private func remove(_ context: String) -> Entry? {
        guard let entry = entries.removeValue(forKey: context) else { return nil }
        if let source = entry.source {
            withSource -= 1
            bySource[source, default: 1] -= 1
            if bySource[source] == 0 { bySource[source] = nil }
        }
        return entry
    }
}
