// The one file that imports zlib.
import CLibZ

/// Streaming DEFLATE decompression with a hard cap on output, for the content checks that must
/// look inside a compressed part (a PDF's object streams, an office document's list of content
/// types). Input is pushed as it arrives; output goes to `sink` in pieces of at most 16 KiB and
/// is never kept. The sink sees the first `limit` bytes; more stops the inflater (`.overLimit`):
/// a small input that expands without end (a decompression bomb) costs at most `limit` bytes of
/// work. The sink stops it too, by returning false, once it has seen enough.
final class Inflater {
    enum Format {
        /// A zlib stream (RFC 1950): a PDF's /FlateDecode.
        case zlib
        /// Raw DEFLATE (RFC 1951): a zip entry of method 8.
        case raw
    }

    enum State: Equatable {
        case running
        /// The compressed stream ended; bytes after it are ignored.
        case finished
        /// The data is not DEFLATE, or needs a preset dictionary.
        case damaged
        case overLimit
        /// The sink asked for no more.
        case stopped
    }

    private(set) var state: State = .running
    private(set) var produced = 0
    let limit: Int
    private var stream = z_stream()
    private var open = false
    private var out = [UInt8](repeating: 0, count: 16 * 1024)

    init(_ format: Format, limit: Int) {
        self.limit = limit
        let windowBits: Int32 = format == .zlib ? 15 : -15
        open = inflateInit2_(&stream, windowBits, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK
        if !open { state = .damaged }
    }

    deinit { if open { inflateEnd(&stream) } }

    /// Inflates `input`, handing the output to `sink` (which returns whether to go on).
    /// Returns the state afterwards.
    @discardableResult
    func push(_ input: UnsafeRawBufferPointer, _ sink: (UnsafeRawBufferPointer) -> Bool) -> State {
        guard state == .running, let base = input.baseAddress, !input.isEmpty else { return state }
        stream.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = uInt(input.count)
        defer { stream.next_in = nil; stream.avail_in = 0 }
        while state == .running {
            let room = min(out.count, limit - produced + 1)
            let (code, made) = out.withUnsafeMutableBytes { buffer -> (Int32, Int) in
                stream.next_out = buffer.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.avail_out = uInt(room)
                let code = inflate(&stream, Z_NO_FLUSH)
                return (code, room - Int(stream.avail_out))
            }
            // The sink sees every byte up to the limit, then the inflater stops.
            let deliver = min(made, limit - produced)
            produced += made
            if deliver > 0, !out.withUnsafeBytes({ sink(UnsafeRawBufferPointer(rebasing: $0[0..<deliver])) }) { state = .stopped; break }
            if produced > limit { state = .overLimit; break }
            switch code {
            case Z_STREAM_END: state = .finished
            case Z_OK: if stream.avail_in == 0 && stream.avail_out > 0 { return state }
            case Z_BUF_ERROR: return state  // needs more input
            default: state = .damaged  // Z_DATA_ERROR, Z_NEED_DICT, Z_MEM_ERROR
            }
        }
        if state != .running, open { inflateEnd(&stream); open = false }
        return state
    }
}
