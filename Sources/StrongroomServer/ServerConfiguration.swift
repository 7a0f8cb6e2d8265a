import Configuration
import Foundation
import SystemPackage
import Vault

/// How `strongroom serve` is set up. Each setting comes from, in order: a command-line flag,
/// an environment variable (STRONGROOM_ + the key in upper snake case, e.g. STRONGROOM_PORT,
/// STRONGROOM_TLS_CERT, STRONGROOM_METRICS_PORT), a JSON config file (--config or
/// STRONGROOM_CONFIG), the default.
public struct ServerConfiguration: Sendable, Equatable {
    public var host = "127.0.0.1"
    public var port = 8080
    public var tlsCert: String?
    public var tlsKey: String?
    public var insecureHTTP = false
    public var maxUploadBytes: Int64 = 512 * 1024 * 1024
    public var shutdownGraceSeconds = 30
    public var idleTimeoutSeconds = 60
    public var blockingThreads = 32
    /// A second listener, on 127.0.0.1 only, for /metrics and /healthz (0 picks a free port).
    public var metricsPort: Int?
    /// A file holding the bearer token /metrics then requires, on every listener.
    public var metricsTokenFile: String?
    /// The address people open, e.g. https://vault.school.example: its host is the passkeys'
    /// relying party id and its origin the only one state changes are accepted from. Unset, the
    /// service accepts sign-in only on http(s)://localhost:PORT.
    public var publicURL: String?
    /// A session unused this long ends (seconds).
    public var sessionIdleSeconds = 30 * 60
    /// No session lasts longer (seconds).
    public var sessionMaxSeconds = 12 * 60 * 60
    /// How long a second factor stands for downloads, releases, approvals, holds (seconds).
    public var stepUpSeconds = 300
    /// An SMTP relay for alert emails (docs/alerts.md); none: no emails are sent.
    public var smtpHost: String?
    public var smtpPort = 587
    /// STARTTLS before anything but EHLO; off only for a relay on this machine (no credentials then).
    public var smtpStartTLS = true
    /// A file of two lines, the relay's user name and password: read at start, never logged.
    public var smtpCredentialsFile: String?
    public var smtpFrom: String?
    /// A CA certificate (PEM) to trust for the relay instead of the system's roots.
    public var smtpCAFile: String?
    /// The proxies in front of the service, as addresses or networks (`10.0.0.5, 10.0.0.0/8`):
    /// a request one of them forwards is counted against the client its X-Forwarded-For names
    /// (ForwardedClient.swift). None: the header is never read.
    public var trustedProxies: String?

    public init() {}

    /// The keys, as a config file and the environment spell them.
    public enum Key {
        public static let host = "host", port = "port", tlsCert = "tls.cert", tlsKey = "tls.key"
        public static let insecureHTTP = "insecureHttp", maxUploadBytes = "maxUploadBytes"
        public static let shutdownGraceSeconds = "shutdownGraceSeconds", idleTimeoutSeconds = "idleTimeoutSeconds"
        public static let blockingThreads = "blockingThreads"
        public static let metricsPort = "metrics.port", metricsTokenFile = "metrics.tokenFile"
        public static let publicURL = "publicUrl", sessionIdleSeconds = "session.idleSeconds"
        public static let sessionMaxSeconds = "session.maxSeconds", stepUpSeconds = "session.stepUpSeconds"
        public static let smtpHost = "smtp.host", smtpPort = "smtp.port", smtpStartTLS = "smtp.startTls"
        public static let smtpCredentialsFile = "smtp.credentialsFile", smtpFrom = "smtp.from", smtpCAFile = "smtp.caFile"
        public static let trustedProxies = "trustedProxies"
    }

