// The one file that imports libmagic.
import CMagic
import Foundation

/// Content sniffing with libmagic. The database is loaded once per sniffer; a `magic_t` must
/// not be shared between threads, so calls are serialised by a lock (the server keeps one
/// sniffer per worker).
public final class MagicSniffer: @unchecked Sendable {
    /// How many leading bytes are sniffed: one blob chunk. Enough for every allowed format's
    /// signature (OOXML and ODF name their type in the first zip entries) and bounded, because
    /// libmagic's text checks cost about a millisecond per 4 KiB (PERF-NOTES.md).
    public static let sniffBytes = 64 * 1024

    private let cookie: OpaquePointer
    private let lock = NSLock()

    public init() throws {
        // MIME type only; never decompress or fork; skip checks whose types we refuse anyway
        // (CDF = legacy OLE documents, CSV, JSON) and ELF details (an ELF file is still named).
        let flags = MAGIC_MIME_TYPE | MAGIC_ERROR | MAGIC_NO_CHECK_COMPRESS | MAGIC_NO_COMPRESS_FORK
            | MAGIC_NO_CHECK_CDF | MAGIC_NO_CHECK_CSV | MAGIC_NO_CHECK_JSON | MAGIC_NO_CHECK_ELF
        guard let cookie = magic_open(Int32(flags)) else { throw VaultError.sniffer("magic_open failed") }
        guard magic_load(cookie, nil) == 0 else {
            let message = magic_error(cookie).map { String(cString: $0) } ?? "unknown error"
            magic_close(cookie)
            throw VaultError.sniffer("cannot load the libmagic database: \(message)")
        }
        var bytesMax = Self.sniffBytes
        _ = magic_setparam(cookie, MAGIC_PARAM_BYTES_MAX, &bytesMax)
        self.cookie = cookie
    }

    deinit { magic_close(cookie) }

    /// The MIME type libmagic finds in `bytes` (the first bytes of a file).
    public func mimeType(of bytes: UnsafeRawBufferPointer) throws -> String {
        try lock.withLock {
            guard let result = magic_buffer(cookie, bytes.baseAddress, bytes.count) else {
                let message = magic_error(cookie).map { String(cString: $0) } ?? "unknown error"
                throw VaultError.sniffer(message)
            }
            return String(cString: result)
        }
    }
}
