import Foundation
import Storage
import TestSupport
import XCTest
@testable import Vault
#if canImport(Glibc)
import Glibc
#endif

/// Two schools' vaults on one machine, each a `strongroom serve` process on loopback: cards are
/// exchanged, a child's file of five is sent by link, fetched and verified by the receiving
/// vault, whose receipt reaches the sender by itself.
final class TransferProcessTests: XCTestCase {
    struct School {
        var store: String
        var port: Int
        var process: Process
        var tokens: [String: String]
        var url: String { "http://localhost:\(port)" }
    }

    var schools: [School] = []

    override func tearDown() {
        for school in schools where school.process.isRunning {
            school.process.terminate()
            school.process.waitUntilExit()
        }
        for school in schools { try? FileManager.default.removeItem(atPath: school.store) }
    }

    @discardableResult
    func cli(_ args: [String], _ store: String) throws -> String {
        let p = Process()
        p.executableURL = BuiltBinary.strongroom
        p.arguments = args + ["--store", store]
        p.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("STRONGROOM_") }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "\(args.prefix(2)): \(String(decoding: e, as: UTF8.self))")
        return String(decoding: o, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A port free on 127.0.0.1 now (the service is then started on it).
    func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var size = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, size) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &size) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    func school(_ id: String, name: String, people: [(String, String)]) throws -> School {
        let store = NSTemporaryDirectory() + "transfer-" + UUID().uuidString
        try cli(["init"], store)
        try cli(["transfer", "card", "--school", id, "--name", name], store)
        var tokens: [String: String] = [:]
        for (person, role) in people {
            tokens[person] = try cli(["user", "add", person, "--api-token", "--role", role, "--school", id], store)
        }
        return School(store: store, port: try freePort(), process: Process(), tokens: tokens)
    }

    func serve(_ school: inout School) throws {
        let p = Process()
        p.executableURL = BuiltBinary.strongroom
        p.arguments = ["serve", "--store", school.store, "--port", "\(school.port)", "--public-url", school.url]
        p.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("STRONGROOM_") }
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        var line = ""
        while !line.contains("\n") {
            let d = out.fileHandleForReading.availableData
            if d.isEmpty { break }
            line += String(decoding: d, as: UTF8.self)
        }
        XCTAssertTrue(line.contains("serving"), line)
        school.process = p
    }

    func call(_ school: School, _ method: String, _ path: String, as person: String? = nil, json: Any? = nil) throws -> HTTPReply {
        var headers: [String: String] = [:]
        if let person { headers["Authorization"] = "Bearer \(school.tokens[person]!)" }
        var body: [UInt8]?
        if let json {
            headers["Content-Type"] = "application/json"
            body = Array(try JSONSerialization.data(withJSONObject: json))
        }
        return try RawHTTP.exchange(port: school.port, method: method, path: path, headers: headers, body: body, sendOnly: nil)
    }

    func object(_ reply: HTTPReply, file: StaticString = #filePath, line: UInt = #line) throws -> [String: Any] {
        try XCTUnwrap(reply.json as? [String: Any], "\(reply.status): \(reply.text)", file: file, line: line)
    }

    func testTwoVaultsExchangeCardsSendAFileOfFiveAndTheReceiptComesBackByItself() throws {
        var oakfield = try school("100001", name: "Oakfield Primary School", people: [("dsl", "dsl"), ("deputy", "deputy"), ("staff", "staff")])
        var riverside = try school("200002", name: "Riverside Academy", people: [("rdsl", "dsl")])
        schools = [oakfield, riverside]
        // Five records for child C1, one of them held, and a date of birth.
        let samples = [("body-map-front.png", "body-map"), ("strategy-meeting-minutes.pdf", "minutes"), ("tac-meeting-minutes.docx", "minutes"),
                       ("disclosure-note.txt", "disclosure"), ("injury-photo-with-gps.jpg", "body-map")]
        var ids: [String: String] = [:]
        for (sample, kind) in samples {
            let id = try cli(["put", Samples.directory + "/" + sample, "--school", "100001", "--child", "C1", "--concern", "K1", "--kind", kind], oakfield.store)
            ids[id] = sample
        }
        try cli(["child", "set-dob", "C1", "2016-05-04", "--school", "100001"], oakfield.store)
        try serve(&oakfield)
        try serve(&riverside)
        schools = [oakfield, riverside]
        let held = try XCTUnwrap(ids.first { $0.value == "injury-photo-with-gps.jpg" }?.key)
        XCTAssertEqual(try call(oakfield, "POST", "/v1/holds", as: "dsl", json: ["school": "100001", "record": held, "reason": "police investigation"]).status, 201)

        // The cards, as each DSL downloads them and reads the fingerprint to the other.
        let oakCard = try object(try call(oakfield, "GET", "/v1/transfer-card"))
        let riverCard = try object(try call(riverside, "GET", "/v1/transfer-card?school=200002"))
        XCTAssertEqual(Set(oakCard.keys), ["school", "name", "ageRecipient", "signingKey", "fingerprint"])
        let misheard = String((oakCard["fingerprint"] as! String).reversed())
        XCTAssertEqual(try call(riverside, "POST", "/v1/schools", as: "rdsl", json: ["school": "200002", "card": oakCard, "fingerprint": misheard]).status, 400)
        XCTAssertEqual(try call(riverside, "POST", "/v1/schools", as: "rdsl", json: ["school": "200002", "card": oakCard, "fingerprint": oakCard["fingerprint"]!]).status, 201)
        XCTAssertEqual(try call(oakfield, "POST", "/v1/schools", as: "dsl", json: ["school": "100001", "card": riverCard, "fingerprint": riverCard["fingerprint"]!]).status, 201)
        XCTAssertEqual(try call(oakfield, "POST", "/v1/schools", as: "staff", json: ["school": "100001", "card": riverCard, "fingerprint": riverCard["fingerprint"]!]).status, 403)

        // Drafted by the DSL, approved by the deputy (not the DSL).
        let draft = try object(try call(oakfield, "POST", "/v1/transfers", as: "dsl",
                                         json: ["school": "100001", "child": "C1", "toSchool": "200002", "reason": "joined Riverside on 2 November"]))
        XCTAssertEqual(draft["state"] as? String, "draft")
        let id = try XCTUnwrap(draft["id"] as? String)
        XCTAssertEqual(try call(oakfield, "POST", "/v1/transfers/\(id)/approve", as: "dsl").status, 403)
        let sent = try object(try call(oakfield, "POST", "/v1/transfers/\(id)/approve", as: "deputy"))
        XCTAssertEqual(sent["state"] as? String, "sent")
        let link = try XCTUnwrap(sent["downloadUrl"] as? String)
        XCTAssertTrue(link.hasPrefix(oakfield.url + "/v1/transfer-packages/"), link)
        XCTAssertNotNil(sent["expiresAt"] as? String)

        // Riverside's vault fetches the link itself, verifies everything and posts the receipt back.
        let fetched = try call(riverside, "POST", "/v1/transfers/fetch", as: "rdsl", json: ["school": "200002", "url": link])
        XCTAssertEqual(fetched.status, 201, fetched.text)
        let incoming = try object(fetched)
        XCTAssertEqual(incoming["receiptDelivered"] as? Bool, true)
        let records = try XCTUnwrap(incoming["records"] as? [[String: String]])
        XCTAssertEqual(records.count, 5)
        for record in records {
            let sample = try XCTUnwrap(ids[record["originalId"] ?? ""])
            let content = try call(riverside, "GET", "/v1/attachments/\(record["id"]!)", as: "rdsl")
            XCTAssertEqual(content.status, 200)
            XCTAssertTrue(content.body == (try Samples.bytes(sample)), "\(sample) did not arrive byte for byte")
        }
        let status = try object(try call(oakfield, "GET", "/v1/transfers/\(id)", as: "dsl"))
        XCTAssertEqual(status["state"] as? String, "received")
        XCTAssertNotNil(status["receipt"] as? [String: Any])
        // Once received, the link no longer serves the package.
        let again = try call(riverside, "POST", "/v1/transfers/fetch", as: "rdsl", json: ["school": "200002", "url": link])
        XCTAssertEqual(again.status, 502, again.text)
        XCTAssertTrue(again.text.contains("the link no longer works"), again.text)

        // Both logs verify, and tell the story.
        for school in [oakfield, riverside] {
            school.process.terminate()
            school.process.waitUntilExit()
        }
        let sender = try Vault.open(at: StoreLayout(root: oakfield.store), master: .keyFile(nil))
        let receiver = try Vault.open(at: StoreLayout(root: riverside.store), master: .keyFile(nil))
        XCTAssertTrue(try sender.audit.verifyLog(by: .operator("test")).isIntact)
        XCTAssertTrue(try receiver.audit.verifyLog(by: .operator("test")).isIntact)
        let sentLog = try sender.audit.log(record: nil, by: .operator("test")).map(\.action)
        let receivedLog = try receiver.audit.log(record: nil, by: .operator("test")).map(\.action)
        for action in ["school-trust", "transfer-create", "transfer-send", "transfer-download", "transfer-receipt"] {
            XCTAssertTrue(sentLog.contains(action), action)
        }
        for action in ["school-trust", "transfer-import", "hold-place", "set-dob"] { XCTAssertTrue(receivedLog.contains(action), action) }
    }

    /// The other channel: the package and the receipt travel as files, by the command line.
    func testThePackageAndTheReceiptTravelAsFilesThroughTheCommandLine() throws {
        let oakfield = try school("100001", name: "Oakfield Primary School", people: [("dsl", "dsl"), ("deputy", "deputy")])
        let riverside = try school("200002", name: "Riverside Academy", people: [("rdsl", "dsl")])
        schools = [oakfield, riverside]
        let work = oakfield.store + "-files"
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        func tokenFile(_ school: School, _ person: String) throws -> String {
            let path = work + "/\(person).token"
            try school.tokens[person]!.write(toFile: path, atomically: true, encoding: .utf8)
            return path
        }
        let dsl = try tokenFile(oakfield, "dsl"), deputy = try tokenFile(oakfield, "deputy"), rdsl = try tokenFile(riverside, "rdsl")
        try cli(["transfer", "card", "--school", "100001", "-o", work + "/oak.json"], oakfield.store)
        try cli(["transfer", "card", "--school", "200002", "-o", work + "/river.json"], riverside.store)
        func fingerprint(_ file: String) throws -> String {
            let card = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: file))) as! [String: Any]
            return card["fingerprint"] as! String
        }
        try cli(["transfer", "trust", work + "/river.json", "--school", "100001", "--fingerprint", try fingerprint(work + "/river.json"),
                 "--token-file", dsl], oakfield.store)
        try cli(["transfer", "trust", work + "/oak.json", "--school", "200002", "--fingerprint", try fingerprint(work + "/oak.json"),
                 "--token-file", rdsl], riverside.store)
        let original = try cli(["put", Samples.directory + "/disclosure-note.txt", "--school", "100001", "--child", "C7", "--concern", "K1",
                                "--kind", "disclosure"], oakfield.store)
        let id = try cli(["transfer", "create", "--school", "100001", "--child", "C7", "--to-school", "200002", "--reason", "moved house",
                          "--token-file", dsl], oakfield.store)
        try cli(["transfer", "approve", id, "-o", work + "/package.age", "--token-file", deputy], oakfield.store)
        let imported = try cli(["transfer", "import", work + "/package.age", "--school", "200002", "-o", work + "/receipt.json",
                                "--token-file", rdsl, "--json"], riverside.store)
        let answer = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(imported.utf8)) as? [String: Any])
        XCTAssertEqual(answer["receiptDelivered"] as? Bool, false)
        XCTAssertEqual((answer["records"] as? [[String: String]])?.first?["originalId"], original)
        XCTAssertTrue(try cli(["transfer", "status", id, "--token-file", dsl], oakfield.store).contains("\tsent\t"))
        XCTAssertTrue(try cli(["transfer", "receipt", work + "/receipt.json"], oakfield.store).contains("is received"))
        XCTAssertTrue(try cli(["transfer", "status", id, "--token-file", dsl], oakfield.store).contains("\treceived\t"))
    }
}
