import Foundation

/// Slows guessing: after a few failures, each person's name and each client address must wait
/// before the next attempt, twice as long after every further failure, up to `maxDelay`. It
/// never locks anyone out for good: the wait runs out, and a success clears the person's count.
/// Counts are forgotten a day after their last failure, and at most `capacity` are kept (the
/// oldest go first). Where the counts are kept is `counts`: this process's memory, or the
/// database every node shares (so guesses count the same through whichever node they come).
final class SignInThrottle: Sendable {
    /// Failures allowed before the first wait.
    static let freeFailures = 3
    /// An address serves many people (a school's one public address): it gets more.
    static let freeFailuresPerAddress = 20
    static let maxDelay: TimeInterval = 300
    static let capacity = 20_000
    static let forgetAfter: TimeInterval = 24 * 60 * 60

    private let counts: any FailureCounts
    private let clock: @Sendable () -> Date

    init(counts: any FailureCounts = MemoryFailureCounts(), clock: @escaping @Sendable () -> Date) {
        self.counts = counts
        self.clock = clock
    }

    /// Seconds to wait before trying `name` from `address`, or nil if an attempt may go ahead.
    func wait(name: String, address: String) throws -> Int? {
        let now = clock()
        let found = try counts.counts(["n:" + name, "a:" + address])
        return [
            remaining(found["n:" + name], free: Self.freeFailures, now: now),
            remaining(found["a:" + address], free: Self.freeFailuresPerAddress, now: now),
        ].compactMap { $0 }.max()
    }

    func failed(name: String, address: String) throws {
        try counts.add(["n:" + name, "a:" + address], at: clock())
    }

    /// A success clears the person's count (not the address's: one right guess among many
    /// from one place does not excuse the rest).
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

    private func remaining(_ count: FailureCount?, free: Int, now: Date) -> Int? {
        guard let count else { return nil }
        let left = count.last.addingTimeInterval(Self.delay(failures: count.failures, free: free)).timeIntervalSince(now)
        return left > 0 ? Int(left.rounded(.up)) : nil
    }
}

struct FailureCount: Sendable, Equatable {
    var failures: Int
    var last: Date
}

/// Where a `SignInThrottle` keeps its counts. `add` must count every failure once, however
/// many callers add at the same moment.
protocol FailureCounts: Sendable {
    func counts(_ keys: [String]) throws -> [String: FailureCount]
    func add(_ keys: [String], at time: Date) throws
    func clear(_ key: String) throws
    /// Forgets counts whose last failure was before `forgetBefore`, then the oldest beyond `capacity`.
    func sweep(forgetBefore: Date, capacity: Int) throws
}

/// Counts in this process's memory, bounded by `SignInThrottle.capacity` between sweeps too:
/// when full, the half whose last failure is oldest is forgotten.
final class MemoryFailureCounts: FailureCounts, @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [String: FailureCount] = [:]

    func counts(_ keys: [String]) -> [String: FailureCount] {
        lock.withLock { keys.reduce(into: [:]) { found, key in found[key] = entries[key] } }
    }

    func add(_ keys: [String], at time: Date) {
        lock.withLock {
            if entries.count >= SignInThrottle.capacity { forgetOldest(keeping: entries.count / 2) }
            for key in Set(keys) {
                var entry = entries[key] ?? FailureCount(failures: 0, last: time)
                entry.failures += 1
                entry.last = max(entry.last, time)
                entries[key] = entry
            }
        }
    }

    func clear(_ key: String) {
        _ = lock.withLock { entries.removeValue(forKey: key) }
    }

    func sweep(forgetBefore: Date, capacity: Int) {
        lock.withLock {
            entries = entries.filter { $0.value.last >= forgetBefore }
            if entries.count > capacity { forgetOldest(keeping: capacity) }
        }
    }

    private func forgetOldest(keeping: Int) {
        let sorted = entries.sorted { $0.value.last > $1.value.last }
        entries = Dictionary(uniqueKeysWithValues: sorted.prefix(keeping).map { ($0.key, $0.value) })
    }
}