    /// Reads the settings. `flags` holds what was given on the command line, by key.
    public static func load(flags: [String: String], configFile: String?, environment: [String: String]) async throws -> ServerConfiguration {
        var env: [String: String] = [:]
        for (name, value) in environment where name.hasPrefix("STRONGROOM_") { env[String(name.dropFirst("STRONGROOM_".count))] = value }
        var providers: [any ConfigProvider] = [
            InMemoryProvider(name: "flags", values: Dictionary(uniqueKeysWithValues: flags.map { (AbsoluteConfigKey($0.key.split(separator: ".").map(String.init)), ConfigValue(.string($0.value), isSecret: false)) })),
            EnvironmentVariablesProvider(environmentVariables: env),
        ]
        if let file = configFile ?? env["CONFIG"] {
            guard FileManager.default.isReadableFile(atPath: file) else {
                throw ServerError.configuration("the config file \(file) does not exist or cannot be read")
            }
            providers.append(try await FileProvider<JSONSnapshot>(filePath: FilePath(file)))
        }
        let reader = ConfigReader(providers: providers)
        var c = ServerConfiguration()
        func int(_ key: String, _ fallback: Int, _ range: ClosedRange<Int>) throws -> Int {
            guard let text = reader.string(forKey: ConfigKey(key.split(separator: ".").map(String.init))) else {
                return reader.int(forKey: ConfigKey(key.split(separator: ".").map(String.init)), default: fallback)
            }
            guard let n = Int(text), range.contains(n) else {
                throw ServerError.configuration("\(key) must be a whole number from \(range.lowerBound) to \(range.upperBound), not '\(text)'")
            }
            return n
        }
        func string(_ key: String) -> String? { reader.string(forKey: ConfigKey(key.split(separator: ".").map(String.init))) }
        c.host = string(Key.host) ?? c.host
        c.port = try int(Key.port, c.port, 0...65535)
        c.tlsCert = string(Key.tlsCert)
        c.tlsKey = string(Key.tlsKey)
        if let text = string(Key.insecureHTTP) {
            guard let b = Bool(text.lowercased()) else { throw ServerError.configuration("insecureHttp must be true or false, not '\(text)'") }
            c.insecureHTTP = b
        } else {
            c.insecureHTTP = reader.bool(forKey: ConfigKey([Key.insecureHTTP]), default: false)
        }
        c.maxUploadBytes = Int64(try int(Key.maxUploadBytes, Int(c.maxUploadBytes), 1...Int(Int64.max)))
        c.shutdownGraceSeconds = try int(Key.shutdownGraceSeconds, c.shutdownGraceSeconds, 0...3600)
        c.idleTimeoutSeconds = try int(Key.idleTimeoutSeconds, c.idleTimeoutSeconds, 1...3600)
        c.blockingThreads = try int(Key.blockingThreads, c.blockingThreads, 2...512)
        if string(Key.metricsPort) != nil || reader.int(forKey: ConfigKey(Key.metricsPort.split(separator: ".").map(String.init))) != nil {
            let n = try int(Key.metricsPort, -1, 0...65535)
            guard (0...65535).contains(n) else { throw ServerError.configuration("metrics.port must be a whole number from 0 to 65535, not \(n)") }
            c.metricsPort = n
        }
        c.metricsTokenFile = string(Key.metricsTokenFile)
        c.publicURL = string(Key.publicURL)
        c.sessionIdleSeconds = try int(Key.sessionIdleSeconds, c.sessionIdleSeconds, 1...86_400)
        c.sessionMaxSeconds = try int(Key.sessionMaxSeconds, c.sessionMaxSeconds, 1...7 * 86_400)
        c.stepUpSeconds = try int(Key.stepUpSeconds, c.stepUpSeconds, 1...3600)
        c.smtpHost = string(Key.smtpHost)
        c.smtpPort = try int(Key.smtpPort, c.smtpPort, 1...65535)
        if let text = string(Key.smtpStartTLS) {
            guard let b = Bool(text.lowercased()) else { throw ServerError.configuration("smtp.startTls must be true or false, not '\(text)'") }
            c.smtpStartTLS = b
        }
        c.smtpCredentialsFile = string(Key.smtpCredentialsFile)
        c.smtpFrom = string(Key.smtpFrom)
        c.smtpCAFile = string(Key.smtpCAFile)
        c.trustedProxies = string(Key.trustedProxies)
        try c.validate()
        _ = try c.metricsToken()
        return c
    }

