import Hummingbird
import NIOCore
import Vault

/// The request context: Hummingbird's core plus the user the bearer token named.
public struct StrongroomContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public var principal: Principal?
    /// The connection: streamed responses pace themselves on its event loop (`PacedBody`).
    let channel: any Channel

    public init(source: Source) {
        coreContext = .init(source: source)
        channel = source.channel
        // Hummingbird's request ids count up; problem documents show the id to anyone, who could
        // then count everybody else's requests between two of their own. A random id instead.
        var random = SystemRandomNumberGenerator()
        let id = String(random.next() as UInt64 | 1 << 63, radix: 16) + String(random.next() as UInt64 | 1 << 63, radix: 16)
        logger[metadataKey: "hb.request.id"] = .string(id)
    }

    func requirePrincipal() throws -> Principal {
        guard let principal else { throw Problem.unauthenticated }
        return principal
    }
}
