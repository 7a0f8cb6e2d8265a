import Foundation
import Storage
import TestSupport
import XCTest
@testable import StrongroomServer
@testable import Vault

/// `strongroom serve` as an operator runs it: configuration refusals, and SIGTERM during
/// uploads losing no acknowledged upload.
final class ServeProcessTests: XCTestCase {
    static var binary: URL { BuiltBinary.strongroom }

    func run(_ args: [String], environment: [String: String] = [:]) throws -> (Int32, String, String) {
        let p = Process()
        p.executableURL = Self.binary
        p.arguments = args
        p.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("STRONGROOM_") }.merging(environment) { $1 }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    func makeStore() throws -> String {
        let root = NSTemporaryDirectory() + "serve-" + UUID().uuidString
        let (code, _, err) = try run(["init", "--store", root])
        XCTAssertEqual(code, 0, err)
        return root
    }

    func testPlainHTTPOnANonLoopbackAddressIsRefused() throws {
        let store = try makeStore()
        let (code, _, err) = try run(["serve", "--store", store, "--host", "0.0.0.0", "--port", "0"])
        XCTAssertEqual(code, 78)
        XCTAssertTrue(err.contains("refusing to serve plain HTTP on 0.0.0.0"), err)
        let half = try run(["serve", "--store", store, "--tls-cert", "/nonexistent.pem"])
        XCTAssertEqual(half.0, 78)
        XCTAssertTrue(half.2.contains("both --tls-cert and --tls-key"), half.2)
    }

