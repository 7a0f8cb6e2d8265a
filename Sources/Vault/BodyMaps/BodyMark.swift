import Foundation
import Storage

/// One injury marked on a body map: where (a point, or an area drawn as a polygon) on which view
/// of the body, how it is drawn, and what was seen. Coordinates are fractions (0 to 1) of the
/// outline's width and height (`BodyOutline`), so they mean the same in the editor and on the
/// server's drawing.
public struct BodyMark: Codable, Sendable, Equatable {
    public enum Side: String, Codable, Sendable { case front, back }
    public enum Shape: String, Codable, Sendable { case point, area }
    /// Named colours: a mark is never told apart by colour alone (each is numbered, and its colour
    /// is named in the list).
    public enum Colour: String, Codable, Sendable, CaseIterable { case red, blue, green, purple, orange, black }

    public var side: Side
    public var shape: Shape
    public var points: [[Double]]
    public var colour: Colour
    public var size: Int
    public var note: String

    public init(side: Side, shape: Shape, points: [[Double]], colour: Colour, size: Int, note: String) {
        (self.side, self.shape, self.points, self.colour, self.size, self.note) = (side, shape, points, colour, size, note)
    }

    public static let maxMarks = 50
    public static let maxAreaPoints = 50
    public static let maxNoteCharacters = 500

    /// The marks as stored, or the first problem in words that name the mark (never its note).
    static func validated(_ marks: [BodyMark]) throws -> [BodyMark] {
        guard (1...maxMarks).contains(marks.count) else {
            throw VaultError.invalidArgument("a body map has 1 to \(maxMarks) marks")
        }
        return try marks.enumerated().map { index, mark in
            let which = "mark \(index + 1)"
            var clean = mark
            switch mark.shape {
            case .point:
                guard mark.points.count == 1 else { throw VaultError.invalidArgument("\(which): a point has exactly one position") }
            case .area:
                guard (3...maxAreaPoints).contains(mark.points.count) else {
                    throw VaultError.invalidArgument("\(which): an area has 3 to \(maxAreaPoints) corners")
                }
            }
            for point in mark.points {
                guard point.count == 2, point.allSatisfy({ $0.isFinite && (0...1).contains($0) }) else {
                    throw VaultError.invalidArgument("\(which): positions are two numbers from 0 to 1")
                }
            }
            guard (1...5).contains(mark.size) else { throw VaultError.invalidArgument("\(which): size is 1 to 5") }
            clean.note = mark.note.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !clean.note.isEmpty, clean.note.count <= maxNoteCharacters else {
                throw VaultError.invalidArgument("\(which): a note of 1 to \(maxNoteCharacters) characters says what was seen")
            }
            guard !clean.note.unicodeScalars.contains(where: { LogText.needsEscape($0) || Vault.isInvisible($0) }) else {
                throw VaultError.invalidArgument("\(which): the note may not contain control or invisible characters")
            }
            return clean
        }
    }
}
