import Foundation
import NIOCore

/// Who an anonymous refusal is counted against (docs/audit.md): the peer's IPv4 address, or for
/// IPv6 its /64 network (one subscriber usually holds a whole /64, and could otherwise name a
/// new source for every request). Never anything the request itself says, such as
/// X-Forwarded-For, which its sender writes, unless the connection comes from a proxy the
/// operator named as trusted (`ForwardedClient`).
enum RefusalSource {
    static func of(_ address: SocketAddress?) -> String {
        guard let address else { return "unknown" }
        if case .unixDomainSocket = address { return "local" }
        return IPAddress(address).map(of) ?? "unknown"
    }

    /// An IPv4 address as itself (one on a dual-stack socket, ::ffff:a.b.c.d, is that IPv4
    /// address), an IPv6 one as its /64.
    static func of(_ address: IPAddress) -> String {
        let bytes = address.bytes
        if bytes.count == 4 { return bytes.map(String.init).joined(separator: ".") }
        let groups = stride(from: 0, to: 8, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
        return groups.joined(separator: ":") + "::/64"
    }
}