    func testSettingsComeFromFlagsThenEnvironmentThenFile() async throws {
        let file = NSTemporaryDirectory() + "cfg-" + UUID().uuidString + ".json"
        try Data(#"{"port": 9001, "maxUploadBytes": 1000, "host": "127.0.0.2", "tls": {"cert": "c.pem", "key": "k.pem"}}"#.utf8)
            .write(to: URL(fileURLWithPath: file))
        let fromFile = try await ServerConfiguration.load(flags: [:], configFile: file, environment: [:])
        XCTAssertEqual(fromFile.port, 9001)
        XCTAssertEqual(fromFile.maxUploadBytes, 1000)
        XCTAssertEqual(fromFile.tlsCert, "c.pem")
        let env = try await ServerConfiguration.load(
            flags: [:], configFile: file, environment: ["STRONGROOM_PORT": "9002", "STRONGROOM_MAX_UPLOAD_BYTES": "2000"])
        XCTAssertEqual(env.port, 9002)
        XCTAssertEqual(env.maxUploadBytes, 2000)
        XCTAssertEqual(env.host, "127.0.0.2")
        let flags = try await ServerConfiguration.load(flags: ["port": "9003"], configFile: file, environment: ["STRONGROOM_PORT": "9002"])
        XCTAssertEqual(flags.port, 9003)
        do {
            _ = try await ServerConfiguration.load(flags: [:], configFile: nil, environment: ["STRONGROOM_PORT": "eighty"])
            XCTFail("a bad port must be refused")
        } catch let error as ServerError {
            XCTAssertTrue(error.description.contains("port must be a whole number"), error.description)
        }
        do {
            _ = try await ServerConfiguration.load(flags: [:], configFile: "/nonexistent/strongroom.json", environment: [:])
            XCTFail("a missing config file must be refused")
        } catch let error as ServerError {
            XCTAssertTrue(error.description.contains("/nonexistent/strongroom.json"), error.description)
        }
    }

    func testSIGTERMDuringUploadsLosesNoAcknowledgedUpload() async throws {
        let store = try makeStore()
        let (_, token, _) = try run(["user", "add", "jo", "--api-token", "--role", "dsl", "--school", "S1", "--store", store])
        let p = Process()
        p.executableURL = Self.binary
        p.arguments = ["serve", "--store", store, "--port", "0"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        // Wait for "strongroom: serving http://127.0.0.1:PORT".
        var line = ""
        while !line.contains("\n") {
            let d = out.fileHandleForReading.availableData
            if d.isEmpty { break }
            line += String(decoding: d, as: UTF8.self)
        }
        let port = Int(line.split(separator: ":").last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
        XCTAssertGreaterThan(port, 0, line)
        let png = try Samples.bytes("body-map-front.png")
        let bearer = token.trimmingCharacters(in: .whitespacesAndNewlines)
        @Sendable func uploads(_ n: Int, killAfter: Int? = nil) async throws -> [String] {
            try await withThrowingTaskGroup(of: String?.self) { group in
            for i in 0..<n {
                group.addTask {
                    if i == killAfter {
                        try await Task.sleep(for: .milliseconds(30))
                        kill(p.processIdentifier, SIGTERM)
                        return nil
                    }
                    let r = try? await withCheckedThrowingContinuation { (c: CheckedContinuation<HTTPReply, Error>) in
                        DispatchQueue.global().async {
                            c.resume(with: Result { try RawHTTP.exchange(
                                port: port, method: "POST", path: "/v1/attachments?school=S1&child=C1&concern=K1&kind=body-map&filename=b.png",
                                headers: ["Authorization": "Bearer \(bearer)", "Content-Type": "image/png"], body: png, sendOnly: nil) })
                        }
                    }
                    guard let r, r.status == 201 else { return nil }
                    return (r.json as? [String: Any])?["id"] as? String
                }
            }
            return try await group.reduce(into: [String]()) { if let id = $1 { $0.append(id) } }
            }
        }
        let before = try await uploads(10)
        XCTAssertEqual(before.count, 10, "uploads before SIGTERM")
        let during = try await uploads(31, killAfter: 30)
        let acknowledged = before + during
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "serve must stop cleanly on SIGTERM")
        XCTAssertGreaterThan(acknowledged.count, 0, "no upload was acknowledged: the test proved nothing")
        print("SIGTERM test: \(acknowledged.count) uploads acknowledged, \(during.count) of 30 sent around SIGTERM")
        let vault = try Vault.open(at: StoreLayout(root: store), master: .keyFile(nil))
        let stored = Set(try vault.catalog.records(matching: RecordFilter()).map(\.id))
        XCTAssertTrue(Set(acknowledged).isSubset(of: stored), "an acknowledged upload was lost")
        let report = try vault.audit.verify(by: .operator("test"), useKeys: true)
        XCTAssertEqual(report.intact, stored.count)
        XCTAssertTrue(report.leftovers.isEmpty && report.orphans.isEmpty && report.damaged.isEmpty)
        XCTAssertTrue(try vault.audit.verifyLog(by: .operator("test")).isIntact)
    }

    func tool(_ name: String) -> String? {
        ["/usr/bin/", "/bin/", "/usr/local/bin/"].map { $0 + name }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    func testServesHTTPSWithACertificateAndRefusesPlainHTTPOnThatPort() throws {
        guard let openssl = tool("openssl"), let curl = tool("curl") else { throw XCTSkip("openssl and curl are needed") }
        let dir = NSTemporaryDirectory() + "tls-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let gen = Process()
        gen.executableURL = URL(fileURLWithPath: openssl)
        gen.arguments = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", dir + "/key.pem",
                         "-out", dir + "/cert.pem", "-days", "1", "-subj", "/CN=localhost"]
        gen.standardError = FileHandle.nullDevice
        try gen.run()
        gen.waitUntilExit()
        let store = try makeStore()
        let p = Process()
        p.executableURL = Self.binary
        p.arguments = ["serve", "--store", store, "--port", "0", "--tls-cert", dir + "/cert.pem", "--tls-key", dir + "/key.pem"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        defer { p.terminate(); p.waitUntilExit() }
        let line = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
        XCTAssertTrue(line.hasPrefix("strongroom: serving https://127.0.0.1:"), line)
        let port = line.split(separator: ":").last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        func fetch(_ url: String) throws -> (Int32, String) {
            let c = Process()
            c.executableURL = URL(fileURLWithPath: curl)
            c.arguments = ["-sS", "--cacert", dir + "/cert.pem", "--max-time", "5", url]
            let o = Pipe()
            c.standardOutput = o
            c.standardError = FileHandle.nullDevice
            try c.run()
            let data = o.fileHandleForReading.readDataToEndOfFile()
            c.waitUntilExit()
            return (c.terminationStatus, String(decoding: data, as: UTF8.self))
        }
        // The certificate names localhost: curl checks it against the CA file given.
        let secure = try fetch("https://localhost:\(port)/healthz")
        XCTAssertEqual(secure.0, 0)
        XCTAssertEqual(secure.1, "ok\n")
        let plain = try fetch("http://127.0.0.1:\(port)/healthz")
        XCTAssertNotEqual(plain.0, 0, "plain HTTP must not be answered on the TLS port")
    }
}
