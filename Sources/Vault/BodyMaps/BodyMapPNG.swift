import Foundation
import Storage

/// How a body map's marks travel inside its record: the drawn PNG carries them as one `iTXt`
/// chunk (keyword `strongroom-body-map`, uncompressed UTF-8 JSON `{"version":1,"marks":[...]}`)
/// before `IEND` (docs/content.md). The picture shows any viewer where the injuries were; the
/// chunk lets a DSL read the marks as a list. Both are inside the record's encrypted blob.
enum BodyMapPNG {
    static let keyword = "strongroom-body-map"
    static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    struct Payload: Codable {
        var version: Int
        var marks: [BodyMark]
    }

    /// `png` with the marks' chunk inserted before its IEND.
    static func embed(_ marks: [BodyMark], in png: [UInt8]) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let json = try encoder.encode(Payload(version: 1, marks: marks))
        let data = Array(keyword.utf8) + [0, 0, 0, 0, 0] + Array(json)
        guard png.count > 20, Array(png.prefix(8)) == signature, Array(png.suffix(12).prefix(8).suffix(4)) == Array("IEND".utf8) else {
            throw VaultError.invalidArgument("the drawing is not a PNG")
        }
        return Array(png.dropLast(12)) + chunk("iTXt", data) + Array(png.suffix(12))
    }

    /// The marks a body map drawn here carries; nil for any other PNG (or not a PNG).
    static func marks(in png: [UInt8]) -> [BodyMark]? {
        guard png.count > 8, Array(png.prefix(8)) == signature else { return nil }
        var offset = 8
        while offset + 12 <= png.count {
            let length = Int(png[offset]) << 24 | Int(png[offset + 1]) << 16 | Int(png[offset + 2]) << 8 | Int(png[offset + 3])
            guard length >= 0, length <= png.count - offset - 12 else { return nil }
            let type = String(decoding: png[(offset + 4)..<(offset + 8)], as: UTF8.self)
            let data = png[(offset + 8)..<(offset + 8 + length)]
            if type == "iTXt", data.starts(with: Array(keyword.utf8) + [0, 0, 0, 0, 0]) {
                let json = data.dropFirst(keyword.utf8.count + 5)
                // The chunk is read back from a stored file anyone with the upload grant could
                // have made: marks that the editor could not have saved are not shown as a list.
                guard let payload = try? JSONDecoder().decode(Payload.self, from: Data(json)), payload.version == 1,
                      let marks = try? BodyMark.validated(payload.marks), marks == payload.marks else { return nil }
                return marks
            }
            if type == "IEND" { return nil }
            offset += 12 + length
        }
        return nil
    }

    static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let body = Array(type.utf8) + data
        return bigEndian(UInt32(data.count)) + body + bigEndian(crc32(body))
    }

    static func bigEndian(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }

    /// PNG's CRC-32 (ISO 3309), over a chunk's type and data.
    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }
}
