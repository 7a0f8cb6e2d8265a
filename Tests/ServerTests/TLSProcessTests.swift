import Foundation
import TestSupport
import XCTest

/// `strongroom serve --tls-cert --tls-key` as a TLS scanner sees it, through `openssl s_client`:
/// TLS 1.2 at least, forward-secret AEAD suites only, the server's own cipher order, and HSTS
/// on every HTTPS response.
final class TLSProcessTests: XCTestCase {
    var dir = ""
    var server: Process?
    var port = ""

    func tool(_ name: String) -> String? {
        ["/usr/bin/", "/bin/", "/usr/local/bin/"].map { $0 + name }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    @discardableResult
    func run(_ path: String, _ args: [String]) throws -> (code: Int32, out: String, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        p.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("STRONGROOM_") }
        let out = Pipe(), err = Pipe()
        p.standardInput = FileHandle.nullDevice  // s_client quits once its input ends
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    override func setUpWithError() throws {
        guard let openssl = tool("openssl") else { throw XCTSkip("openssl is needed") }
        dir = NSTemporaryDirectory() + "tls-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        // An RSA certificate, so that the RSA key-exchange and ECDHE-RSA suites can be offered.
        let gen = try run(openssl, ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", dir + "/key.pem", "-out", dir + "/cert.pem",
                                    "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"])
        XCTAssertEqual(gen.code, 0, gen.err)
        let store = dir + "/store"
        let made = try run(BuiltBinary.strongroom.path, ["init", "--store", store])
        XCTAssertEqual(made.code, 0, made.err)
        let p = Process()
        p.executableURL = BuiltBinary.strongroom
        p.arguments = ["serve", "--store", store, "--port", "0", "--tls-cert", dir + "/cert.pem", "--tls-key", dir + "/key.pem"]
        p.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("STRONGROOM_") }
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        server = p
        var text = ""
        while !text.contains("serving https://") || !text.hasSuffix("\n") {
            let d = out.fileHandleForReading.availableData
            if d.isEmpty { break }
            text += String(decoding: d, as: UTF8.self)
        }
        let line = text.split(separator: "\n").first { $0.contains("serving https://") } ?? ""
        port = line.split(separator: ":").last.map(String.init) ?? ""
        XCTAssertFalse(port.isEmpty, text)
    }

    override func tearDownWithError() throws {
        server?.terminate()
        server?.waitUntilExit()
        try? FileManager.default.removeItem(atPath: dir)
    }

    struct Handshake {
        var succeeded: Bool
        var protocolName: String
        var cipher: String
        var output: String
        /// The client could not even offer what was asked (its own build or policy), so the
        /// server was never asked.
        var clientCouldNotOffer: Bool
    }

    func handshake(_ options: [String]) throws -> Handshake {
        let r = try run(tool("openssl")!, ["s_client", "-connect", "127.0.0.1:\(port)", "-servername", "localhost"] + options)
        let all = r.out + r.err
        // "New, TLSv1.2, Cipher is ECDHE-RSA-AES128-GCM-SHA256", or "New, (NONE), Cipher is (NONE)".
        let line = r.out.split(separator: "\n").first { $0.hasPrefix("New, ") } ?? ""
        let parts = line.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        let version = parts.count == 3 ? parts[1] : ""
        let cipher = parts.count == 3 ? String(parts[2].dropFirst("Cipher is ".count)) : ""
        return Handshake(succeeded: r.code == 0 && !cipher.isEmpty && cipher != "(NONE)",
                         protocolName: version, cipher: cipher, output: all,
                         clientCouldNotOffer: all.contains("no protocols available") || all.contains("no cipher match")
                             || all.contains("no ciphers available"))
    }

    func testOldProtocolVersionsAndSuitesWithoutForwardSecrecyOrAEADAreRefused() throws {
        // TLS 1.0 and 1.1 need the client's security level lowered to be offered at all.
        for version in ["-tls1", "-tls1_1"] {
            let h = try handshake([version, "-cipher", "DEFAULT@SECLEVEL=0"])
            if h.clientCouldNotOffer {
                // This openssl cannot offer the version: the server was not asked. Said, not hidden.
                print("openssl s_client here cannot offer \(version); that case was not tried against the server")
                continue
            }
            XCTAssertFalse(h.succeeded, "\(version) must be refused: \(h.protocolName) \(h.cipher)")
            XCTAssertTrue(h.output.contains("alert protocol version"), "the server refused it: \(h.output)")
        }
        for suite in ["AES128-SHA", "AES256-GCM-SHA384", "ECDHE-RSA-AES128-SHA", "ECDHE-RSA-AES256-SHA384"] {
            let h = try handshake(["-tls1_2", "-cipher", suite])
            XCTAssertFalse(h.clientCouldNotOffer, h.output)
            XCTAssertFalse(h.succeeded, "\(suite) must be refused: \(h.protocolName) \(h.cipher)")
            XCTAssertTrue(h.output.contains("alert handshake failure"), "the server refused it: \(h.output)")
        }
    }

    func testTLS12WithECDHEAndAESGCMAndTLS13AreAccepted() throws {
        let h12 = try handshake(["-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"])
        XCTAssertTrue(h12.succeeded, h12.output)
        XCTAssertEqual(h12.protocolName, "TLSv1.2")
        XCTAssertEqual(h12.cipher, "ECDHE-RSA-AES128-GCM-SHA256")
        let chacha = try handshake(["-tls1_2", "-cipher", "ECDHE-RSA-CHACHA20-POLY1305"])
        XCTAssertTrue(chacha.succeeded, chacha.output)
        let h13 = try handshake(["-tls1_3"])
        XCTAssertTrue(h13.succeeded, h13.output)
        XCTAssertEqual(h13.protocolName, "TLSv1.3")
    }

    func testTheServerChoosesTheSuiteByItsOwnOrder() throws {
        // The client prefers ChaCha20, then AES-256; the server's order puts AES-128-GCM first.
        let h = try handshake(["-tls1_2", "-cipher", "ECDHE-RSA-CHACHA20-POLY1305:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256"])
        XCTAssertTrue(h.succeeded, h.output)
        XCTAssertEqual(h.cipher, "ECDHE-RSA-AES128-GCM-SHA256")
    }

    func testEveryHTTPSResponseCarriesHSTS() throws {
        guard let curl = tool("curl") else { throw XCTSkip("curl is needed") }
        for path in ["/healthz", "/no-such-route", "/v1/attachments/x"] {
            let r = try run(curl, ["-sS", "-o", "/dev/null", "-D", "-", "--cacert", dir + "/cert.pem", "--max-time", "5",
                                   "https://localhost:\(port)\(path)"])
            XCTAssertEqual(r.code, 0, r.err)
            let hsts = r.out.split(separator: "\r\n").filter { $0.lowercased().hasPrefix("strict-transport-security:") }
            XCTAssertEqual(hsts.map { $0.split(separator: ":", maxSplits: 1)[1].trimmingCharacters(in: .whitespaces) }, ["max-age=63072000"],
                           "\(path): \(r.out)")
        }
    }

    func testPlainHTTPResponsesCarryNoHSTS() async throws {
        // HSTS over plain HTTP means nothing to a browser and would be wrong behind a proxy that
        // also serves plain HTTP: it is only sent by the TLS listener.
        let plain = try await ServerFixture()
        let r = try await plain.request("GET", "/healthz")
        XCTAssertEqual(r.status, 200)
        XCTAssertNil(r.headers["strict-transport-security"])
        try await plain.stop()
    }
}
