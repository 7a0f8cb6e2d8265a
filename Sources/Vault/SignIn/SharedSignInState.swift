import Foundation
import KeyManagement
import SignIn
import Storage

/// Sign-in's challenges and guess counts in the PostgreSQL catalog, shared by every node, so a
/// passkey ceremony begun through one node finishes through another, and a wrong guess counts
/// the same through any of them (docs/storage-postgres.md, "Sign-in state"). Names and
/// addresses are stored as keyed digests (`SignInDigest`): the tables list neither.
struct SharedChallengeSlots: ChallengeSlots {
    let catalog: PostgresCatalog
    let digest: SignInDigest

    func put(_ challenge: [UInt8], for context: String, source: String?, expires: Date, now: Date, capacity: Int, perSource: Int) throws {
        let source = try source.map { Hex.encode(try digest.of("source:" + $0)) }
        guard try catalog.putChallenge(challenge, context: context, source: source, expiresMillis: expires.millis,
                                       nowMillis: now.millis, capacity: capacity, perSource: perSource) else {
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

struct SharedFailureCounts: FailureCounts {
    let catalog: PostgresCatalog
    let digest: SignInDigest

    func reserve(_ keys: [String], claim: String?, at time: Date, pendingSince: Date,
                 decide: ([String: FailureCount]) -> Int?) throws -> Int? {
        let hashed = try keys.map { Data(try digest.of($0)) }
        let claimed = try claim.map { Data(try digest.of($0)) }
        return try catalog.reserveAttempt(keys: hashed, claim: claimed, atMillis: time.millis, pendingSinceMillis: pendingSince.millis) { found in
            var counts: [String: FailureCount] = [:]
            for (key, digest) in zip(keys, hashed) {
                if let count = found[digest] {
                    counts[key] = FailureCount(failures: count.failures, last: Date(millis: count.lastMillis), underWay: count.underWay)
                }
            }
            return decide(counts)
        }
    }

    func fail(_ keys: [String], release: String?, at time: Date) throws {
        try catalog.failAttempt(keys: keys.map { Data(try digest.of($0)) }, release: try release.map { Data(try digest.of($0)) },
                                atMillis: time.millis)
    }

    func clear(_ key: String) throws {
        try catalog.clearFailures(key: Data(try digest.of(key)))
    }

    func sweep(forgetBefore: Date, capacity: Int) throws {
        try catalog.sweepFailures(forgetBeforeMillis: forgetBefore.millis, capacity: capacity)
    }
}

/// What stands in the shared tables for a name or an address: a BLAKE2b keyed with a key
/// derived from the vault's signing key (`KeyStore.keyedDigest`), so whoever reads the
/// database cannot test guesses against it. Every node holds the same key.
struct SignInDigest: Sendable {
    let keys: KeyStore?

    func of(_ text: String) throws -> [UInt8] {
        guard let keys else { throw VaultError.needsMasterKey("signing in needs the master key") }
        return try keys.keyedDigest(Array(text.utf8), purpose: .signInThrottle)
    }
}

extension Date {
    var millis: Int64 { Int64((timeIntervalSince1970 * 1000).rounded(.down)) }
}
