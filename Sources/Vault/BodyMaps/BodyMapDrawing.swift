import Foundation
import Redaction

/// The picture of a body map the vault stores: both views of `BodyOutline` side by side, each
/// mark drawn in its colour and numbered as in the list of marks, rendered by libvips.
enum BodyMapDrawing {
    static let panelWidth = 400.0
    static let panelHeight = 800.0
    static let margin = 40.0
    static let top = 70.0
    static let width = Int(2 * panelWidth + 3 * margin)
    static let height = Int(top + panelHeight + margin)

    static let outlineColour = Drawing.Colour(90, 90, 90)

    static func rgb(_ colour: BodyMark.Colour) -> Drawing.Colour {
        switch colour {
        case .red: Drawing.Colour(200, 30, 30)
        case .blue: Drawing.Colour(30, 80, 200)
        case .green: Drawing.Colour(20, 140, 60)
        case .purple: Drawing.Colour(120, 40, 160)
        case .orange: Drawing.Colour(230, 120, 0)
        case .black: Drawing.Colour(0, 0, 0)
        }
    }

    /// Where a fraction of a view lands on the canvas.
    static func place(_ point: [Double], _ side: BodyMark.Side) -> Drawing.Point {
        let left = side == .front ? margin : 2 * margin + panelWidth
        return Drawing.Point(left + point[0] * panelWidth, top + point[1] * panelHeight)
    }

    static func png(_ marks: [BodyMark]) throws -> [UInt8] {
        var shapes: [Drawing.Shape] = []
        var labels = [
            Drawing.Label("Front", x: Int(margin), y: 20, height: 28, colour: Drawing.Colour(0, 0, 0)),
            Drawing.Label("Back", x: Int(2 * margin + panelWidth), y: 20, height: 28, colour: Drawing.Colour(0, 0, 0)),
        ]
        for side in [BodyMark.Side.front, .back] {
            for path in BodyOutline.paths(side) {
                shapes.append(Drawing.Shape(points: path.points.map { place($0, side) }, closed: path.closed, width: 3, colour: outlineColour))
            }
        }
        for (index, mark) in marks.enumerated() {
            let colour = rgb(mark.colour)
            let points = mark.points.map { place($0, mark.side) }
            switch mark.shape {
            case .point:
                shapes.append(Drawing.Shape(points: points, width: Double(8 + 4 * mark.size), colour: colour))
            case .area:
                shapes.append(Drawing.Shape(points: points, closed: true, width: Double(1 + mark.size), colour: colour))
            }
            // The number, beside the mark's first point, as in the list.
            let anchor = points[0]
            labels.append(Drawing.Label(String(index + 1), x: Int(anchor.x) + 10 + 2 * mark.size, y: Int(anchor.y) - 24, height: 24, colour: colour))
        }
        return try Drawing.png(width: width, height: height, shapes: shapes, labels: labels)
    }
}
