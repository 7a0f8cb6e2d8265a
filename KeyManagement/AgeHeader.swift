import Foundation

/// The parsed header of an age v1 file, read strictly as https://age-encryption.org/v1 writes it:
///
///     age-encryption.org/v1
///     -> TYPE ARG ARG…          (each argument one or more printable ASCII characters)
///     BODY                      (base64, lines of exactly 64 columns, ended by one shorter line)
///     --- MAC                   (base64 of 32 bytes)
///
/// Lines end in LF alone; base64 is standard, unpadded and canonical. Anything else is refused,
/// so no two byte strings read as the same header and the MAC covers exactly what was parsed.
struct AgeHeader {
    struct Stanza {
        var type: String
        var arguments: [String]
        var body: [UInt8]
    }

    static let versionLine = Array("age-encryption.org/v1".utf8)
    static let formatPrefix = Array("age-encryption.org/".utf8)
    static let footerPrefix = Array("---".utf8)
    static let columns = 64

    var stanzas: [Stanza]
    var mac: [UInt8]
    /// How many bytes, from the start, the MAC covers: the header through "---".
    var macCoverage: Int

    /// Parses `bytes`, which hold the whole header through the LF that ends the MAC line.
    static func parse(_ bytes: [UInt8]) throws -> AgeHeader {
        var lines: [ArraySlice<UInt8>] = []
        var lineStart = 0
        for i in bytes.indices where bytes[i] == 0x0a {
            lines.append(bytes[lineStart..<i])
            lineStart = i + 1
        }
        guard lineStart == bytes.count, let first = lines.first else { throw AgeError.malformedHeader("the header does not end with a line break") }
        guard Array(first) == versionLine else {
            guard first.starts(with: formatPrefix) else { throw AgeError.notAgeFile }
            throw AgeError.malformedHeader("the first line is not age-encryption.org/v1 (another version, or a stray character)")
        }
        var stanzas: [Stanza] = []
        var index = 1
        var offset = first.count + 1
        while index < lines.count {
            let line = lines[index]
            if line.starts(with: footerPrefix) {
                guard index == lines.count - 1 else { throw AgeError.malformedHeader("lines follow the MAC line") }
                guard !stanzas.isEmpty else { throw AgeError.malformedHeader("there is no recipient stanza") }
                let rest = line.dropFirst(footerPrefix.count)
                guard rest.first == 0x20, let mac = decodeCanonicalBase64(rest.dropFirst()), mac.count == 32 else {
                    throw AgeError.malformedHeader("the MAC line is not \"--- \" and the base64 of 32 bytes")
                }
                return AgeHeader(stanzas: stanzas, mac: mac, macCoverage: offset + footerPrefix.count)
            }
            guard line.starts(with: Array("-> ".utf8)) else {
                throw AgeError.malformedHeader("line \(index + 1) is neither a stanza nor the MAC line")
            }
            let arguments = line.dropFirst(3).split(separator: 0x20, omittingEmptySubsequences: false)
            guard arguments.allSatisfy({ !$0.isEmpty && $0.allSatisfy { (33...126).contains($0) } }) else {
                throw AgeError.malformedHeader("stanza arguments on line \(index + 1) must be non-empty printable ASCII separated by single spaces")
            }
            offset += line.count + 1
            index += 1
            var text: [UInt8] = []
            while true {
                guard index < lines.count, !lines[index].starts(with: footerPrefix) else {
                    throw AgeError.malformedHeader("a stanza body must end with a line shorter than \(columns) columns")
                }
                let bodyLine = lines[index]
                guard bodyLine.count <= columns else { throw AgeError.malformedHeader("line \(index + 1) is longer than \(columns) columns") }
                text += bodyLine
                offset += bodyLine.count + 1
                index += 1
                if bodyLine.count < columns { break }
            }
            guard let body = decodeCanonicalBase64(text[...]) else {
                throw AgeError.malformedHeader("a stanza body is not canonical unpadded base64")
            }
            stanzas.append(Stanza(
                type: String(decoding: arguments[0], as: UTF8.self),
                arguments: arguments.dropFirst().map { String(decoding: $0, as: UTF8.self) },
                body: body))
        }
        throw AgeError.malformedHeader("there is no MAC line")
    }

    /// Standard base64 without padding, accepted only in its one canonical form (unused bits zero),
    /// as age requires; nil otherwise.
    static func decodeCanonicalBase64(_ text: ArraySlice<UInt8>) -> [UInt8]? {
        let alphabet: (UInt8) -> Bool = { (65...90).contains($0) || (97...122).contains($0) || (48...57).contains($0) || $0 == 43 || $0 == 47 }
        guard text.count % 4 != 1, text.allSatisfy(alphabet) else { return nil }
        let unpadded = String(decoding: text, as: UTF8.self)
        let padded = unpadded + String(repeating: "=", count: (4 - text.count % 4) % 4)
        guard let data = Data(base64Encoded: padded) else { return nil }
        let bytes = [UInt8](data)
        guard AgeEncryptor.base64(bytes) == unpadded else { return nil }
        return bytes
    }
}
