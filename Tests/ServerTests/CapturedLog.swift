import Foundation
import Logging

/// Every line a logger writes, kept in memory with its metadata, for tests that read what the
/// server logged.
final class CapturedLog: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []

    /// Everything logged so far, one line per entry: level, message, then `key=value` metadata.
    /// `excluding` leaves out metadata keys whose values are only numbers of the server's own
    /// (such as timings), which could contain any digits.
    func text(excluding keys: Set<String> = []) -> String {
        lock.withLock { lines }.map { line in
            line.split(separator: "\u{1f}", omittingEmptySubsequences: false)
                .filter { part in !keys.contains { part.hasPrefix($0 + "=") } }.joined(separator: " ")
        }.joined(separator: "\n")
    }

    var count: Int { lock.withLock { lines.count } }

    fileprivate func append(_ line: String) { lock.withLock { lines.append(line) } }

    /// A logger at `.trace` that writes here.
    func logger(label: String = "test") -> Logger {
        var logger = Logger(label: label) { _ in Handler(log: self) }
        logger.logLevel = .trace
        return logger
    }

    private struct Handler: LogHandler {
        let log: CapturedLog
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let (level, message, metadata) = (event.level, event.message, event.metadata)
            let all = self.metadata.merging(metadata ?? [:]) { $1 }
            let fields = all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
            log.append(([level.rawValue, message.description] + fields).joined(separator: "\u{1f}"))
        }
    }
}
