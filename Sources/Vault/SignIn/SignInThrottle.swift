import Foundation

/// Slows guessing: after a few failures, each person's name and each client address must wait
/// before the next attempt, twice as long after every further failure, up to `maxDelay`. It
/// never locks anyone out for good: the wait runs out, and a success clears the person's count.
///
/// An attempt is counted as under way when it begins (`attempt`), in the same step that checks
/// the wait: attempts under way count as failures made at the moment they began, so a burst of
/// guesses sent at once meets the counts its own earlier guesses made, however many threads or
/// nodes serve it. Then it becomes a failure (`failed`) or is let go (`succeeded`). One that
/// ends in neither (an error) stops counting `pendingLifetime` after it began.
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
    /// Longer than any attempt takes (one Argon2id hash and a few queries).
    static let pendingLifetime: TimeInterval = 60

    private let counts: any FailureCounts
    private let clock: @Sendable () -> Date

    init(counts: any FailureCounts = MemoryFailureCounts(), clock: @escaping @Sendable () -> Date) {
        self.counts = counts
        self.clock = clock
    }

    /// Begins an attempt as `name` (nil: no name is claimed, as a passkey's answer names its
    /// own account) from `address`: the seconds to wait first, or nil when the attempt may go
    /// ahead, counted as under way until `failed` or `succeeded`.
    func attempt(name: String?, address: String) throws -> Int? {
        let now = clock()
        let keys = Self.keys(name: name, address: address)
        return try counts.reserve(keys.map(\.key), at: now, pendingSince: now.addingTimeInterval(-Self.pendingLifetime)) { found in
            keys.compactMap { remaining(found[$0.key], free: $0.free, now: now) }.max()
        }
    }

    /// The attempt begun failed: a failure now, for the name and the address.
    func failed(name: String?, address: String) throws {
        try counts.fail(Self.keys(name: name, address: address).map(\.key), at: clock())
    }

    /// The attempt succeeded: the person's count is cleared; the address's failures stand (one
    /// right answer from a place does not excuse its wrong ones).
    func succeeded(name: String?, address: String) throws {
        try counts.settle(clear: name.map { "n:" + $0 }, release: "a:" + address)
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

    private func remaining(_ count: FailureCount?, free: Int, now: Date) -> Int? {
        guard let count else { return nil }
        let left = count.last.addingTimeInterval(Self.delay(failures: count.failures, free: free)).timeIntervalSince(now)
        return left > 0 ? Int(left.rounded(.up)) : nil
    }
}

/// What `decide` is shown for a key: failures and attempts under way together, and the latest
/// of the last failure and the last attempt under way to begin.
struct FailureCount: Sendable, Equatable {
    var failures: Int
    var last: Date
}

/// Where a `SignInThrottle` keeps its counts: per key, failures and the last one's time, and
/// attempts under way and the last one's start. Each call is one atomic step, whoever else
/// calls at the same moment.
protocol FailureCounts: Sendable {
    /// Reads the counts of `keys` (attempts under way begun before `pendingSince` no longer
    /// count, and are dropped) and passes them to `decide`; when it returns nil, adds an
    /// attempt under way begun at `time` to each key. Returns what `decide` returned.
    func reserve(_ keys: [String], at time: Date, pendingSince: Date, decide: ([String: FailureCount]) -> Int?) throws -> Int?
    /// An attempt under way on each key failed at `time`.
    func fail(_ keys: [String], at time: Date) throws
    /// Forgets `clear`'s count, and lets go of an attempt under way on `release`.
    func settle(clear: String?, release: String) throws
    /// Forgets counts whose last failure was before `forgetBefore`, then the oldest beyond `capacity`.
    func sweep(forgetBefore: Date, capacity: Int) throws
}

/// Counts in this process's memory, bounded by `SignInThrottle.capacity` between sweeps too:
/// when full, the half whose last failure is oldest is forgotten.
final class MemoryFailureCounts: FailureCounts, @unchecked Sendable {
    private struct Entry {
        var failures = 0
        var last: Date
        var pending = 0
        var pendingStart: Date

        var latest: Date { max(last, pendingStart) }
    }

    private let lock = NSLock()
    private var entries: [String: Entry] = [:]

    func reserve(_ keys: [String], at time: Date, pendingSince: Date, decide: ([String: FailureCount]) -> Int?) -> Int? {
        lock.withLock {
            var found: [String: FailureCount] = [:]
            for key in keys {
                guard var entry = entries[key] else { continue }
                if entry.pending > 0, entry.pendingStart < pendingSince { entry.pending = 0 }
                entries[key] = entry
                if entry.failures + entry.pending > 0 {
                    found[key] = FailureCount(failures: entry.failures + entry.pending, last: entry.pending > 0 ? entry.latest : entry.last)
                }
            }
            if let wait = decide(found) { return wait }
            if entries.count >= SignInThrottle.capacity { forgetOldest(keeping: entries.count / 2) }
            for key in Set(keys) {
                var entry = entries[key] ?? Entry(last: time, pendingStart: time)
                entry.pending += 1
                entry.pendingStart = max(entry.pendingStart, time)
                entries[key] = entry
            }
            return nil
        }
    }

    func fail(_ keys: [String], at time: Date) {
        lock.withLock {
            for key in Set(keys) {
                var entry = entries[key] ?? Entry(last: time, pendingStart: time)
                entry.failures += 1
                entry.pending = max(0, entry.pending - 1)
                entry.last = max(entry.last, time)
                entries[key] = entry
            }
        }
    }

    func settle(clear: String?, release: String) {
        lock.withLock {
            if let clear { entries.removeValue(forKey: clear) }
            if let entry = entries[release] { entries[release]?.pending = max(0, entry.pending - 1) }
        }
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
