import Hummingbird
import NIOCore
import Vault

/// The request context: Hummingbird's core, the peer's address, and who is calling.
public struct StrongroomContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    /// Who is calling: an integration's token or a person's session (set by `Authentication`).
    public var caller: Caller?
    /// The session cookie's value, when a person called with it.
    var sessionToken: String?
    /// The connection's peer (not anything a header claims).
    public let remoteAddress: SocketAddress?
    /// The client a trusted proxy says it forwarded this request for (`ForwardedClient`).
    var forwardedSource: String?
    /// The connection: streamed responses pace themselves on its event loop (`PacedBody`).
    let channel: any Channel

    public init(source: Source) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
        channel = source.channel
        // Hummingbird's request ids count up; problem documents show the id to anyone, who could
        // then count everybody else's requests between two of their own. A random id instead.
        var random = SystemRandomNumberGenerator()
        let id = String(random.next() as UInt64 | 1 << 63, radix: 16) + String(random.next() as UInt64 | 1 << 63, radix: 16)
        logger[metadataKey: "hb.request.id"] = .string(id)
    }

    /// What anonymous refusals and sign-in attempts of this request are counted against: the
    /// client behind a trusted proxy, or else the connection's peer.
    var refusalSource: String { forwardedSource ?? RefusalSource.of(remoteAddress) }

    func requireCaller() throws -> Caller {
        guard let caller else { throw Problem.unauthenticated }
        return caller
    }
}
