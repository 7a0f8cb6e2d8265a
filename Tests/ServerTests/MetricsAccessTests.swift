import Foundation
import TestSupport
import XCTest
@testable import StrongroomServer
@testable import Vault

/// /metrics is not for anyone who can reach a listener beyond this machine; /healthz stays a
/// bare "ok" for load balancers.
final class MetricsAccessTests: XCTestCase {
    /// The main listener on every address (plain HTTP, as behind a TLS-terminating proxy).
    func exposed() -> ServerConfiguration {
        var c = ServerConfiguration()
        c.host = "0.0.0.0"
        c.insecureHTTP = true
        return c
    }

    func tokenFile(_ token: String, mode: mode_t = 0o600) throws -> String {
        let path = NSTemporaryDirectory() + "metrics-token-" + UUID().uuidString
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data((token + "\n").utf8), attributes: [.posixPermissions: mode]))
        return path
    }

    let token = String(repeating: "7f", count: 32)

    func testMetricsOnAListenerBeyondLoopbackAreRefusedWithoutATokenButHealthAnswers() async throws {
        let server = try await ServerFixture(configuration: exposed())
        let metrics = try await server.request("GET", "/metrics")
        XCTAssertEqual(metrics.status, 403)
        XCTAssertFalse(metrics.text.contains("strongroom_"), "no counter may leak in the refusal")
        XCTAssertTrue(metrics.text.contains("--metrics-port"), metrics.text)
        let health = try await server.request("GET", "/healthz")
        XCTAssertEqual(health.status, 200)
        XCTAssertEqual(health.text, "ok\n")
        try await server.stop()
    }

    func testOnALoopbackListenerWithNothingConfiguredMetricsStayOpen() async throws {
        let server = try await ServerFixture()
        let metrics = try await server.request("GET", "/metrics")
        XCTAssertEqual(metrics.status, 200)
        XCTAssertTrue(metrics.text.contains("hb_requests"))
        try await server.stop()
    }

    func testAMetricsTokenIsRequiredOnEveryListenerAndItsRefusalsAreAudited() async throws {
        var c = exposed()
        c.metricsTokenFile = try tokenFile(token)
        c.metricsPort = 0
        let server = try await ServerFixture(configuration: c)
        let loopback = try XCTUnwrap(server.metricsAddress)
        let before = server.events.count
        for port in [server.port, loopback.port] {
            let none = try await server.request("GET", "/metrics", port: port)
            XCTAssertEqual(none.status, 401)
            XCTAssertEqual(none.headers["www-authenticate"], "Bearer realm=\"strongroom\"")
            let wrong = try await server.request("GET", "/metrics", token: String(token.dropLast()) + "0", port: port)
            XCTAssertEqual(wrong.status, 401)
            XCTAssertFalse(wrong.text.contains("strongroom_"))
            let right = try await server.request("GET", "/metrics", token: token, port: port)
            XCTAssertEqual(right.status, 200)
            XCTAssertTrue(right.text.contains("strongroom_") || right.text.contains("hb_requests"), right.text)
        }
        // Refusals are audited like any request without a valid token: the first at once.
        let events = server.events.dropFirst(before)
        XCTAssertEqual(events.map(\.reason), ["from 127.0.0.1: GET /metrics: no valid metrics token"])
        XCTAssertFalse(events.contains { ($0.reason ?? "").contains(token) })
        try await server.stop()
    }

    func testTheMetricsListenerIsLoopbackOnlyAndServesOnlyMetricsAndHealth() async throws {
        var c = exposed()
        c.metricsPort = 0
        let server = try await ServerFixture(configuration: c)
        let loopback = try XCTUnwrap(server.metricsAddress)
        XCTAssertEqual(loopback.host, "127.0.0.1")
        XCTAssertNotEqual(loopback.port, server.port)
        let metrics = try await server.request("GET", "/metrics", port: loopback.port)
        XCTAssertEqual(metrics.status, 200)
        XCTAssertTrue(metrics.text.contains("hb_requests"), metrics.text)
        let health = try await server.request("GET", "/healthz", port: loopback.port)
        XCTAssertEqual(health.text, "ok\n")
        let other = try await server.request("GET", "/v1/signing-key.pub", port: loopback.port)
        XCTAssertEqual(other.status, 404, "the metrics listener serves nothing else")
        let main = try await server.request("GET", "/metrics")
        XCTAssertEqual(main.status, 403, "with a metrics listener, the main one does not serve metrics")
        try await server.stop()
    }

    func testMetricsSettingsComeFromFlagsEnvironmentAndFileAndBadOnesAreRefused() async throws {
        let good = try tokenFile(token)
        let file = NSTemporaryDirectory() + "cfg-" + UUID().uuidString + ".json"
        try Data(#"{"metrics": {"port": 9101, "tokenFile": "\#(good)"}}"#.utf8).write(to: URL(fileURLWithPath: file))
        let fromFile = try await ServerConfiguration.load(flags: [:], configFile: file, environment: [:])
        XCTAssertEqual(fromFile.metricsPort, 9101)
        XCTAssertEqual(fromFile.metricsTokenFile, good)
        let env = try await ServerConfiguration.load(flags: [:], configFile: file, environment: ["STRONGROOM_METRICS_PORT": "9102"])
        XCTAssertEqual(env.metricsPort, 9102)
        let flags = try await ServerConfiguration.load(flags: ["metrics.port": "9103"], configFile: nil,
                                                       environment: ["STRONGROOM_METRICS_TOKEN_FILE": good])
        XCTAssertEqual(flags.metricsPort, 9103)
        XCTAssertEqual(flags.metricsTokenFile, good)
        let unset = try await ServerConfiguration.load(flags: [:], configFile: nil, environment: [:])
        XCTAssertNil(unset.metricsPort)

        func refused(_ flags: [String: String], _ message: String, line: UInt = #line) async {
            do {
                _ = try await ServerConfiguration.load(flags: flags, configFile: nil, environment: [:])
                XCTFail("must be refused: \(flags)", line: line)
            } catch let error as ServerError {
                XCTAssertTrue(error.description.contains(message), error.description, line: line)
                XCTAssertFalse(error.description.contains(token), "the token is never shown", line: line)
            } catch {
                XCTFail("\(error)", line: line)
            }
        }
        await refused(["metrics.port": "70000"], "metrics.port must be a whole number")
        await refused(["metrics.port": "8080"], "--metrics-port must differ from --port")
        await refused(["metrics.tokenFile": "/nonexistent/token"], "does not exist")
        await refused(["metrics.tokenFile": try tokenFile(token, mode: 0o644)], "run chmod 600")
        await refused(["metrics.tokenFile": try tokenFile("short")], "at least 32 printable ASCII characters")
    }

    func testServeTakesTheMetricsFlagsAndPrintsTheMetricsListener() throws {
        let store = NSTemporaryDirectory() + "serve-metrics-" + UUID().uuidString
        let initialise = Process()
        initialise.executableURL = BuiltBinary.strongroom
        initialise.arguments = ["init", "--store", store]
        initialise.standardOutput = FileHandle.nullDevice
        initialise.standardError = FileHandle.nullDevice
        try initialise.run()
        initialise.waitUntilExit()
        XCTAssertEqual(initialise.terminationStatus, 0)
        let p = Process()
        p.executableURL = BuiltBinary.strongroom
        p.arguments = ["serve", "--store", store, "--host", "0.0.0.0", "--insecure-http", "--port", "0", "--metrics-port", "0",
                       "--metrics-token-file", try tokenFile(token)]
        p.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("STRONGROOM_") }
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        defer { p.terminate(); p.waitUntilExit(); try? FileManager.default.removeItem(atPath: store) }
        var text = ""
        while text.split(separator: "\n").count < 2 || !text.hasSuffix("\n") {
            let d = out.fileHandleForReading.availableData
            if d.isEmpty { break }
            text += String(decoding: d, as: UTF8.self)
        }
        let metricsLine = text.split(separator: "\n").first { $0.hasPrefix("strongroom: metrics on http://127.0.0.1:") }
        let port = Int(metricsLine?.split(separator: ":").last ?? "") ?? 0
        XCTAssertGreaterThan(port, 0, text)
        let r = try RawHTTP.exchange(port: port, method: "GET", path: "/metrics", headers: ["Authorization": "Bearer \(token)"], body: nil, sendOnly: nil)
        XCTAssertEqual(r.status, 200)
    }
}
