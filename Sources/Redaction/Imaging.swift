// The one Swift file that calls libvips (through CImaging's fixed-argument functions).
import CImaging
import Foundation

/// Formats libvips reads here, each with its own loader only (never libvips' guess).
public enum ImageFormat: String, Sendable, Codable, CaseIterable {
    case jpeg, png, webp, heif

    var code: Int32 {
        switch self {
        case .jpeg: Int32(SR_JPEG.rawValue)
        case .png: Int32(SR_PNG.rawValue)
        case .webp: Int32(SR_WEBP.rawValue)
        case .heif: Int32(SR_HEIF.rawValue)
        }
    }

    /// What a redrawn image is written as: HEIF becomes JPEG (Debian's libheif may lack an encoder,
    /// and every recipient can open a JPEG).
    public var redrawnAs: ImageFormat { self == .heif ? .jpeg : self }

    public var fileExtension: String {
        switch self {
        case .jpeg: "jpg"
        case .png: "png"
        case .webp: "webp"
        case .heif: "heic"
        }
    }
}

/// Pixels after redrawing.
struct Redrawn {
    var bytes: [UInt8]
    var width: Int
    var height: Int
    var bands: Int
}

enum Imaging {
    static let pdfCode = Int32(SR_PDF.rawValue)

    /// libvips starts once per process; calls are serialised (one worker thread, bounded memory).
    private static let started: Result<Void, RedactionError> = {
        var error = [CChar](repeating: 0, count: 512)
        guard sr_imaging_start(&error, error.count) == 0 else { return .failure(.imaging(message(error))) }
        return .success(())
    }()
    private static let lock = NSLock()

