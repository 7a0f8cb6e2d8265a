import ArgumentParser
import Foundation
import Logging
import StrongroomServer
import Vault

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Serve the vault over HTTP(S) until SIGTERM or SIGINT.",
        discussion: """
            Settings come from flags, then STRONGROOM_* environment variables (STRONGROOM_HOST, \
            STRONGROOM_PORT, STRONGROOM_TLS_CERT, STRONGROOM_TLS_KEY, STRONGROOM_INSECURE_HTTP, \
            STRONGROOM_MAX_UPLOAD_BYTES, STRONGROOM_SHUTDOWN_GRACE_SECONDS, STRONGROOM_IDLE_TIMEOUT_SECONDS, \
            STRONGROOM_BLOCKING_THREADS, STRONGROOM_METRICS_PORT, STRONGROOM_METRICS_TOKEN_FILE, STRONGROOM_PUBLIC_URL, \
            STRONGROOM_SESSION_IDLE_SECONDS, STRONGROOM_SESSION_MAX_SECONDS, STRONGROOM_SESSION_STEP_UP_SECONDS, \
            STRONGROOM_TRUSTED_PROXIES), then a JSON \
            file (--config or STRONGROOM_CONFIG) with the keys host, port, tls.cert, tls.key, insecureHttp, \
            maxUploadBytes, shutdownGraceSeconds, idleTimeoutSeconds, blockingThreads, metrics.port, \
            metrics.tokenFile, publicUrl, session.idleSeconds, session.maxSeconds, session.stepUpSeconds, trustedProxies. On an address that is not loopback, /metrics is served only with the \
            metrics token, or on the --metrics-port listener (127.0.0.1).
            """)

    @OptionGroup var options: GlobalOptions
    @Option(help: "Address to listen on (default 127.0.0.1).") var host: String?
    @Option(help: "Port (default 8080; 0 picks a free one).") var port: Int?
    @Option(help: "PEM certificate chain for HTTPS.") var tlsCert: String?
    @Option(help: "PEM private key for HTTPS.") var tlsKey: String?
    @Flag(help: "Allow plain HTTP on a non-loopback address (only behind a TLS-terminating proxy).") var insecureHttp = false
    @Option(help: "Largest upload accepted, in bytes (default 536870912).") var maxUploadBytes: Int64?
    @Option(help: "Also serve /metrics and /healthz on this port of 127.0.0.1 only (0 picks a free one).") var metricsPort: Int?
    @Option(help: "A file (mode 600) holding the bearer token /metrics then requires on every listener.") var metricsTokenFile: String?
    @Option(help: "The address people open (https://HOST[:PORT]); unset, sign-in works on http(s)://localhost only.") var publicUrl: String?
    @Option(help: "End a session unused this many seconds (default 1800).") var sessionIdleSeconds: Int?
    @Option(help: "End every session after this many seconds (default 43200).") var sessionMaxSeconds: Int?
    @Option(help: "Ask for a second factor again after this many seconds before sensitive acts (default 300).") var stepUpSeconds: Int?
    @Option(help: "An SMTP relay for alert emails; unset, none are sent.") var smtpHost: String?
    @Option(help: "The relay's port (default 587).") var smtpPort: Int?
    @Option(help: "STARTTLS with the relay: true (default) or false (a relay on this machine only).") var smtpStarttls: Bool?
    @Option(help: "A file of two lines, the relay's user name and password (sent only after STARTTLS).") var smtpCredentialsFile: String?
    @Option(help: "The address alert emails come from.") var smtpFrom: String?
    @Option(help: "A CA certificate (PEM) to trust for the relay instead of the system's.") var smtpCaFile: String?
    @Option(help: "The proxies in front (addresses or networks, comma-separated): requests they forward count against the client their X-Forwarded-For names.") var trustedProxies: String?
    @Option(help: "A JSON config file.") var config: String?

    func run() async throws {
        var flags: [String: String] = [:]
        typealias K = ServerConfiguration.Key
        if let host { flags[K.host] = host }
        if let port { flags[K.port] = String(port) }
        if let tlsCert { flags[K.tlsCert] = tlsCert }
        if let tlsKey { flags[K.tlsKey] = tlsKey }
        if insecureHttp { flags[K.insecureHTTP] = "true" }
        if let maxUploadBytes { flags[K.maxUploadBytes] = String(maxUploadBytes) }
        if let metricsPort { flags[K.metricsPort] = String(metricsPort) }
        if let metricsTokenFile { flags[K.metricsTokenFile] = metricsTokenFile }
        if let publicUrl { flags[K.publicURL] = publicUrl }
        if let sessionIdleSeconds { flags[K.sessionIdleSeconds] = String(sessionIdleSeconds) }
        if let sessionMaxSeconds { flags[K.sessionMaxSeconds] = String(sessionMaxSeconds) }
        if let stepUpSeconds { flags[K.stepUpSeconds] = String(stepUpSeconds) }
        if let smtpHost { flags[K.smtpHost] = smtpHost }
        if let smtpPort { flags[K.smtpPort] = String(smtpPort) }
        if let smtpStarttls { flags[K.smtpStartTLS] = String(smtpStarttls) }
        if let smtpCredentialsFile { flags[K.smtpCredentialsFile] = smtpCredentialsFile }
        if let smtpFrom { flags[K.smtpFrom] = smtpFrom }
        if let smtpCaFile { flags[K.smtpCAFile] = smtpCaFile }
        if let trustedProxies { flags[K.trustedProxies] = trustedProxies }
        let configuration: ServerConfiguration
        do {
            configuration = try await ServerConfiguration.load(flags: flags, configFile: config, environment: ProcessInfo.processInfo.environment)
        } catch let error as ServerError {
            throw CLIError.Message(text: error.description, code: CLIError.config)
        }
        LoggingSystem.bootstrap { StreamLogHandler.standardError(label: $0) }
        var logger = Logger(label: "strongroom")
        logger.logLevel = .info
        var vaultOptions = Vault.Options()
        // The server copies the newest checkpoint to the witness at most once a second.
        vaultOptions.witnessInterval = 1
        vaultOptions.sessionPolicy.idleTimeout = TimeInterval(configuration.sessionIdleSeconds)
        vaultOptions.sessionPolicy.absoluteLimit = TimeInterval(configuration.sessionMaxSeconds)
        vaultOptions.sessionPolicy.stepUpWindow = TimeInterval(configuration.stepUpSeconds)
        let witnessLogger = logger
        vaultOptions.witnessProblem = { witnessLogger.error("audit witness not written", metadata: ["reason": "\($0)"]) }
        let vault = try options.openVault(options: vaultOptions)
        let scheme = configuration.tlsCert == nil ? "http" : "https"
        try await StrongroomService.run(vault: vault, configuration: configuration, logger: logger, onServerRunning: { port in
            // The one line scripts wait for: the bound address.
            FileHandle.standardOutput.write(Data("strongroom: serving \(scheme)://\(configuration.host):\(port)\n".utf8))
        }, onMetricsListenerRunning: { host, port in
            FileHandle.standardOutput.write(Data("strongroom: metrics on http://\(host):\(port)\n".utf8))
        })
    }
}
