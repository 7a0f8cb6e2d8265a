import Foundation

/// Simple drawings the server makes itself (a body map): strokes, discs and short labels on a
/// white canvas, encoded as PNG by libvips with no metadata.
public enum Drawing {
    public struct Colour: Sendable, Equatable {
        public var r, g, b: UInt8
        public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) { (self.r, self.g, self.b) = (r, g, b) }
    }

    public struct Point: Sendable, Equatable {
        public var x, y: Double
        public init(_ x: Double, _ y: Double) { (self.x, self.y) = (x, y) }
    }

    /// A polyline stroked `width` pixels wide (closed: back to its first point), or a filled disc
    /// of diameter `width` when it has one point.
    public struct Shape: Sendable, Equatable {
        public var points: [Point]
        public var closed: Bool
        public var width: Double
        public var colour: Colour
        public init(points: [Point], closed: Bool = false, width: Double, colour: Colour) {
            (self.points, self.closed, self.width, self.colour) = (points, closed, width, colour)
        }
    }

    /// Text with its top left at (x, y), about `height` pixels high, in a Pango font family and
    /// style ("sans bold", "sans").
    public struct Label: Sendable, Equatable {
        public var text: String
        public var x, y, height: Int
        public var colour: Colour
        public var font: String
        public init(_ text: String, x: Int, y: Int, height: Int, colour: Colour, font: String = "sans bold") {
            (self.text, self.x, self.y, self.height, self.colour, self.font) = (text, x, y, height, colour, font)
        }
    }

    /// The PNG of `shapes` then `labels` on a white `width` x `height` canvas.
    public static func png(width: Int, height: Int, shapes: [Shape], labels: [Label]) throws -> [UInt8] {
        try Imaging.draw(width: width, height: height, shapes: shapes, labels: labels)
    }

    /// A PDF of A4 pages (portrait, 150 dpi: 1240 x 1754 pixels), each drawn from its shapes and
    /// labels; image-only, with no text layer, fonts or metadata (as `ImageOnlyPDF` writes).
    public static func a4PDF(_ pages: [(shapes: [Shape], labels: [Label])]) throws -> [UInt8] {
        let rendered = try pages.map { page in
            ImageOnlyPDF.Page(
                jpeg: try Imaging.draw(width: a4Width, height: a4Height, shapes: page.shapes, labels: page.labels, jpegQuality: 85),
                pixelWidth: a4Width, pixelHeight: a4Height, gray: false, pointWidth: 595.28, pointHeight: 841.89)
        }
        return ImageOnlyPDF.write(rendered)
    }

    public static let a4Width = 1240
    public static let a4Height = 1754
}
