import Foundation

/// A clock a test moves by hand, for a vault's `Options.clock`: sessions time out, links expire
/// and back-off waits run out without the test waiting.
///
///     let clock = MovableClock()
///     options.clock = { clock.now }
///     clock.advance(31 * 60)   // past the idle timeout
public final class MovableClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current: Date

    /// Starts at the real time, whole seconds, so times the vault wrote before it took this
    /// clock are not in its future.
    public init(_ start: Date = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))) {
        current = start
    }

    public var now: Date { lock.withLock { current } }

    public func advance(_ seconds: TimeInterval) { lock.withLock { current += seconds } }
}
