import Hummingbird
import NIOCore

/// Writes a streamed response at the pace its client reads it, so that a download holds a
/// few chunks in memory however slow the client and however many downloads run at once.
///
/// Hummingbird's body writer suspends while the channel is unwritable, but it learns of that
/// only once the event loop has taken the previous write: a write from a task returns as soon
/// as it is queued for the loop. A producer on the blocking pool (decrypting, reading a file)
/// could therefore queue chunk after chunk before the loop caught up, the more so the busier
/// the loop, and a few hundred slow readers held gigabytes. So each write first waits for the
/// loop to have taken the one before: it then sees the channel's real writability and waits
/// while the client is behind. Per response at most one hop of chunks waits in the writer and
/// one beside the channel's high-water mark (64 KiB), whatever the load. (The wait overlaps
/// with making the next chunks, so it costs a fast client nothing.)
///
/// ```swift
/// var paced = PacedBody(channel: context.channel)
/// ResponseBody(contentLength: size) { writer in
///     while let chunks = try await pool.run({ produce() }) { try await paced.write(chunks, to: &writer) }
///     try await writer.finish(nil)
/// }
/// ```
struct PacedBody: Sendable {
    /// Chunks made per trip to the blocking pool, each `chunkBytes` (the blob format's chunk):
    /// one, so that what waits per response stays small; the trip costs little next to
    /// decrypting 64 KiB.
    static let chunksPerHop = 1
    static let chunkBytes = 1 << 16
    /// A file of up to 256 KiB (most evidence) is made whole in the first trip, with its audit
    /// event: one trip in all. A larger one starts with a single chunk like the rest.
    static let wholeFileChunks = 4

    /// How many chunks the first trip makes for a file of `size` bytes.
    static func firstHopChunks(size: Int64) -> Int {
        size <= Int64(wholeFileChunks * chunkBytes) ? wholeFileChunks : chunksPerHop
    }

    private let eventLoop: any EventLoop
    /// Completes once the event loop has taken the last write.
    private var taken: EventLoopFuture<Void>?

    init(channel: any Channel) {
        eventLoop = channel.eventLoop
    }

    /// Writes `chunks` once the previous write has reached the channel; waits while the client
    /// has not read enough of what was sent.
    mutating func write(_ chunks: [ByteBuffer], to writer: inout any ResponseBodyWriter) async throws {
        let chunks = chunks.filter { $0.readableBytes > 0 }
        guard !chunks.isEmpty else { return }
        try await taken?.get()
        for chunk in chunks { ServerMetrics.bytesOut.increment(by: chunk.readableBytes) }
        try await writer.write(contentsOf: chunks)
        // Tasks on an event loop run in order: this one runs after the loop has written the
        // chunks to the channel, which then knows whether it can take more.
        taken = eventLoop.submit {}
    }

    /// An empty buffer that holds exactly one chunk: sized once, not grown by doubling.
    static func chunkBuffer() -> ByteBuffer {
        ByteBufferAllocator().buffer(capacity: chunkBytes)
    }
}
