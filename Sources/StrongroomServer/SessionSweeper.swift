import Logging
import ServiceLifecycle
import Vault

/// Ends sessions past their idle or absolute limit every minute, each with a `session-end`
/// event naming its person, so that a session nobody presents again still ends on the record
/// (one that is presented again ends at once, when it is refused). Also forgets expired passkey
/// challenges and old counts of wrong guesses.
struct SessionSweeper: Service {
    let vault: Vault
    let pool: BlockingPool
    let logger: Logger
    var interval: Duration = .seconds(60)

    func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: interval) }
            if Task.isShuttingDownGracefully || Task.isCancelled { break }
            let vault = self.vault
            do {
                _ = try await pool.run { try vault.users.endExpiredSessions() }
            } catch {
                // Tried again next minute; the sessions are refused meanwhile all the same.
                logger.error("could not end expired sessions", metadata: ["error": .string("\(error)")])
            }
            do {
                try await pool.run { try vault.users.sweepSignInState() }
            } catch {
                logger.error("could not forget expired sign-in challenges", metadata: ["error": .string("\(error)")])
            }
        }
    }
}
