import HummingbirdCore
import Logging
import NIOCore
import NIOSSL

/// A TLS child channel over a context made beforehand (`TLSPolicy.context`, with options
/// swift-nio-ssl has no setting for). Hummingbird's own `TLSChannel` makes its context from a
/// configuration; otherwise this is the same: TLS first, then the HTTP channel over it.
///
///     let server = HTTPServerBuilder { responder in
///         PreparedTLSChannel(context: context, base: HTTP1Channel(responder: responder, configuration: http1))
///     }
struct PreparedTLSChannel<BaseChannel: ServerChildChannel>: ServerChildChannel {
    typealias Value = BaseChannel.Value
    let context: NIOSSLContext
    let base: BaseChannel

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: context))
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

extension PreparedTLSChannel: HTTPChannelHandler where BaseChannel: HTTPChannelHandler {
    var responder: HTTPChannelHandler.Responder { base.responder }
}
