import Foundation

/// The outline of a child's body, front and back, that marks are placed on: polylines in
/// fractions (0 to 1) of a frame twice as high as it is wide. The editor draws the same paths
/// (served as JSON at `GET /v1/body-maps/outline`), so a mark lands in the same place on the
/// screen and in the stored drawing.
public enum BodyOutline {
    /// Width over height of the frame.
    public static let aspect = 0.5

    /// The silhouette: head, then the body from the neck round the right arm and leg (as seen)
    /// and back up the left, closed.
    public static let silhouette: [[Double]] = {
        let right: [[Double]] = [
            [0.54, 0.135], [0.70, 0.175], [0.78, 0.24], [0.82, 0.34], [0.87, 0.47], [0.89, 0.53], [0.85, 0.545],
            [0.79, 0.47], [0.74, 0.35], [0.69, 0.27], [0.67, 0.40], [0.69, 0.52], [0.67, 0.72], [0.65, 0.93],
            [0.70, 0.975], [0.56, 0.98], [0.555, 0.75], [0.50, 0.56],
        ]
        let left = right.dropLast().reversed().map { [1 - $0[0], $0[1]] }
        return right + left
    }()

    /// The head, as a polygon of 32 corners.
    public static let head: [[Double]] = (0..<32).map { i in
        let angle = Double(i) / 32 * 2 * Double.pi
        return [0.5 + 0.12 * cos(angle), 0.07 + 0.06 * sin(angle)]
    }

    /// Closed polylines of each view. The back adds the line of the spine.
    public static func paths(_ side: BodyMark.Side) -> [(points: [[Double]], closed: Bool)] {
        var paths = [(head, true), (silhouette, true)]
        if side == .back { paths.append(([[0.5, 0.15], [0.5, 0.50]], false)) }
        return paths
    }
}
