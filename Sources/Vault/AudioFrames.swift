/// Structure checks for the two formats libmagic names from two bytes: MPEG audio (MP3) and
/// AAC in ADTS frames. libmagic calls any file that begins with an 11- or 12-bit frame sync
/// audio, so about one file of random bytes in a thousand passes as MP3 or AAC. A real stream is
/// a chain of frames, each header giving the next one's offset; random bytes break that chain
/// at once. This is what decoders' probes check too.
enum AudioFrames {
    /// How many frames after the first must chain (when the file is long enough to hold them).
    static let framesToFollow = 3

    /// Tags that may follow the last frame: ID3v1, ID3v2 (appended), APE, Lyrics3.
    private static let trailers: [[UInt8]] = [Array("TAG".utf8), Array("ID3".utf8), Array("APETAGEX".utf8), Array("LYRICS".utf8)]

    /// Whether `prefix` (the first bytes of the file, or all of it) is MPEG audio. A leading
    /// ID3v2 tag is accepted as it is: it can hold megabytes of cover art before the first frame.
    static func isMPEGAudio(_ prefix: UnsafeRawBufferPointer) -> Bool {
        if startsWith(prefix, at: 0, Array("ID3".utf8)) { return true }
        return chains(prefix, header: mpegHeader)
    }

    /// Whether `prefix` is AAC in ADTS frames.
    static func isADTS(_ prefix: UnsafeRawBufferPointer) -> Bool {
        if startsWith(prefix, at: 0, Array("ID3".utf8)) { return true }
        return chains(prefix, header: adtsHeader)
    }

    /// A frame header: the frame's length and the stream parameters that stay the same from
    /// frame to frame.
    struct Header: Equatable {
        var length: Int
        var stream: UInt32
    }

    /// The first frame at offset 0, then every next one, must be a header of the same stream,
    /// until `framesToFollow` have been seen or the data ends exactly at a frame boundary or at
    /// a trailing tag. A frame cut off by the end of `prefix` is fine only when `prefix` holds
    /// at least two frames (a long file's sniffed prefix ends anywhere).
    private static func chains(_ bytes: UnsafeRawBufferPointer, header: (UnsafeRawBufferPointer, Int) -> Header?) -> Bool {
        guard let first = header(bytes, 0) else { return false }
        var offset = first.length
        var seen = 1
        while seen <= framesToFollow {
            if offset == bytes.count { return true }
            if offset + 7 > bytes.count { return seen >= 2 }
            if trailers.contains(where: { startsWith(bytes, at: offset, $0) }) { return true }
            guard let next = header(bytes, offset), next.stream == first.stream else { return false }
            offset += next.length
            seen += 1
        }
        return true
    }

    private static func startsWith(_ bytes: UnsafeRawBufferPointer, at offset: Int, _ marker: [UInt8]) -> Bool {
        guard offset + marker.count <= bytes.count else { return false }
        return marker.indices.allSatisfy { bytes[offset + $0] == marker[$0] }
    }

    // MARK: MPEG-1, -2 and -2.5 audio, layers I to III (ISO/IEC 11172-3, 13818-3)

    private static let bitratesKbps: [[Int]] = [
        [0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448],  // MPEG-1 layer I
        [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384],     // MPEG-1 layer II
        [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],      // MPEG-1 layer III
        [0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],     // MPEG-2/2.5 layer I
        [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],          // MPEG-2/2.5 layers II, III
    ]

    static func mpegHeader(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> Header? {
        guard offset + 4 <= bytes.count else { return nil }
        let b1 = bytes[offset + 1], b2 = bytes[offset + 2], b3 = bytes[offset + 3]
        guard bytes[offset] == 0xff, b1 & 0xe0 == 0xe0 else { return nil }
        let version = Int(b1 >> 3 & 3)      // 0: 2.5, 1: reserved, 2: MPEG-2, 3: MPEG-1
        let layerBits = Int(b1 >> 1 & 3)    // 0: reserved, 1: III, 2: II, 3: I
        let bitrateIndex = Int(b2 >> 4), rateIndex = Int(b2 >> 2 & 3), padding = Int(b2 >> 1 & 1)
        // Free-format (bitrate 0) frames give no length to follow; no recorder writes them.
        guard version != 1, layerBits != 0, bitrateIndex != 0, bitrateIndex != 15, rateIndex != 3, b3 & 3 != 2 else { return nil }
        let layer = 4 - layerBits
        let mpeg1 = version == 3
        let table = mpeg1 ? layer - 1 : (layer == 1 ? 3 : 4)
        let bitrate = bitratesKbps[table][bitrateIndex] * 1000
        let sampleRate = [44100, 48000, 32000][rateIndex] >> (version == 3 ? 0 : version == 2 ? 1 : 2)
        let length: Int
        switch layer {
        case 1: length = (12 * bitrate / sampleRate + padding) * 4
        case 3 where !mpeg1: length = 72 * bitrate / sampleRate + padding
        default: length = 144 * bitrate / sampleRate + padding
        }
        guard length >= 4 else { return nil }
        return Header(length: length, stream: UInt32(b1 & 0xfe) << 8 | UInt32(b2 & 0x0c))
    }

    // MARK: ADTS (ISO/IEC 13818-7)

    static func adtsHeader(_ bytes: UnsafeRawBufferPointer, at offset: Int) -> Header? {
        guard offset + 7 <= bytes.count else { return nil }
        let b1 = bytes[offset + 1], b2 = bytes[offset + 2], b3 = bytes[offset + 3]
        guard bytes[offset] == 0xff, b1 & 0xf6 == 0xf0 else { return nil }  // 12-bit sync, layer 0
        let rateIndex = b2 >> 2 & 0x0f
        guard rateIndex <= 12 else { return nil }
        let length = Int(b3 & 3) << 11 | Int(bytes[offset + 4]) << 3 | Int(bytes[offset + 5] >> 5)
        let headerLength = b1 & 1 == 1 ? 7 : 9
        guard length > headerLength else { return nil }
        return Header(length: length, stream: UInt32(b1 & 0x08) << 16 | UInt32(b2 & 0xfc) << 8 | UInt32(b3 >> 6))
    }
}
