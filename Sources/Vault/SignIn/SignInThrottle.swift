import Foundation

/// Slows guessing: after a few failures, each person's name and each client address must wait
/// before the next attempt, twice as long after every further failure, up to `maxDelay`. It
/// never locks anyone out for good: the wait runs out, and a success clears the person's count.
///
/// One attempt per name at a time: `attempt` checks the waits and claims the name in one step,
/// and a second attempt for a name whose first is still under way must wait, so guesses sent
/// all at once, through any number of threads or nodes, are checked one after another. The
/// claim ends with the attempt (`failed`, `succeeded`), or `pendingLifetime` after it began if
/// the attempt ended in neither (an error). An address is never claimed: a school's staff sign
/// in at once from its one address.
///
/// Counts are forgotten a day after their last failure, and at most `capacity` are kept (the
/// oldest go first). Where they are kept is `counts`: this process's memory, or the database
/// every node shares (so guesses count the same through whichever node they come).
final class SignInThrottle: Sendable {
    /// Failures allowed before the first wait.
    static let freeFailures = 3
    /// An address serves many people (a school's one public address): it gets more.
    static let freeFailuresPerAddress = 20
    static let maxDelay: TimeInterval = 300
    static let capacity = 20_000
    static let forgetAfter: TimeInterval = 24 * 60 * 60
    /// Longer than any attempt takes (one Argon2id hash, a few queries, a queue for the hash).
    static let pendingLifetime: TimeInterval = 120

    private let counts: any FailureCounts
    private let clock: @Sendable () -> Date

    init(counts: any FailureCounts = MemoryFailureCounts(), clock: @escaping @Sendable () -> Date) {
        self.counts = counts
        self.clock = clock
    }

    /// Begins an attempt as `name` (nil: no name is claimed, as a passkey's answer names its
    /// own account) from `address`: the seconds to wait first, or nil when the attempt may go
    /// ahead, holding the name until `failed` or `succeeded`.
    func attempt(name: String?, address: String) throws -> Int? {
        let now = clock()
        let keys = Self.keys(name: name, address: address)
        return try counts.reserve(keys.map(\.key), claim: name.map { "n:" + $0 }, at: now,
                                  pendingSince: now.addingTimeInterval(-Self.pendingLifetime)) { found in
            keys.compactMap { key -> Int? in
                guard let count = found[key.key] else { return nil }
                let wait = remaining(count, free: key.free, now: now)
                return count.underWay ? max(1, wait ?? 1) : wait
            }.max()
        }
    }

    /// The attempt begun failed: a failure now against the name and the address, and the name
    /// is free for the next attempt.
    func failed(name: String?, address: String) throws {
        try counts.fail(Self.keys(name: name, address: address).map(\.key), release: name.map { "n:" + $0 }, at: clock())
    }

    /// A person proved who they are: their name's count (and claim) is cleared. The address's
    /// failures stand: one right answer from a place does not excuse its wrong ones.
    func succeeded(name: String) throws {
        try counts.clear("n:" + name)
    }

    /// Forgets old counts (run every minute by the server).
    func sweep() throws {
        let now = clock()
        try counts.sweep(forgetBefore: now.addingTimeInterval(-Self.forgetAfter), capacity: Self.capacity)
    }

    static func delay(failures: Int, free: Int) -> TimeInterval {
        guard failures >= free else { return 0 }
        return min(maxDelay, pow(2, Double(min(failures - free, 20))))
    }

    private static func keys(name: String?, address: String) -> [(key: String, free: Int)] {
        (name.map { [("n:" + $0, freeFailures)] } ?? []) + [("a:" + address, freeFailuresPerAddress)]
    }

    private func remaining(_ count: FailureCount, free: Int, now: Date) -> Int? {
        let left = count.last.addingTimeInterval(Self.delay(failures: count.failures, free: free)).timeIntervalSince(now)
        return left > 0 ? Int(left.rounded(.up)) : nil
    }
}

/// What `decide` is shown for a key: its failures and the last one's time, and whether an
/// attempt holds it (begun since `pendingSince`).
struct FailureCount: Sendable, Equatable {
    var failures: Int
    var last: Date
    var underWay: Bool
}

/// Where a `SignInThrottle` keeps its counts. Each call is one atomic step, whoever else calls
/// at the same moment; a refused attempt leaves nothing behind.
protocol FailureCounts: Sendable {
    /// Reads the counts of `keys` (a key with neither failures nor an attempt under way is
    /// absent) and passes them to `decide`; when it returns nil, marks `claim` (one of `keys`)
    /// as held by an attempt begun at `time`. Returns what `decide` returned.
    func reserve(_ keys: [String], claim: String?, at time: Date, pendingSince: Date,
                 decide: ([String: FailureCount]) -> Int?) throws -> Int?
    /// One more failure at `time` for each of `keys`; `release` is no longer held.
    func fail(_ keys: [String], release: String?, at time: Date) throws
    /// Forgets `key`'s count and claim.
    func clear(_ key: String) throws
    /// Forgets counts with neither a failure nor an attempt since `forgetBefore`, then the
    /// oldest beyond `capacity`.
    func sweep(forgetBefore: Date, capacity: Int) throws
}

/// Counts in this process's memory, bounded by `SignInThrottle.capacity` between sweeps too:
/// when full, the half whose last failure is oldest is forgotten.
final class MemoryFailureCounts: FailureCounts, @unchecked Sendable {
    private struct Entry {
        var failures = 0
        var last: Date
        var claimedAt: Date?

        var latest: Date { max(last, claimedAt ?? last) }
    }

    private let lock = NSLock()
    private var entries: [String: Entry] = [:]

    func reserve(_ keys: [String], claim: String?, at time: Date, pendingSince: Date,
                 decide: ([String: FailureCount]) -> Int?) -> Int? {
        lock.withLock {
            var found: [String: FailureCount] = [:]
            for key in keys {
                guard let entry = entries[key] else { continue }
                let underWay = entry.claimedAt.map { $0 >= pendingSince } ?? false
                if entry.failures > 0 || underWay { found[key] = FailureCount(failures: entry.failures, last: entry.last, underWay: underWay) }
            }
            if let wait = decide(found) { return wait }
            if let claim {
                if entries[claim] == nil, entries.count >= SignInThrottle.capacity { forgetOldest(keeping: entries.count / 2) }
                entries[claim, default: Entry(last: time)].claimedAt = time
            }
            return nil
        }
    }

    func fail(_ keys: [String], release: String?, at time: Date) {
        lock.withLock {
            if entries.count >= SignInThrottle.capacity { forgetOldest(keeping: entries.count / 2) }
            for key in Set(keys) {
                var entry = entries[key] ?? Entry(last: time)
                entry.failures += 1
                entry.last = max(entry.last, time)
                if key == release { entry.claimedAt = nil }
                entries[key] = entry
            }
        }
    }

    func clear(_ key: String) {
        _ = lock.withLock { entries.removeValue(forKey: key) }
    }

    func sweep(forgetBefore: Date, capacity: Int) {
        lock.withLock {
            entries = entries.filter { $0.value.latest >= forgetBefore }
            if entries.count > capacity { forgetOldest(keeping: capacity) }
        }
    }

    private func forgetOldest(keeping: Int) {
        let sorted = entries.sorted { $0.value.latest > $1.value.latest }
        entries = Dictionary(uniqueKeysWithValues: sorted.prefix(keeping).map { ($0.key, $0.value) })
    }
}