    static func message(_ buffer: [CChar]) -> String {
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// 8-bit pixels of an image (or a PDF page at `dpi`), for checks.
    static func decode(_ bytes: [UInt8], format: Int32, page: Int = 0, dpi: Double = 72, maxPixels: UInt64) throws -> Decoded {
        let got = try withOutput { out, error in
            bytes.withUnsafeBytes {
                sr_decode($0.baseAddress, $0.count, format, Int32(page), dpi, maxPixels,
                          &out.buffer, &out.size, &out.width, &out.height, &out.bands, &error, error.count)
            }
        }
        return Decoded(pixels: got.bytes, width: got.width, height: got.height, bands: got.bands)
    }

    static func probe(_ bytes: [UInt8], format: Int32, page: Int = 0, dpi: Double = 72) throws -> (width: Int, height: Int, pages: Int) {
        try started.get()
        return try lock.withLock {
            var width: Int32 = 0, height: Int32 = 0, pages: Int32 = 0
            var error = [CChar](repeating: 0, count: 512)
            let result = bytes.withUnsafeBytes {
                sr_probe($0.baseAddress, $0.count, format, Int32(page), dpi, &width, &height, &pages, &error, error.count)
            }
            guard result == 0 else { throw RedactionError.unreadable(message(error)) }
            return (Int(width), Int(height), Int(pages))
        }
    }

    static func redraw(
        _ bytes: [UInt8], format: Int32, page: Int = 0, dpi: Double = 72, maxPixels: UInt64, rects: [PixelRect],
        output: ImageFormat, quality: Int
    ) throws -> Redrawn {
        let cRects = rects.map { sr_rect(x: Int32($0.x), y: Int32($0.y), width: Int32($0.width), height: Int32($0.height)) }
        let got = try withOutput { out, error in
            bytes.withUnsafeBytes { data in
                cRects.withUnsafeBufferPointer { r in
                    sr_redraw(data.baseAddress, data.count, format, Int32(page), dpi, maxPixels, r.baseAddress, Int32(r.count),
                              output.code, Int32(quality), &out.buffer, &out.size, &out.width, &out.height, &out.bands, &error, error.count)
                }
            }
        }
        return Redrawn(bytes: got.bytes, width: got.width, height: got.height, bands: got.bands)
    }

    /// A PNG preview of an image or a PDF page (from 0), its longest side at most `maxSide`;
    /// and the page count (1 for an image).
    static func preview(_ bytes: [UInt8], format: Int32, page: Int, maxSide: Int, maxPixels: UInt64) throws -> (png: [UInt8], pages: Int) {
        let got = try withOutput { out, error in
            bytes.withUnsafeBytes {
                sr_preview($0.baseAddress, $0.count, format, Int32(page), Int32(maxSide), maxPixels,
                           &out.buffer, &out.size, &out.width, &out.height, &out.bands, &error, error.count)
            }
        }
        return (got.bytes, got.bands)
    }

    /// A white canvas with `shapes` and `labels` drawn on it, as PNG.
    static func draw(width: Int, height: Int, shapes: [Drawing.Shape], labels: [Drawing.Label], jpegQuality: Int? = nil) throws -> [UInt8] {
        let got = try withOutput { out, error in
            // The C structs point into these arrays, kept alive for the call.
            let coordinates = shapes.map { $0.points.flatMap { [$0.x, $0.y] } }
            let texts = labels.map { Array($0.text.utf8CString) }
            let fonts = labels.map { Array($0.font.utf8CString) }
            return withPointers(coordinates) { xy in
                withPointers(texts) { text in withPointers(fonts) { font in
                    let cShapes = shapes.indices.map { i in
                        sr_shape(xy: xy[i], count: Int32(shapes[i].points.count), closed: shapes[i].closed ? 1 : 0,
                                 width: shapes[i].width, r: shapes[i].colour.r, g: shapes[i].colour.g, b: shapes[i].colour.b)
                    }
                    let cLabels = labels.indices.map { i in
                        sr_label(text: text[i], font: font[i], x: Int32(labels[i].x), y: Int32(labels[i].y), height: Int32(labels[i].height),
                                 r: labels[i].colour.r, g: labels[i].colour.g, b: labels[i].colour.b)
                    }
                    return sr_draw(Int32(width), Int32(height), cShapes, Int32(cShapes.count), cLabels, Int32(cLabels.count),
                                   jpegQuality == nil ? Int32(SR_PNG.rawValue) : Int32(SR_JPEG.rawValue), Int32(jpegQuality ?? 0),
                                   &out.buffer, &out.size, &error, error.count)
                } }
            }
        }
        return got.bytes
    }

    /// Base addresses of each array, valid inside `body`.
    private static func withPointers<T, R>(_ arrays: [[T]], _ body: ([UnsafePointer<T>?]) -> R) -> R {
        var pointers: [UnsafePointer<T>?] = []
        func next(_ i: Int) -> R {
            if i == arrays.count { return body(pointers) }
            return arrays[i].withUnsafeBufferPointer { buffer in
                pointers.append(buffer.baseAddress)
                return next(i + 1)
            }
        }
        return next(0)
    }

    /// What a call that hands back a libvips buffer fills in.
    struct Output {
        var buffer: UnsafeMutableRawPointer?
        var size = 0
        var width: Int32 = 0
        var height: Int32 = 0
        var bands: Int32 = 0
    }

    /// Runs `call` under the lock, copies the buffer it made and frees it, and turns its result
    /// code into the error that names the problem.
    private static func withOutput(
        _ call: (inout Output, inout [CChar]) -> Int32
    ) throws -> (bytes: [UInt8], width: Int, height: Int, bands: Int) {
        try started.get()
        return try lock.withLock {
            var out = Output()
            var error = [CChar](repeating: 0, count: 512)
            let result = call(&out, &error)
            defer { sr_free(out.buffer) }
            switch result {
            case 0: break
            case -2: throw RedactionError.tooManyPixels(message(error))
            case -3: throw RedactionError.rectangleOutside(message(error))
            default: throw RedactionError.unreadable(message(error))
            }
            guard let buffer = out.buffer else { throw RedactionError.imaging("no output") }
            return (Array(UnsafeRawBufferPointer(start: buffer, count: out.size)), Int(out.width), Int(out.height), Int(out.bands))
        }
    }
}

/// Decoded 8-bit pixels, row by row.
public struct Decoded: Sendable {
    public var pixels: [UInt8]
    public var width: Int
    public var height: Int
    public var bands: Int

    public func pixel(x: Int, y: Int) -> ArraySlice<UInt8> {
        let start = (y * width + x) * bands
        return pixels[start..<start + bands]
    }
}

/// A rectangle in pixels of the image as shown (EXIF orientation applied).
struct PixelRect: Equatable {
    var x, y, width, height: Int
}