    /// Refuses settings that would expose evidence: plain HTTP beyond loopback, half a TLS pair.
    public func validate() throws {
        if (tlsCert == nil) != (tlsKey == nil) {
            throw ServerError.configuration("give both --tls-cert and --tls-key, or neither")
        }
        if let metricsPort, metricsPort != 0, metricsPort == port {
            throw ServerError.configuration("--metrics-port must differ from --port (\(port))")
        }
        _ = try publicOrigin()
        _ = try smtpRelay()
        _ = try trustedProxyNetworks()
        if sessionIdleSeconds > sessionMaxSeconds {
            throw ServerError.configuration("session.idleSeconds must not be longer than session.maxSeconds")
        }
        if tlsCert == nil, !insecureHTTP, !Self.isLoopback(host) {
            throw ServerError.configuration(
                "refusing to serve plain HTTP on \(host), which is not a loopback address: give --tls-cert and --tls-key, or --insecure-http behind a TLS proxy")
        }
    }

    /// The public URL's origin (scheme://host[:port]) and host, if one is set and well formed.
    public func publicOrigin() throws -> (origin: String, host: String)? {
        guard let publicURL else { return nil }
        guard let url = URLComponents(string: publicURL), let scheme = url.scheme?.lowercased(), scheme == "https" || scheme == "http",
              let host = url.host?.lowercased(), !host.isEmpty, url.user == nil, url.password == nil,
              url.path.isEmpty || url.path == "/", url.query == nil, url.fragment == nil else {
            throw ServerError.configuration("publicUrl must be like https://vault.school.example (scheme and host, optional port, no path)")
        }
        guard scheme == "https" || host == "localhost" else {
            throw ServerError.configuration("publicUrl must use https (passkeys and secure cookies need it), or be http://localhost")
        }
        let port = url.port.map { ":\($0)" } ?? ""
        return (scheme + "://" + host + port, host)
    }

    /// The metrics token, read from `metricsTokenFile` (nil if none is set).
    /// The relay alert emails go through, or nil when none is configured. Refuses a relay
    /// without a sender or a public URL (the link in the email), credentials without STARTTLS
    /// (a password never crosses the network in the clear), and a credentials file that is not
    /// two lines.
    func smtpRelay() throws -> SMTPRelay? {
        guard let smtpHost else {
            if smtpFrom != nil || smtpCredentialsFile != nil || smtpCAFile != nil {
                throw ServerError.configuration("the smtp options need smtp.host (--smtp-host)")
            }
            return nil
        }
        guard let smtpFrom, AlertAddress.isValid(smtpFrom) else {
            throw ServerError.configuration("smtp.from (--smtp-from) must be the sender's address, like strongroom@school.example")
        }
        guard let origin = try publicOrigin()?.origin, !origin.isEmpty else {
            throw ServerError.configuration("alert emails link to the console: give publicUrl (--public-url) with smtp.host")
        }
        var credentials: (String, String)?
        if let file = smtpCredentialsFile {
            guard smtpStartTLS else {
                throw ServerError.configuration("smtp.credentialsFile needs STARTTLS: a password is never sent in the clear")
            }
            guard let text = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw ServerError.configuration("the smtp credentials file \(file) cannot be read")
            }
            let lines = text.split(whereSeparator: \.isNewline).map(String.init)
            guard lines.count == 2, !lines[0].isEmpty, !lines[1].isEmpty else {
                throw ServerError.configuration("the smtp credentials file must hold two lines: the user name, then the password")
            }
            credentials = (lines[0], lines[1])
        }
        if let smtpCAFile, !FileManager.default.isReadableFile(atPath: smtpCAFile) {
            throw ServerError.configuration("the smtp CA file \(smtpCAFile) cannot be read")
        }
        return SMTPRelay(host: smtpHost, port: smtpPort, startTLS: smtpStartTLS, credentials: credentials, from: smtpFrom, caFile: smtpCAFile)
    }

    func trustedProxyNetworks() throws -> [IPNetwork] {
        try trustedProxies.map(IPNetwork.list) ?? []
    }

    func metricsToken() throws -> MetricsToken? {
        try metricsTokenFile.map(MetricsToken.read(file:))
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}

public enum ServerError: Error, CustomStringConvertible, Equatable {
    case configuration(String)
    public var description: String {
        switch self {
        case .configuration(let why): return "configuration: \(why)"
        }
    }
}
