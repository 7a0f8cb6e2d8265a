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

    /// Text with its top left at (x, y), about `height` pixels high.
    public struct Label: Sendable, Equatable {
        public var text: String
        public var x, y, height: Int
        public var colour: Colour
        public init(_ text: String, x: Int, y: Int, height: Int, colour: Colour) {
            (self.text, self.x, self.y, self.height, self.colour) = (text, x, y, height, colour)
        }
    }

    /// The PNG of `shapes` then `labels` on a white `width` x `height` canvas.
    public static func png(width: Int, height: Int, shapes: [Shape], labels: [Label]) throws -> [UInt8] {
        try Imaging.draw(width: width, height: height, shapes: shapes, labels: labels)
    }
}
