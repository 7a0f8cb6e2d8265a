import Foundation
import KeyManagement
import SignIn
import Storage

/// Sign-in's challenges and guess counts in the PostgreSQL catalog, shared by every node, so a
/// passkey ceremony begun through one node finishes through another, and a wrong guess counts
/// the same through any of them (docs/storage-postgres.md, "Sign-in state").
struct SharedChallengeSlots: ChallengeSlots {
    let catalog: PostgresCatalog

    func put(_ challenge: [UInt8], for context: String, expires: Date, now: Date, capacity: Int) throws {
        guard try catalog.putChallenge(challenge, context: context, expiresMillis: expires.millis,
                                       nowMillis: now.millis, capacity: capacity) else {
            throw SignInError.tooManyOutstandingChallenges
        }
    }

    func take(for context: String, now: Date) throws -> [UInt8]? {
        try catalog.takeChallenge(context: context, nowMillis: now.millis)
    }

    func sweep(now: Date) throws {
        try catalog.sweepChallenges(nowMillis: now.millis)
    }
}

/// Guess counts keyed by a hash of the name or address tried, so the table does not list
/// what people typed into the name field.
struct SharedFailureCounts: FailureCounts {
    let catalog: PostgresCatalog
    let vaultID: String

    func counts(_ keys: [String]) throws -> [String: FailureCount] {
        let hashed = keys.map(hash)
        let found = try catalog.failureCounts(keys: hashed)
        var counts: [String: FailureCount] = [:]
        for (key, digest) in zip(keys, hashed) {
            if let count = found[digest] { counts[key] = FailureCount(failures: count.failures, last: Date(millis: count.lastMillis)) }
        }
        return counts
    }

    func add(_ keys: [String], at time: Date) throws {
        try catalog.addFailure(keys: keys.map(hash), atMillis: time.millis)
    }

    func clear(_ key: String) throws {
        try catalog.clearFailures(key: hash(key))
    }

    func sweep(forgetBefore: Date, capacity: Int) throws {
        try catalog.sweepFailures(forgetBeforeMillis: forgetBefore.millis, capacity: capacity)
    }

    private func hash(_ key: String) -> Data {
        var binding = Binding(label: "strongroom/v1/sign-in-throttle")
        binding.append(vaultID)
        binding.append(key)
        return Data(SHA256Hasher.hash(binding.bytes))
    }
}

extension Date {
    var millis: Int64 { Int64((timeIntervalSince1970 * 1000).rounded(.down)) }
}
