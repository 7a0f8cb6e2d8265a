import Foundation
import TestSupport
import XCTest

/// Downloads are made at the pace their clients read them: a `strongroom serve` process with
/// 200 clients reading large records very slowly stays small, and serves normally afterwards.
final class SlowReaderTests: XCTestCase {
    static let readers = 200
    static let recordBytes = 64 << 20
    static let limitKiB = 256 * 1024

    func run(_ args: [String], stdin: String? = nil) throws -> (Int32, String, String) {
        let p = Process()
        p.executableURL = BuiltBinary.strongroom
        p.arguments = args
        p.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("STRONGROOM_") }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    /// A large PDF made fast: a PDF header and zeros (libmagic needs only the header).
    static func largePDF(at path: String) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: recordBytes)
        let header = Array("%PDF-1.4\n".utf8)
        bytes.replaceSubrange(0..<header.count, with: header)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return bytes
    }

    func testTwoHundredSlowReadersOfLargeRecordsKeepTheServerUnder256MiB() throws {
        let python = ["/usr/bin/python3", "/usr/local/bin/python3"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let python else { throw XCTSkip("python3 drives the slow readers") }
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Scripts/lib/slow-readers.py").path
        let dir = NSTemporaryDirectory() + "slow-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let store = dir + "/store"
        XCTAssertEqual(try run(["init", "--store", store]).0, 0)
        let (_, tokenLine, _) = try run(["user", "add", "jo", "--api-token", "--role", "dsl", "--school", "S1", "--store", store])
        let token = tokenLine.trimmingCharacters(in: .whitespacesAndNewlines)
        let content = try Self.largePDF(at: dir + "/large.pdf")
        var ids: [String] = []
        for _ in 0..<3 {
            let (code, out, err) = try run(["put", dir + "/large.pdf", "--store", store, "--school", "S1", "--child", "C1",
                                            "--concern", "K1", "--kind", "minutes"])
            XCTAssertEqual(code, 0, err)
            ids.append(out.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        try FileManager.default.removeItem(atPath: dir + "/large.pdf")

        let server = Process()
        server.executableURL = BuiltBinary.strongroom
        server.arguments = ["serve", "--store", store, "--port", "0"]
        let out = Pipe()
        server.standardOutput = out
        server.standardError = FileHandle.nullDevice
        try server.run()
        defer { if server.isRunning { server.terminate(); server.waitUntilExit() } }
        var line = ""
        while !line.contains("\n") {
            let d = out.fileHandleForReading.availableData
            if d.isEmpty { break }
            line += String(decoding: d, as: UTF8.self)
        }
        let port = Int(line.split(separator: ":").last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
        XCTAssertGreaterThan(port, 0, line)

        // Each reader gets a 4 KiB receive buffer and takes 512 bytes every quarter second: a
        // 64 MiB record would take days, so every download is in flight when memory is read.
        let readers = Process()
        readers.executableURL = URL(fileURLWithPath: python)
        readers.arguments = [script, "--port", "\(port)", "--pid", "\(server.processIdentifier)", "--token", token,
                             "--connections", "\(Self.readers)", "--hold", "6"] + ids.flatMap { ["--path", "/v1/attachments/\($0)"] }
        let report = Pipe()
        readers.standardOutput = report
        try readers.run()
        let json = report.fileHandleForReading.readDataToEndOfFile()
        readers.waitUntilExit()
        XCTAssertEqual(readers.terminationStatus, 0)
        let figures = try XCTUnwrap(try JSONSerialization.jsonObject(with: json) as? [String: Any], String(decoding: json, as: UTF8.self))
        print("slow readers: \(figures)")
        // Not vacuous: every download started and was still open while memory was read.
        XCTAssertEqual(figures["answered"] as? Int, Self.readers, "every reader must get its download started: \(figures)")
        XCTAssertEqual(figures["closed_early"] as? Int, 0, "the server must not have dropped readers: \(figures)")
        XCTAssertGreaterThan(figures["bytes"] as? Int ?? 0, 0)
        let peak = try XCTUnwrap(figures["hwm_kib"] as? Int)
        XCTAssertLessThan(peak, Self.limitKiB, "the server's peak RSS with \(Self.readers) slow readers: \(peak / 1024) MiB")

        // Once they have hung up, a normal download is whole.
        let reply = try RawHTTP.exchange(port: port, method: "GET", path: "/v1/attachments/\(ids[0])",
                                         headers: ["Authorization": "Bearer \(token)"], body: nil, sendOnly: nil)
        XCTAssertEqual(reply.status, 200)
        XCTAssertTrue(reply.complete)
        XCTAssertTrue(reply.body == content, "the download after the slow readers differs from the record")
        server.terminate()
        server.waitUntilExit()
    }
}
