import Foundation

/// Slows guessing: after a few failures, each person's name and each client address must wait
/// before the next attempt, twice as long after every further failure, up to `maxDelay`. It
/// never locks anyone out for good: the wait runs out, and a success clears the person's count.
/// In memory, bounded: at most `capacity` names and addresses are tracked; when full, the
/// entries whose wait ran out longest ago are forgotten first.
final class SignInThrottle: @unchecked Sendable {
    /// Failures allowed before the first wait.
    static let freeFailures = 3
    /// An address serves many people (a school's one public address): it gets more.
    static let freeFailuresPerAddress = 20
    static let maxDelay: TimeInterval = 300
    static let capacity = 20_000

    private struct Entry {
        var failures: Int
        var last: Date
    }

    private let lock = NSLock()
    private var entries: [String: Entry] = [:]
    private let clock: @Sendable () -> Date

    init(clock: @escaping @Sendable () -> Date) { self.clock = clock }

    /// Seconds to wait before trying `name` from `address`, or nil if an attempt may go ahead.
    func wait(name: String, address: String) -> Int? {
        let now = clock()
        return lock.withLock {
            let waits = [
                remaining(entries["n:" + name], free: Self.freeFailures, now: now),
                remaining(entries["a:" + address], free: Self.freeFailuresPerAddress, now: now),
            ].compactMap { $0 }
            return waits.max()
        }
    }

    func failed(name: String, address: String) {
        let now = clock()
        lock.withLock {
            if entries.count >= Self.capacity { evict(now: now) }
            for key in ["n:" + name, "a:" + address] {
                var entry = entries[key] ?? Entry(failures: 0, last: now)
                entry.failures += 1
                entry.last = now
                entries[key] = entry
            }
        }
    }

    /// A success clears the person's count (not the address's: one right guess among many
    /// from one place does not excuse the rest).
    func succeeded(name: String) {
        _ = lock.withLock { entries.removeValue(forKey: "n:" + name) }
    }

    static func delay(failures: Int, free: Int) -> TimeInterval {
        guard failures >= free else { return 0 }
        return min(maxDelay, pow(2, Double(min(failures - free, 20))))
    }

    private func remaining(_ entry: Entry?, free: Int, now: Date) -> Int? {
        guard let entry else { return nil }
        let left = entry.last.addingTimeInterval(Self.delay(failures: entry.failures, free: free)).timeIntervalSince(now)
        return left > 0 ? Int(left.rounded(.up)) : nil
    }

    private func evict(now: Date) {
        let sorted = entries.sorted { $0.value.last < $1.value.last }
        for (key, _) in sorted.prefix(entries.count / 2) { entries.removeValue(forKey: key) }
    }
}
