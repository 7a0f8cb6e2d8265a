import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import NIOSSL
import Logging
import NIOCore
import NIOPosix
import Prometheus
import ServiceLifecycle
import Vault

/// The HTTP service around one open vault.
public enum StrongroomService {
    /// Builds the application: public /healthz, /openapi.yaml and /v1/signing-key.pub, /metrics
    /// as `MetricsAccess` allows; everything under /v1 behind bearer authentication. With a
    /// metrics port, a second listener on 127.0.0.1 serves /metrics and /healthz only.
    static func makeApplication(
        vault: Vault, configuration: ServerConfiguration, logger: Logger,
        onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in },
        onMetricsListenerRunning: @escaping @Sendable (String, Int) async -> Void = { _, _ in }
    ) throws -> (some ApplicationProtocol, BlockingPool) {
        let registry = ServerMetrics.bootstrap()
        vault.auditLatencyObserver = { ServerMetrics.auditAppend.recordNanoseconds(Int64($0)) }
        let pool = BlockingPool(threads: configuration.blockingThreads)
        let metricsToken = try configuration.metricsToken()

        let mailer = try configuration.smtpRelay().map { relay in
            AlertMailer(vault: vault, pool: pool, relay: relay, publicOrigin: (try? configuration.publicOrigin()?.origin) ?? "",
                        group: MultiThreadedEventLoopGroup.singleton, logger: logger)
        }
        let router = makeRouter(vault: vault, configuration: configuration, pool: pool, registry: registry, metricsToken: metricsToken,
                                alerts: mailer)

        let http1 = HTTP1Channel.Configuration(idleTimeout: .seconds(Int64(configuration.idleTimeoutSeconds)))
        let server: HTTPServerBuilder
        if let cert = configuration.tlsCert, let key = configuration.tlsKey {
            let context = try TLSPolicy.context(try TLSPolicy.configuration(certificateChain: cert, privateKey: key))
            server = HTTPServerBuilder { responder in
                PreparedTLSChannel(context: context, base: HTTP1Channel(responder: responder, configuration: http1))
            }
        } else {
            server = .http1(configuration: http1)
        }
        var app = Application(
            router: router, server: server,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: nil),
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
        app.addServices(RefusalAuditFlusher(vault: vault, pool: pool, logger: logger))
        app.addServices(SessionSweeper(vault: vault, pool: pool, logger: logger))
        if let mailer { app.addServices(mailer) }
        if let metricsPort = configuration.metricsPort {
            let metricsRouter = makeMetricsRouter(access: .metricsListener(token: metricsToken), vault: vault, pool: pool, registry: registry)
            // Loopback only, whatever the main host: a local scraper or agent reaches it, the network does not.
            let metricsApp = Application(
                router: metricsRouter, server: .http1(configuration: http1),
                configuration: .init(address: .hostname("127.0.0.1", port: metricsPort), serverName: nil),
                onServerRunning: { channel in
                    await onMetricsListenerRunning(channel.localAddress?.ipAddress ?? "", channel.localAddress?.port ?? 0)
                },
                logger: logger)
            app.addServices(metricsApp)
        }
        return (app, pool)
    }

    /// Every route the service answers; tests hold it equal to docs/openapi.yaml.
    static func makeRouter(vault: Vault, configuration: ServerConfiguration, pool: BlockingPool,
                           registry: PrometheusCollectorRegistry, metricsToken: MetricsToken? = nil,
                           alerts: AlertMailer? = nil) -> Router<StrongroomContext> {
        let router = Router(context: StrongroomContext.self)
        // validate() has read the list: a malformed one never gets this far.
        if let proxies = try? configuration.trustedProxyNetworks(), !proxies.isEmpty {
            router.add(middleware: ForwardedClientMiddleware(forwarded: ForwardedClient(trustedProxies: proxies)))
        }
        if configuration.tlsCert != nil { router.add(middleware: StrictTransportSecurity()) }
        router.add(middleware: MetricsMiddleware())
        router.add(middleware: RequestLogMiddleware())
        let routeTable = RouteTable()
        router.add(middleware: ProblemMiddleware(routes: { routeTable.routes }))
        router.get("healthz") { _, _ in health() }
        let metricsAccess = MetricsAccess.mainListener(configuration, token: metricsToken)
        router.get("metrics") { request, context in
            try await metricsAccess.authorize(request, context, vault: vault, pool: pool)
            return metrics(registry)
        }
        router.get("openapi.yaml") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: ByteBuffer(string: OpenAPIDocument.yaml)))
        }
        // Public: a recipient checks the vault's signatures with it.
        let signingKey = vault.publicKey.fileText
        router.get("v1/signing-key.pub") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: signingKey)))
        }
        // Public: a recipient's download link; the token is the credential.
        SharedLinkRoutes(vault: vault, pool: pool).register(on: router)
        // Public: this vault's transfer card, a transfer's package link and receipts (signed).
        PublicTransferRoutes(vault: vault, pool: pool).register(on: router)
        // A malformed public URL is refused by `validate` before serving; here it only narrows
        // sign-in to localhost.
        let origin = (try? ServiceOrigin(configuration: configuration)) ?? ServiceOrigin(configured: nil, tls: configuration.tlsCert != nil)
        // Public: enrolment and sign-in (each route checks what it needs itself).
        SessionRoutes(vault: vault, pool: pool, origin: origin, sessionMaxSeconds: configuration.sessionMaxSeconds).register(on: router)
        // The web console's pages and assets (HTML, outside /v1; their scripts call the routes above).
        ConsoleRoutes(vault: vault, pool: pool).register(on: router)
        let v1 = router.group("v1").add(middleware: Authentication(vault: vault, pool: pool, origin: origin))
        if let alerts { v1.add(middleware: AlertPoke(mailer: alerts)) }
        AttachmentRoutes(vault: vault, pool: pool, maxUploadBytes: configuration.maxUploadBytes).register(on: v1)
        LifecycleRoutes(vault: vault, pool: pool).register(on: v1)
        ShredDeskRoutes(vault: vault, pool: pool).register(on: v1)
        OversightRoutes(vault: vault, pool: pool).register(on: v1)
        SharingRoutes(vault: vault, pool: pool).register(on: v1)
        BundleRoutes(vault: vault, pool: pool).register(on: v1)
        TransferRoutes(vault: vault, pool: pool, publicOrigin: try? configuration.publicOrigin()?.origin).register(on: v1)
        LabelRoutes(vault: vault, pool: pool).register(on: v1)
        PreviewRoute(vault: vault, pool: pool).register(on: v1)
        RedactionPreviewRoutes(vault: vault, pool: pool).register(on: v1)
        BodyMapRoutes(vault: vault, pool: pool).register(on: v1)
        PrintRoute(vault: vault, pool: pool).register(on: v1)
        PeopleRoutes(vault: vault, pool: pool).register(on: v1)
        WaitingRoute(vault: vault, pool: pool).register(on: v1)
        routeTable.set(router.routes.map { (method: $0.method.rawValue, segments: "\($0.path)".split(separator: "/").map(String.init)) })

        return router
    }

    /// The loopback metrics listener's routes: /metrics and /healthz, nothing else.
    static func makeMetricsRouter(access: MetricsAccess, vault: Vault, pool: BlockingPool,
                                  registry: PrometheusCollectorRegistry) -> Router<StrongroomContext> {
        let router = Router(context: StrongroomContext.self)
        router.add(middleware: RequestLogMiddleware())
        router.add(middleware: ProblemMiddleware(routes: { [(method: "GET", segments: ["healthz"]), (method: "GET", segments: ["metrics"])] }))
        router.get("healthz") { _, _ in health() }
        router.get("metrics") { request, context in
            try await access.authorize(request, context, vault: vault, pool: pool)
            return metrics(registry)
        }
        return router
    }

    /// A bare "ok": enough for a load balancer, nothing for anyone else.
    static func health() -> Response {
        Response(status: .ok, headers: [.contentType: "text/plain", .cacheControl: "no-store"], body: .init(byteBuffer: ByteBuffer(string: "ok\n")))
    }

    static func metrics(_ registry: PrometheusCollectorRegistry) -> Response {
        Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4", .cacheControl: "no-store"],
                 body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
    }

    /// Serves until SIGTERM or SIGINT; then stops accepting, lets requests in flight finish
    /// within the grace period, and closes the store.
    public static func run(vault: Vault, configuration: ServerConfiguration, logger: Logger,
                           onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in },
                           onMetricsListenerRunning: @escaping @Sendable (String, Int) async -> Void = { _, _ in }) async throws {
        try configuration.validate()
        vault.bundles.purgeEndedBundleFiles()
        let (app, pool) = try makeApplication(vault: vault, configuration: configuration, logger: logger, onServerRunning: onServerRunning,
                                              onMetricsListenerRunning: onMetricsListenerRunning)
        var group = ServiceGroupConfiguration(services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        group.maximumGracefulShutdownDuration = .seconds(configuration.shutdownGraceSeconds)
        do {
            try await ServiceGroup(configuration: group).run()
        } catch {
            try? await pool.shutdown()
            vault.close()
            throw error
        }
        try await pool.shutdown()
        vault.close()
        logger.info("stopped; store closed")
    }
}

/// One line per request: id, method, route template (never the raw path or query, which hold
/// ids and filenames), status, duration, user.
struct RequestLogMiddleware: RouterMiddleware {
    typealias Context = StrongroomContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        do {
            let response = try await next(request, context)
            log(request, context, status: Int(response.status.code), start)
            return response
        } catch {
            log(request, context, status: Int((error as? any HTTPResponseError)?.status.code ?? 500), start)
            throw error
        }
    }

    private func log(_ request: Request, _ context: Context, status: Int, _ start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        context.logger.info("request", metadata: [
            "method": .string(request.method.rawValue), "route": .string(context.endpointPath ?? "unmatched"),
            "status": .stringConvertible(status),
            "ms": .stringConvertible(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000),
        ])
    }
}

/// The router's routes, captured once they are all registered.
final class RouteTable: @unchecked Sendable {
    private let lock = NSLock()
    private var value: [(method: String, segments: [String])] = []
    var routes: [(method: String, segments: [String])] { lock.withLock { value } }
    func set(_ routes: [(method: String, segments: [String])]) { lock.withLock { value = routes } }
}
