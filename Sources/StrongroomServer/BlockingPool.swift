import NIOPosix

/// Threads for the vault's blocking work (file writes, fsync, SQLite, libmagic), so that the
/// event loops and Swift's cooperative pool never wait on a disk. Sized for many concurrent
/// fsyncs: durability, not CPU, bounds small uploads (PERF-NOTES.md).
final class BlockingPool: Sendable {
    private let pool: NIOThreadPool

    init(threads: Int) {
        pool = NIOThreadPool(numberOfThreads: threads)
        pool.start()
    }

    func run<T: Sendable>(_ body: @Sendable @escaping () throws -> T) async throws -> T {
        try await pool.runIfActive(body)
    }

    func shutdown() async throws { try await pool.shutdownGracefully() }
}

/// Hands a non-Sendable object (an ingest session, a download) between the request's task and
/// the blocking pool. Safe because each use is awaited before the next begins.
struct Handoff<T>: @unchecked Sendable {
    let value: T
}
