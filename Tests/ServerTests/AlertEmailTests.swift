import Foundation
import TestSupport
import XCTest
@testable import StrongroomServer
@testable import Storage
@testable import Vault

/// Alert emails through a real SMTP relay: Debian's aiosmtpd, requiring STARTTLS (a
/// self-signed certificate made with openssl here) and a user name and password, writes each
/// message it is given to a folder. Bundles, shreds and people are driven over HTTP; then every
/// message is searched for every label, id, filename, recipient, reason and person's name used.
final class AlertEmailTests: XCTestCase {
    /// A relay that wants STARTTLS, then AUTH, and writes each message's bytes to `folder`.
    static let sink = #"""
    import sys, os, ssl, time, socket, signal
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    folder, cert, key, portfile = sys.argv[1:5]
    # The controller's thread would keep the process alive after SIGTERM: leave at once.
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    class Sink:
        count = 0
        async def handle_DATA(self, server, session, envelope):
            Sink.count += 1
            with open(os.path.join(folder, "%03d.eml" % Sink.count), "wb") as f:
                f.write(envelope.original_content or envelope.content)
            return "250 OK"

    def check(server, session, envelope, mechanism, data):
        ok = getattr(data, "login", None) == b"relay-user" and getattr(data, "password", None) == b"relay-secret"
        return AuthResult(success=ok)

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
    controller = Controller(Sink(), hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True,
                            authenticator=check, auth_required=True, auth_require_tls=True)
    controller.start()
    with open(portfile, "w") as f:
        f.write(str(port))
    while True:
        time.sleep(1)
    """#

    var folder = ""
    var work = ""
    var sinkProcess: Process?

    override func setUp() async throws {
        work = NSTemporaryDirectory() + "alerts-" + UUID().uuidString
        folder = work + "/mail"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    override func tearDown() async throws {
        if let process = sinkProcess, process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: work)
    }

    private func run(_ tool: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "\(tool) \(arguments.first ?? "")")
    }

    /// Starts the sink; returns its port.
    private func startSink() throws -> Int {
        guard FileManager.default.fileExists(atPath: "/usr/lib/python3/dist-packages/aiosmtpd") else {
            throw XCTSkip("python3-aiosmtpd is not installed (Scripts/setup.sh --test)")
        }
        try run("/usr/bin/openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", work + "/key.pem", "-out", work + "/cert.pem",
                                     "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"])
        try Self.sink.write(toFile: work + "/sink.py", atomically: true, encoding: .utf8)
        try "relay-user\nrelay-secret\n".write(toFile: work + "/credentials", atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        process.arguments = [work + "/sink.py", folder, work + "/cert.pem", work + "/key.pem", work + "/port"]
        try process.run()
        sinkProcess = process
        for _ in 0..<100 {
            if let text = try? String(contentsOfFile: work + "/port", encoding: .utf8), let port = Int(text) { return port }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw XCTSkip("the SMTP sink did not start")
    }

    private func messages() -> [String] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).sorted()
        return names.compactMap { try? String(contentsOfFile: folder + "/" + $0, encoding: .utf8) }
    }

    func testAlertsSayOnlyThatSomethingWaitsAndLinkToTheWaitingPage() async throws {
        let port = try startSink()
        let f = try await SignInFixture { c in
            c.smtpHost = "localhost"
            c.smtpPort = port
            c.smtpFrom = "strongroom@school.example"
            c.smtpCredentialsFile = self.work + "/credentials"
            c.smtpCAFile = self.work + "/cert.pem"
        }
        let alpha = try await f.enrol("dsl.alpha", .dsl)
        let bravo = try await f.enrol("dsl.bravo", .dsl)
        let charlie = try await f.enrol("dpo.charlie", .dpo)
        let delta = try await f.enrol("admin.delta", .admin)
        for (person, address) in [(alpha, "alpha@school.example"), (bravo, "bravo@school.example"),
                                  (charlie, "charlie@school.example"), (delta, "delta@school.example")] {
            let account = try XCTUnwrap(try f.vault.users.list(by: .operator("t")).first { $0.name == person.name && !$0.isRevoked }?.id)
            try f.vault.catalog.setPersonEmail(account: account, address: address)
        }
        let a = try await f.signedIn(alpha), c = try await f.signedIn(charlie), d = try await f.signedIn(delta)
        // Everything a message must never hold.
        let label = "Amelia Whitfield", child = "C7731", filename = "amelia-disclosure.txt", agency = "Northshire Police Unit"
        let bundleReason = "Section 47 enquiry strategy", shredReason = "Retention period ended early"

        let upload = try await f.server.request(
            "POST", "/v1/attachments?school=S1&child=\(child)&concern=K9&kind=disclosure&filename=\(filename)",
            headers: a.stateChange.merging(["Content-Type": "text/plain"]) { $1 }, body: Array("She said she was scared.\n".utf8))
        XCTAssertEqual(upload.status, 201, upload.text)
        let record = try XCTUnwrap(upload.object["id"] as? String)
        let labelled = try await f.call("PUT", "/v1/children/\(child)/label?school=S1", a, json: ["label": label])
        XCTAssertEqual(labelled.status, 204, labelled.text)
        let recipient = try await f.call("POST", "/v1/recipients", a, json: ["school": "S1", "name": agency, "passphrase": true])
        XCTAssertEqual(recipient.status, 201, recipient.text)
        let bundle = try await f.call("POST", "/v1/bundles", a, json: [
            "school": "S1", "recipient": agency, "reason": bundleReason, "items": [["record": record, "mode": "as-is"]]])
        XCTAssertEqual(bundle.status, 201, bundle.text)
        let shred = try await f.call("POST", "/v1/shred-requests", c, json: ["school": "S1", "records": [record], "reason": shredReason])
        XCTAssertEqual(shred.status, 201, shred.text)
        let added = try await f.call("POST", "/v1/people", d, json: ["name": "echo.newdsl", "role": "dsl", "schools": ["S1"],
                                                                     "email": "echo@school.example"])
        XCTAssertEqual(added.status, 201, added.text)

        // bravo: the bundle, the shred, the person; alpha: the shred and the person (not their own
        // bundle); charlie and delta asked for theirs and wait for nothing.
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline, messages().count < 2 || !messages().contains(where: { $0.contains("To: <alpha@") })
                || !messages().contains(where: { $0.contains("To: <bravo@") }) {
            try await Task.sleep(for: .milliseconds(200))
        }
        try await Task.sleep(for: .seconds(1))
        let sent = messages()
        XCTAssertGreaterThanOrEqual(sent.count, 2)
        XCTAssertTrue(sent.contains { $0.contains("To: <alpha@school.example>") }, "alpha has a shred and a person waiting")
        XCTAssertTrue(sent.contains { $0.contains("To: <bravo@school.example>") }, "bravo has a bundle, a shred and a person waiting")
        XCTAssertFalse(sent.contains { $0.contains("charlie@") || $0.contains("delta@") || $0.contains("echo@") },
                       "nobody is alerted about what they asked for themselves, nor about nothing")

        let secrets = [label, "Amelia", "Whitfield", child, record, filename, "amelia", agency, "Northshire", bundleReason, shredReason,
                       "dsl.alpha", "dsl.bravo", "dpo.charlie", "admin.delta", "echo.newdsl", "K9", "S1"]
        for message in sent {
            let body = message.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n")
            XCTAssertTrue(body.contains(SignInFixture.origin + "/waiting"), message)
            XCTAssertTrue(message.contains("Subject: Something is waiting for you in Strongroom"), message)
            for secret in secrets {
                XCTAssertFalse(message.localizedCaseInsensitiveContains(secret), "a message holds '\(secret)'")
            }
        }
        try await f.stop()
    }

    func testARelayPasswordIsNeverConfiguredWithoutSTARTTLSNorAnAlertWithoutItsLink() throws {
        try "user\npassword\n".write(toFile: work + "/credentials", atomically: true, encoding: .utf8)
        var c = ServerConfiguration()
        c.publicURL = "https://vault.school.example"
        c.smtpHost = "relay.school.example"
        c.smtpFrom = "strongroom@school.example"
        c.smtpCredentialsFile = work + "/credentials"
        XCTAssertNotNil(try c.smtpRelay()?.credentials)
        c.smtpStartTLS = false
        XCTAssertThrowsError(try c.validate(), "a password in the clear")
        c.smtpStartTLS = true
        c.publicURL = nil
        XCTAssertThrowsError(try c.validate(), "no link to put in the email")
        c.publicURL = "https://vault.school.example"
        c.smtpFrom = "Strongroom <strongroom@school.example>\r\nBcc: x@evil.example"
        XCTAssertThrowsError(try c.validate(), "a sender that would add a header")
        try "only-one-line\n".write(toFile: work + "/credentials", atomically: true, encoding: .utf8)
        c.smtpFrom = "strongroom@school.example"
        XCTAssertThrowsError(try c.validate(), "a credentials file that is not two lines")
    }

    func testAMessageDoublesALeadingDotAndEndsEveryLineWithCRLF() {
        let message = SMTPClient.message(from: "a@b.example", to: "c@d.example", subject: "s", body: "one\n.two\nthree")
        XCTAssertTrue(message.contains("\r\none\r\n..two\r\nthree\r\n"), message)
        XCTAssertFalse(message.replacingOccurrences(of: "\r\n", with: "").contains("\n"), "no bare line feed")
    }
}
