import Foundation

/// Single-use, expiring WebAuthn challenges kept in memory, one outstanding per context (a
/// context names one ceremony for one party, such as "register:" + user id or a pre-session id).
///
///     let challenge = try store.issue(for: context)      // put it in the creation/request options
///     ...
///     guard let expected = store.take(for: context) else { /* expired or never issued */ }
///     let record = try verifier.verifyAuthentication(..., expectedChallenge: expected, ...)
///
/// `take` removes the challenge whether or not the verification that follows succeeds, so a
/// challenge can be tried once. Issuing again for a context replaces its challenge. Challenges
/// are 32 bytes from the system CSPRNG (getrandom on Linux). The store holds at most `capacity`
/// challenges, dropping expired ones when it is full and refusing new ones when that is not
/// enough, so unauthenticated requests cannot grow it without bound. In memory only: a server
/// with several processes needs a shared store with the same rules.
public final class ChallengeStore: @unchecked Sendable {
    public static let challengeLength = 32

    public let lifetime: TimeInterval
    public let capacity: Int
    private let now: @Sendable () -> Date
    private let lock = NSLock()
    private var entries: [String: (challenge: [UInt8], expires: Date)] = [:]

    /// `now` is the clock (injected so tests move time instead of waiting).
    public init(lifetime: TimeInterval = 300, capacity: Int = 10_000, now: @escaping @Sendable () -> Date = { Date() }) {
        self.lifetime = lifetime
        self.capacity = capacity
        self.now = now
    }

    public func issue(for context: String) throws -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        let challenge = (0..<Self.challengeLength).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let time = now()
        try lock.withLock {
            if entries[context] == nil, entries.count >= capacity {
                entries = entries.filter { $0.value.expires > time }
                guard entries.count < capacity else { throw SignInError.tooManyOutstandingChallenges }
            }
            entries[context] = (challenge, time.addingTimeInterval(lifetime))
        }
        return challenge
    }

    /// The challenge issued for `context`, removed from the store; nil if there is none or it
    /// has expired.
    public func take(for context: String) -> [UInt8]? {
        let time = now()
        return lock.withLock {
            guard let entry = entries.removeValue(forKey: context), entry.expires > time else { return nil }
            return entry.challenge
        }
    }
}
