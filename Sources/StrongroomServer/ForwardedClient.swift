import Foundation
import Hummingbird
import HTTPTypes
import NIOCore

/// The client behind a trusted proxy (docs/deployment.md, "The client's address"). A request
/// whose connection comes from an address in `trustedProxies` is counted against the address
/// its proxies say it came from: X-Forwarded-For is read from the right (each proxy appends
/// the address it was reached from), skipping the trusted proxies' own addresses, and the
/// first other address is the client. Anything a client wrote to the left of that is never
/// read. Each entry read was written by a trusted proxy, so the forms proxies write are taken
/// (`203.0.113.9:5678`, `[2001:db8::1]:443`, `fe80::1%eth0`: the port or zone dropped); an
/// entry that is not an address at all stops the walk at the proxy that wrote it, so a broken
/// header counts against the proxy. A trusted proxy's request without the header is the
/// proxy's own (a scraper on its machine). A connection from any other address has its header
/// ignored.
struct ForwardedClient: Sendable {
    let trustedProxies: [IPNetwork]

    /// The address the request is counted against, written as `RefusalSource` writes it; nil
    /// when the peer is not a trusted proxy (the peer's own address stands).
    func source(peer: SocketAddress?, forwardedFor: [String]) -> String? {
        guard !trustedProxies.isEmpty, !forwardedFor.isEmpty, let peer = peer.flatMap(IPAddress.init), isTrusted(peer) else { return nil }
        var client = peer
        let hops = forwardedFor.flatMap { $0.split(separator: ",", omittingEmptySubsequences: false) }.map { $0.trimmingCharacters(in: .whitespaces) }
        for hop in hops.reversed() {
            guard let address = IPAddress(forwarded: hop) else { break }
            client = address
            if !isTrusted(address) { break }
        }
        return RefusalSource.of(client)
    }

    private func isTrusted(_ address: IPAddress) -> Bool {
        trustedProxies.contains { $0.contains(address) }
    }
}

/// An IPv4 or IPv6 address as its bytes (an IPv4 address mapped into IPv6 is the IPv4 one).
struct IPAddress: Sendable, Equatable {
    let bytes: [UInt8]

    init?(bytes: [UInt8]) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        if bytes.count == 16, bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff {
            self.bytes = Array(bytes[12..<16])
        } else {
            self.bytes = bytes
        }
    }

    /// Dotted IPv4 or IPv6 text (brackets allowed around IPv6), nothing else: no port, no name.
    init?(text: String) {
        var text = Substring(text)
        if text.hasPrefix("["), text.hasSuffix("]") { text = text.dropFirst().dropLast() }
        guard !text.isEmpty, text.count <= 45 else { return nil }
        var v4 = in_addr(), v6 = in6_addr()
        if inet_pton(AF_INET, String(text), &v4) == 1 {
            self.init(bytes: withUnsafeBytes(of: v4) { Array($0) })
        } else if inet_pton(AF_INET6, String(text), &v6) == 1 {
            self.init(bytes: withUnsafeBytes(of: v6) { Array($0) })
        } else {
            return nil
        }
    }

    /// An address as a proxy writes it in X-Forwarded-For: bare, or with a port
    /// (`a.b.c.d:port`, `[v6]:port`), or an IPv6 one with a zone (`fe80::1%eth0`).
    init?(forwarded text: String) {
        var text = Substring(text)
        guard text.count <= 64 else { return nil }
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            let after = text[text.index(after: close)...]
            guard after.isEmpty || (after.hasPrefix(":") && after.count > 1 && after.dropFirst().allSatisfy(\.isASCII) && UInt16(after.dropFirst()) != nil) else { return nil }
            text = text[text.index(after: text.startIndex)..<close]
        } else if text.filter({ $0 == ":" }).count == 1, let colon = text.firstIndex(of: ":") {
            let port = text[text.index(after: colon)...]
            guard port.allSatisfy(\.isASCII), UInt16(port) != nil else { return nil }
            text = text[..<colon]
        }
        if text.contains(":"), let percent = text.firstIndex(of: "%") { text = text[..<percent] }
        self.init(text: String(text))
    }

    init?(_ address: SocketAddress) {
        switch address {
        case .v4(let v4): self.init(bytes: withUnsafeBytes(of: v4.address.sin_addr) { Array($0) })
        case .v6(let v6): self.init(bytes: withUnsafeBytes(of: v6.address.sin6_addr) { Array($0) })
        case .unixDomainSocket: return nil
        }
    }
}

/// An address with a prefix length, as `--trusted-proxies` names them: `10.0.0.5`,
/// `10.0.0.0/8`, `fd00::/8`. A bare address is itself alone.
struct IPNetwork: Sendable, Equatable, CustomStringConvertible {
    let address: IPAddress
    let prefix: Int

    init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let address = IPAddress(text: String(parts[0])) else { return nil }
        let bits = address.bytes.count * 8
        if parts.count == 2 {
            // Not /0: that would trust every address, and let any client name itself.
            guard let prefix = Int(parts[1]), (1...bits).contains(prefix), parts[1].allSatisfy(\.isASCII) else { return nil }
            self.prefix = prefix
        } else {
            prefix = bits
        }
        self.address = address
    }

    func contains(_ other: IPAddress) -> Bool {
        guard other.bytes.count == address.bytes.count else { return false }
        var left = prefix
        for (a, b) in zip(address.bytes, other.bytes) where left > 0 {
            let mask: UInt8 = left >= 8 ? 0xff : ~(0xff >> UInt8(left))
            if a & mask != b & mask { return false }
            left -= 8
        }
        return true
    }

    var description: String {
        let text = address.bytes.count == 4
            ? address.bytes.map(String.init).joined(separator: ".")
            : stride(from: 0, to: 16, by: 2).map { String(UInt16(address.bytes[$0]) << 8 | UInt16(address.bytes[$0 + 1]), radix: 16) }.joined(separator: ":")
        return text + "/\(prefix)"
    }

    /// A comma-separated list; throws naming the first entry that is not an address or network.
    static func list(_ text: String) throws -> [IPNetwork] {
        try text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.map { entry in
            guard let network = IPNetwork(entry) else {
                throw ServerError.configuration("trustedProxies: '\(entry.prefix(64))' is not an address or network like 10.0.0.5 or 10.0.0.0/8 (a /0 would trust everyone)")
            }
            return network
        }
    }
}

/// Sets the request's `forwardedSource` when its connection comes from a trusted proxy.
struct ForwardedClientMiddleware: RouterMiddleware {
    let forwarded: ForwardedClient
    static let header = HTTPField.Name("X-Forwarded-For")!

    func handle(_ request: Request, context: StrongroomContext, next: (Request, StrongroomContext) async throws -> Response) async throws -> Response {
        var context = context
        context.forwardedSource = forwarded.source(peer: context.remoteAddress, forwardedFor: request.headers[values: Self.header])
        return try await next(request, context)
    }
}
