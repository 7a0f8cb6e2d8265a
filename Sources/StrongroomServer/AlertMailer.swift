import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import Vault

/// Emails each person who can act when something starts waiting for them (docs/alerts.md): a
/// bundle drafted, a shred requested, a role waiting for a second person. It compares each
/// person's counts (`people.alertTargets`) with those it saw last, and writes to those whose
/// count went up. It looks after every change made over /v1 (`poke`, from `AlertPoke`) and
/// every minute, on its own task: a request never waits for it, and a relay that is slow or
/// down never fails one.
///
/// The message is fixed: that something waits in Strongroom, and the link to /waiting. No
/// count, child, record, file, recipient, reason or name is in it, ever; nor in the log lines
/// about sending, which say only which SMTP step failed.
final class AlertMailer: Service, Sendable {
    static let subject = "Something is waiting for you in Strongroom"

    static func body(waitingURL: String) -> String {
        """
        Something is waiting for you in Strongroom.

        Sign in to see what it is:
        \(waitingURL)

        This email says nothing more on purpose: what waits is kept in Strongroom, where only \
        the people allowed to see it can.
        """
    }

    let vault: Vault
    let pool: BlockingPool
    let client: SMTPClient
    let waitingURL: String
    let logger: Logger
    let interval: Duration
    private let pokes: AsyncStream<Void>
    private let poker: AsyncStream<Void>.Continuation

    init(vault: Vault, pool: BlockingPool, relay: SMTPRelay, publicOrigin: String, group: any EventLoopGroup, logger: Logger,
         interval: Duration = .seconds(60)) {
        self.interval = interval
        self.vault = vault
        self.pool = pool
        client = SMTPClient(relay: relay, group: group)
        waitingURL = publicOrigin + "/waiting"
        self.logger = logger
        (pokes, poker) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Something may have started waiting: look soon. Never blocks.
    func poke() { poker.yield() }

    func run() async throws {
        let ticker = Task { [poker, interval] in
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                poker.yield()
            }
        }
        defer { ticker.cancel() }
        await cancelWhenGracefulShutdown {
            // What waits already when the server starts was there before: no alert for it.
            var seen: [String: Int] = [:]
            for target in (try? await self.targets()) ?? [] { seen[target.account] = target.counts.total }
            for await _ in self.pokes {
                await self.check(&seen)
            }
        }
        poker.finish()
    }

    private func targets() async throws -> [(account: String, address: String, counts: WaitingCounts)] {
        let vault = self.vault
        return try await pool.run { try vault.people.alertTargets() }
    }

    private func check(_ seen: inout [String: Int]) async {
        let now: [(account: String, address: String, counts: WaitingCounts)]
        do { now = try await targets() } catch {
            logger.error("alerts: could not count what waits", metadata: ["error": .string("\(type(of: error))")])
            return
        }
        for target in now {
            let before = seen[target.account] ?? 0
            seen[target.account] = target.counts.total
            guard target.counts.total > before else { continue }
            do {
                try await client.send(to: target.address, subject: Self.subject, body: Self.body(waitingURL: waitingURL))
                logger.info("alerts: an alert was sent")
            } catch let error as SMTPError {
                logger.error("alerts: an alert was not sent", metadata: ["why": .string(error.description)])
            } catch {
                logger.error("alerts: an alert was not sent", metadata: ["why": .string("\(type(of: error))")])
            }
        }
    }
}

/// After a change made over /v1 succeeds, tells the alert mailer to look: something may have
/// started waiting. Reads nothing of the request.
struct AlertPoke: RouterMiddleware {
    typealias Context = StrongroomContext
    let mailer: AlertMailer

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let response = try await next(request, context)
        if request.method.changesState, response.status.code < 400 { mailer.poke() }
        return response
    }
}
