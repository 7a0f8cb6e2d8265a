import Foundation
import XCTest
@testable import KeyManagement
import TestSupport

/// The X25519 vectors of the age testkit (C2SP CCTV, copied into AgeVectors/): each file must open
/// with the payload it names, or fail in the way it names, having released only the plaintext its
/// payload hash covers.
final class AgeTestVectorTests: XCTestCase {
    struct Vector {
        var name: String
        var expect: String
        var payloadHash: String?
        var identity: String?
        var file: [UInt8]
    }

    enum Outcome: Equatable {
        case success, headerFailure, hmacFailure, noMatch, payloadFailure
        case other(String)

        init(expect: String) {
            switch expect {
            case "success": self = .success
            case "header failure": self = .headerFailure
            case "HMAC failure": self = .hmacFailure
            case "no match": self = .noMatch
            case "payload failure": self = .payloadFailure
            default: self = .other(expect)
            }
        }

        init(_ error: Error?) {
            switch error {
            case nil: self = .success
            case AgeError.notAgeFile?, AgeError.malformedHeader?: self = .headerFailure
            case AgeError.headerMACMismatch?: self = .hmacFailure
            case AgeError.noMatchingRecipient?: self = .noMatch
            case AgeError.damaged?: self = .payloadFailure
            case let error?: self = .other(String(describing: error))
            }
        }
    }

    static var folder: URL { Bundle.module.resourceURL!.appendingPathComponent("AgeVectors") }

    func vectors() throws -> [Vector] {
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.folder.path).filter { !$0.contains(".") }.sorted()
        return try names.map { try vector($0) }
    }

    func vector(_ name: String) throws -> Vector {
        let bytes = [UInt8](try Data(contentsOf: Self.folder.appendingPathComponent(name)))
        let blank = (0..<bytes.count - 1).first { bytes[$0] == 0x0a && bytes[$0 + 1] == 0x0a }!
        var fields: [String: String] = [:]
        for line in String(decoding: bytes[..<blank], as: UTF8.self).split(separator: "\n") {
            let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            if parts.count == 2, fields[parts[0]] == nil { fields[parts[0]] = parts[1] }
        }
        var file = Array(bytes[(blank + 2)...])
        if fields["compressed"] == "zlib" { file = try inflate(name) }
        return Vector(name: name, expect: fields["expect"] ?? "", payloadHash: fields["payload"], identity: fields["identity"], file: file)
    }

    /// zlib with Python's zlib module: an independent inflater for the large stream vectors.
    func inflate(_ name: String) throws -> [UInt8] {
        let script = "import sys, zlib; d = open(sys.argv[1], 'rb').read(); sys.stdout.buffer.write(zlib.decompress(d[d.index(b'\\n\\n') + 2:]))"
        let run = try runTool("/usr/bin/python3", ["-c", script, Self.folder.appendingPathComponent(name).path])
        guard run.status == 0 else { throw ToolError(run.stderr) }
        return [UInt8](run.stdout)
    }

    /// Decrypts `file`, in pieces of `piece` bytes, returning the outcome and the hash of what was released.
    func run(_ vector: Vector, piece: Int) throws -> (Outcome, String) {
        let identity = try vector.identity.map { try AgeIdentity.parse($0) } ?? AgeIdentity.generate()
        let age = AgeDecryptor(identity: identity, maxPlaintext: 1 << 30)
        var hasher = SHA256Hasher()
        var failure: Error?
        do {
            var offset = 0
            while offset < vector.file.count {
                let end = min(vector.file.count, offset + piece)
                try age.write(Array(vector.file[offset..<end])) { hasher.update($0) }
                offset = end
            }
            try age.finish { hasher.update($0) }
        } catch {
            failure = error
        }
        return (Outcome(failure), Hex.encode(hasher.finalize()))
    }

    func testEveryX25519VectorOpensOrFailsAsTheTestkitSays() throws {
        let all = try vectors()
        XCTAssertEqual(all.count, 68, "the copied vectors are all present")
        for vector in all {
            let (outcome, hash) = try run(vector, piece: 1 << 20)
            XCTAssertEqual(outcome, Outcome(expect: vector.expect), vector.name)
            if let expected = vector.payloadHash {
                XCTAssertEqual(hash, expected, "\(vector.name): the plaintext released")
            }
        }
    }

    func testEveryVectorGivesTheSameOutcomeFedOneByteAtATime() throws {
        for vector in try vectors() where vector.file.count <= 300_000 {
            let whole = try run(vector, piece: vector.file.count + 1)
            let bytewise = try run(vector, piece: 1)
            XCTAssertEqual(bytewise.0, whole.0, vector.name)
            XCTAssertEqual(bytewise.1, whole.1, vector.name)
        }
    }
}
