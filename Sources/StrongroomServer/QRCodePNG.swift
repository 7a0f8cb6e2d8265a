import CQREncode

/// A QR code (error correction level M, byte mode) as a PNG image: black modules on white,
/// each drawn as a square of `scale` pixels, inside the 4-module quiet zone readers need.
/// The only file that calls libqrencode.
///
///     let png = try QRCodePNG(text: "otpauth://totp/...").png
///
/// The text of an enrolment QR code is a TOTP secret: it is never logged, and the image is
/// served with `Cache-Control: no-store`.
struct QRCodePNG {
    static let quietZone = 4

    enum Failure: Error, Equatable {
        /// libqrencode could not encode the text (too long for any version, or out of memory).
        case cannotEncode
        case badScale
    }

    /// The symbol's modules, row by row: true is dark.
    let modules: [[Bool]]
    let scale: Int

    init(text: String, scale: Int = 6) throws {
        guard (1...32).contains(scale) else { throw Failure.badScale }
        // Version 0 lets libqrencode choose the smallest version that holds the text.
        guard let code = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M) else { throw Failure.cannotEncode }
        defer { QRcode_free(code) }
        let width = Int(code.pointee.width)
        let data = code.pointee.data!
        // Bit 0 of each byte is the module's colour; the other bits say what kind of module it is.
        modules = (0..<width).map { y in (0..<width).map { x in data[y * width + x] & 1 == 1 } }
        self.scale = scale
    }

    /// The image's width and height in pixels.
    var side: Int { (modules.count + 2 * Self.quietZone) * scale }

    var png: [UInt8] {
        get throws {
            let side = self.side
            var pixels = [UInt8](repeating: 255, count: side * side)
            for (y, row) in modules.enumerated() {
                for (x, dark) in row.enumerated() where dark {
                    let left = (x + Self.quietZone) * scale, top = (y + Self.quietZone) * scale
                    for py in top..<(top + scale) {
                        pixels.replaceSubrange((py * side + left)..<(py * side + left + scale), with: repeatElement(0, count: scale))
                    }
                }
            }
            return try GrayscalePNG.encode(width: side, height: side, pixels: pixels)
        }
    }
}
