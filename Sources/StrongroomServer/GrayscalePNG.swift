import CLibZ

/// A PNG file of 8-bit greyscale pixels (colour type 0), written with zlib: enough for a QR
/// code, and nothing else of the PNG format (no palette, no alpha, no interlacing, no metadata).
///
///     let png = try GrayscalePNG.encode(width: 2, height: 1, pixels: [0, 255])
enum GrayscalePNG {
    enum Failure: Error, Equatable {
        case badSize
        case compression(Int32)
    }

    static func encode(width: Int, height: Int, pixels: [UInt8]) throws -> [UInt8] {
        guard width > 0, height > 0, width <= 8192, height <= 8192, pixels.count == width * height else { throw Failure.badSize }
        // Each scanline starts with its filter type: 0 (None). The image is two flat colours,
        // which deflate already squeezes well without a prediction filter.
        var raw = [UInt8]()
        raw.reserveCapacity((width + 1) * height)
        for row in 0..<height {
            raw.append(0)
            raw.append(contentsOf: pixels[(row * width)..<((row + 1) * width)])
        }
        var out: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        var header = bigEndian(UInt32(width)) + bigEndian(UInt32(height))
        header += [8, 0, 0, 0, 0]  // bit depth 8, greyscale, deflate, adaptive filtering, no interlace
        chunk("IHDR", header, into: &out)
        chunk("IDAT", try deflate(raw), into: &out)
        chunk("IEND", [], into: &out)
        return out
    }

    private static func deflate(_ bytes: [UInt8]) throws -> [UInt8] {
        var size = compressBound(uLong(bytes.count))
        var out = [UInt8](repeating: 0, count: Int(size))
        let status = compress2(&out, &size, bytes, uLong(bytes.count), 9)
        guard status == Z_OK else { throw Failure.compression(status) }
        return Array(out.prefix(Int(size)))
    }

    private static func chunk(_ type: String, _ data: [UInt8], into out: inout [UInt8]) {
        let typed = Array(type.utf8) + data
        out += bigEndian(UInt32(data.count))
        out += typed
        out += bigEndian(UInt32(crc32(0, typed, uInt(typed.count))))
    }

    private static func bigEndian(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF)]
    }
}
