import Foundation
import KeyManagement
import XCTest
@testable import StrongroomServer
@testable import Vault

/// docs/openapi.yaml and the router describe the same API, and the server serves that file.
final class OpenAPITests: XCTestCase {
    static let document = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/openapi.yaml")

    /// "METHOD /path/{param}" for every operation in the document.
    func documentedOperations() throws -> Set<String> {
        let text = try String(contentsOf: Self.document, encoding: .utf8)
        var out: Set<String> = []
        var path: String?
        for line in text.components(separatedBy: "\n") {
            if line.hasPrefix("  /"), line.hasSuffix(":") {
                path = String(line.dropFirst(2).dropLast())
            } else if line.hasPrefix("components:") {
                path = nil
            } else if let path, let method = ["get", "post", "put", "delete", "patch"].first(where: { line == "    \($0):" }) {
                out.insert("\(method.uppercased()) \(path)")
            }
        }
        return out
    }

    func testDocumentMatchesTheRouter() async throws {
        let server = try await ServerFixture()
        let pool = BlockingPool(threads: 2)
        let router = StrongroomService.makeRouter(
            vault: server.vault, configuration: ServerConfiguration(), pool: pool, registry: ServerMetrics.bootstrap())
        let routed = Set(router.routes.map { route -> String in
            let path = "\(route.path)".split(separator: "/").map { $0.hasPrefix(":") ? "{\($0.dropFirst())}" : String($0) }
            return "\(route.method) /" + path.joined(separator: "/")
        }).subtracting(ConsoleRoutes.paths)  // HTML pages, not API
        XCTAssertEqual(routed, try documentedOperations())
        XCTAssertEqual(routed.count, 83)
        try await pool.shutdown()
        try await server.stop()
    }

    /// The vault's public key is served to anyone, in the file form stock minisign reads, and a
    /// file the vault signs in minisign's format verifies against exactly that download.
    func testTheSigningKeyIsServedWithoutATokenAndVerifiesTheVaultsMinisignSignatures() async throws {
        let server = try await ServerFixture()
        let r = try await server.request("GET", "/v1/signing-key.pub")
        XCTAssertEqual(r.status, 200)
        XCTAssertEqual(r.text, server.vault.publicKey.fileText)
        let dir = NSTemporaryDirectory() + "signing-key-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let message = Array("{\"bundle\":\"manifest\"}\n".utf8)
        let signature = try Minisign.sign(message, with: try XCTUnwrap(server.vault.signer), trustedComment: "strongroom test", untrustedComment: "test")
        try Data(message).write(to: URL(fileURLWithPath: dir + "/manifest.json"))
        try Data(signature.utf8).write(to: URL(fileURLWithPath: dir + "/manifest.json.minisig"))
        try Data(r.body).write(to: URL(fileURLWithPath: dir + "/vault.pub"))
        func minisign() throws -> Int32 {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: "/usr/bin/minisign")
            p.arguments = ["-Vm", dir + "/manifest.json", "-p", dir + "/vault.pub"]
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            p.waitUntilExit()
            return p.terminationStatus
        }
        XCTAssertEqual(try minisign(), 0)
        try Data(message.dropLast() + Array(" \n".utf8)).write(to: URL(fileURLWithPath: dir + "/manifest.json"))
        XCTAssertNotEqual(try minisign(), 0, "a changed byte fails stock minisign")
        try await server.stop()
    }

    func testServedDocumentIsTheOneInDocs() async throws {
        let server = try await ServerFixture()
        let r = try await server.request("GET", "/openapi.yaml")
        XCTAssertEqual(r.status, 200)
        let onDisk = [UInt8](try Data(contentsOf: Self.document))
        XCTAssertGreaterThan(onDisk.count, 1000)
        XCTAssertTrue(r.body == onDisk, "served \(r.body.count) bytes, docs/openapi.yaml has \(onDisk.count)")
        let health = try await server.request("GET", "/healthz")
        XCTAssertEqual(health.text, "ok\n")
        _ = try await server.request("GET", "/v1/attachments/\(String(repeating: "0", count: 32))")  // audited denial
        let metrics = try await server.request("GET", "/metrics")
        XCTAssertTrue(metrics.text.contains("strongroom_audit_append_seconds_count"), "audit append latency missing")
        XCTAssertTrue(metrics.text.contains("hb_requests"), "requests by route missing")
        try await server.stop()
    }
}

final class ReadmeTests: XCTestCase {
    func testReadmePrintsTheRoleTableFromCode() throws {
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("README.md")
        let text = try String(contentsOf: readme, encoding: .utf8)
        XCTAssertTrue(text.contains(AccessPolicy.markdownTable), "README's role table differs from AccessPolicy.markdownTable:\n\(AccessPolicy.markdownTable)")
    }

    func testReadmePrintsTheRetentionTableFromCode() throws {
        let readme = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("README.md")
        let text = try String(contentsOf: readme, encoding: .utf8)
        XCTAssertTrue(text.contains(RetentionPolicy.markdownTable), "README's retention table differs from RetentionPolicy.markdownTable:\n\(RetentionPolicy.markdownTable)")
    }
}
