import Logging
import ServiceLifecycle
import Vault

/// Writes the summary events of anonymous refusals (docs/audit.md) as their windows end,
/// looking every few seconds, and whatever is still counted at shutdown. Runs in the
/// application's service group after the HTTP server, so the shutdown flush comes after the
/// last request has been answered and before the store is closed.
struct RefusalAuditFlusher: Service {
    let vault: Vault
    let pool: BlockingPool
    let logger: Logger
    var interval: Duration = .seconds(5)

    func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            if Task.isShuttingDownGracefully || Task.isCancelled { break }
            await flush(all: false)
        }
        await flush(all: true)
    }

    private func flush(all: Bool) async {
        let vault = self.vault
        do {
            try await pool.run { try vault.audit.flushAnonymousRefusals(all: all) }
        } catch {
            // The counts stay in memory for the next attempt; the error names no token or path.
            logger.error("could not write the audit summary of refused anonymous requests", metadata: ["error": .string("\(error)")])
        }
    }
}
