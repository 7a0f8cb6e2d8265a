import Foundation
import Hummingbird
import KeyManagement
import Vault

/// Who may read /metrics on a listener (README, "The HTTP service"). The counters say how busy
/// the vault is, which routes fail and how often uploads are refused: not for the whole
/// network. /healthz answers a bare "ok" to anyone, for load balancers, and says nothing more.
enum MetricsAccess: Sendable {
    /// Anyone who can reach the listener (a loopback one).
    case open
    /// Only with `Authorization: Bearer` and the metrics token.
    case token(MetricsToken)
    /// Not on this listener: 403, saying where metrics are.
    case elsewhere

    /// The main listener: with a token, the token; else open only on a loopback address and
    /// when no metrics listener was asked for.
    static func mainListener(_ configuration: ServerConfiguration, token: MetricsToken?) -> MetricsAccess {
        if let token { return .token(token) }
        if configuration.metricsPort == nil, ServerConfiguration.isLoopback(configuration.host) { return .open }
        return .elsewhere
    }

    /// The loopback metrics listener: open, unless a token is set (then it is needed there too).
    static func metricsListener(token: MetricsToken?) -> MetricsAccess {
        token.map { .token($0) } ?? .open
    }

    /// Lets the request through, or refuses it (a wrong token audited like any request
    /// without a valid token: coalesced per source).
    func authorize(_ request: Request, _ context: StrongroomContext, vault: Vault, pool: BlockingPool) async throws {
        switch self {
        case .open:
            // Open means "only this machine reaches the listener": not so for a request a proxy
            // forwarded from elsewhere.
            if context.forwardedSource != nil { throw Self.notServedHere }
            return
        case .elsewhere:
            throw Self.notServedHere
        case .token(let token):
            guard !token.admits(request) else { return }
            let source = context.refusalSource
            try await pool.run { try vault.audit.recordAnonymousRefusal(.wrongMetricsToken, request: "GET /metrics", from: source) }
            throw Self.needsToken
        }
    }

    static let needsToken = Problem(
        status: .unauthorized, slug: "unauthenticated", title: "Metrics token needed",
        detail: "send the metrics token (the one in the server's --metrics-token-file) as a bearer token")

    static let notServedHere = Problem(
        status: .forbidden, slug: "forbidden", title: "Metrics are not served here",
        detail: "this listener is reachable beyond this machine: read /metrics on the --metrics-port listener (127.0.0.1), or give --metrics-token-file and send that token")
}

/// The bearer token that guards /metrics, as its SHA-256 (the token itself is not kept).
struct MetricsToken: Sendable {
    private let digest: [UInt8]

    private init(digest: [UInt8]) { self.digest = digest }

    /// A token shorter than this is guessable, and guards nothing.
    static let minimumLength = 32

    /// Reads the token from a file only its owner may read or write.
    static func read(file: String) throws -> MetricsToken {
        var info = stat()
        guard stat(file, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            throw ServerError.configuration("the metrics token file \(file) does not exist or is not a regular file")
        }
        guard info.st_mode & 0o077 == 0 else {
            throw ServerError.configuration(
                "the metrics token file \(file) can be read or written by other users (mode \(String(info.st_mode & 0o777, radix: 8))); run chmod 600 \(file)")
        }
        guard let data = FileManager.default.contents(atPath: file), let text = String(data: data, encoding: .utf8) else {
            throw ServerError.configuration("the metrics token file \(file) cannot be read as UTF-8 text")
        }
        let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard token.utf8.count >= minimumLength, token.unicodeScalars.allSatisfy({ (0x21...0x7e).contains($0.value) }) else {
            throw ServerError.configuration(
                "the metrics token in \(file) must be at least \(minimumLength) printable ASCII characters without spaces (for example from openssl rand -hex 32)")
        }
        return MetricsToken(digest: SHA256Hasher.hash(Array(token.utf8)))
    }

    /// Whether the request carries this token. Digests are compared, whole, without an early
    /// exit, so the time taken says nothing about how much of a guess was right.
    func admits(_ request: Request) -> Bool {
        guard let header = request.headers[.authorization], header.lowercased().hasPrefix("bearer ") else { return false }
        let presented = SHA256Hasher.hash(Array(header.dropFirst("bearer ".count).trimmingCharacters(in: .whitespaces).utf8))
        var difference: UInt8 = 0
        for (a, b) in zip(presented, digest) { difference |= a ^ b }
        return difference == 0 && presented.count == digest.count
    }
}
