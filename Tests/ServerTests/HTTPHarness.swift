import Foundation
import Logging
import ServiceLifecycle
import Storage
import TestSupport
import XCTest
@testable import StrongroomServer
@testable import Vault

/// A response as a raw HTTP/1.1 client saw it: `complete` is false when the connection ended
/// before the announced Content-Length (an aborted download).
struct HTTPReply {
    var status: Int
    var headers: [String: String]
    var body: [UInt8]
    var complete: Bool
    var json: Any? { try? JSONSerialization.jsonObject(with: Data(body)) }
    var text: String { String(decoding: body, as: UTF8.self) }
}

/// A real server on a loopback port, in process, over a fresh store.
final class ServerFixture: @unchecked Sendable {
    let root: String
    let store: TestStore
    let vault: Vault
    var port = 0
    /// The loopback metrics listener's address, when the configuration asks for one.
    var metricsAddress: (host: String, port: Int)?
    private var task: Task<Void, Error>?
    private var group: ServiceGroup?
    private var pool: BlockingPool?
    var tokens: [String: String] = [:]
    /// False for a second node, which leaves the store's folder to the first.
    private var ownsRoot = true

    init(configuration: ServerConfiguration = ServerConfiguration(), options: Vault.Options? = nil, logger: Logger = ServerFixture.quietLogger) async throws {
        root = NSTemporaryDirectory() + "srv-" + UUID().uuidString
        store = try TestStore(layout: StoreLayout(root: root))
        // Tests keep their own files here; a store on the shared backends makes no folder.
        if TestBackend.isShared { try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true) }
        let created = try Vault.create(at: StoreLayout(root: root), master: store.master, by: .operator("test"), options: store.options())
        if let options {
            created.close()
            vault = try Vault.open(at: StoreLayout(root: root), master: store.master, options: store.options(options))
        } else {
            vault = created
        }
        try await start(configuration: configuration, logger: logger)
    }

    /// Another node of `other`'s store (the shared backends only): a second vault on the same
    /// database and bucket, serving on a port of its own, as a second `strongroom serve` would.
    init(nodeOf other: ServerFixture, configuration: ServerConfiguration = ServerConfiguration(), options: Vault.Options = Vault.Options(),
         logger: Logger = ServerFixture.quietLogger) async throws {
        precondition(TestBackend.isShared, "an embedded store serves from one process")
        root = other.root
        store = other.store
        ownsRoot = false
        vault = try Vault.open(at: StoreLayout(root: root), master: store.master, options: store.options(options))
        try await start(configuration: configuration, logger: logger)
    }

    private func start(configuration: ServerConfiguration, logger: Logger) async throws {
        var configuration = configuration
        configuration.port = 0
        let ready = AsyncStream<Int>.makeStream()
        let metricsReady = AsyncStream<(String, Int)>.makeStream()
        let (app, pool) = try StrongroomService.makeApplication(
            vault: vault, configuration: configuration, logger: logger,
            onServerRunning: { ready.continuation.yield($0) },
            onMetricsListenerRunning: { metricsReady.continuation.yield(($0, $1)) })
        self.pool = pool
        let group = ServiceGroup(configuration: .init(services: [app], logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })))
        self.group = group
        task = Task { try await group.run() }
        for await p in ready.stream { port = p; break }
        if configuration.metricsPort != nil {
            for await address in metricsReady.stream { metricsAddress = address; break }
        }
    }

    static var quietLogger: Logger {
        var logger = Logger(label: "test", factory: { StreamLogHandler.standardError(label: $0) })
        logger.logLevel = .critical
        return logger
    }

    /// Shuts the server down as SIGTERM would, leaving the store open for the test to read.
    func stopServing() async {
        await group?.triggerGracefulShutdown()
        _ = try? await task?.value
        group = nil
        task = nil
    }

    func stop() async throws {
        await stopServing()
        try await pool?.shutdown()
        vault.close()
        if ownsRoot { try? FileManager.default.removeItem(atPath: root) }
    }

    @discardableResult
    func addUser(_ name: String, _ role: Role, schools: [String] = ["S1"]) throws -> String {
        let token = try vault.users.addIntegration(name: name, role: role, schools: schools, by: .operator("test")).token
        tokens[name] = token
        return token
    }

    /// One user of every role in S1 (sam staff, jo dsl, dee deputy, pat dpo, bob backup, ada
    /// admin) and kim, a DSL of S2: the cast of the role x route tests.
    func addOneUserPerRole() throws {
        for (name, role) in [("sam", Role.staff), ("jo", .dsl), ("dee", .deputy), ("pat", .dpo), ("bob", .backup), ("ada", .admin)] {
            try addUser(name, role)
        }
        try addUser("kim", .dsl, schools: ["S2"])
    }

    func request(
        _ method: String, _ path: String, user: String? = nil, token: String? = nil, headers: [String: String] = [:],
        body: [UInt8]? = nil, sendOnly: Int? = nil, port: Int? = nil
    ) async throws -> HTTPReply {
        let bearer = token ?? user.flatMap { tokens[$0] }
        var all = headers
        if let bearer { all["Authorization"] = "Bearer \(bearer)" }
        let port = port ?? self.port
        let headersToSend = all
        return try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result {
                    try RawHTTP.exchange(port: port, method: method, path: path, headers: headersToSend, body: body, sendOnly: sendOnly)
                })
            }
        }
    }

    func upload(_ bytes: [UInt8], user: String, type: String, school: String = "S1", child: String = "C1",
                kind: String = "document", filename: String = "f") async throws -> HTTPReply {
        try await request("POST", "/v1/attachments?school=\(school)&child=\(child)&concern=K1&kind=\(kind)&filename=\(filename)",
                          user: user, headers: ["Content-Type": type], body: bytes)
    }

    var events: [AuditEvent] { (try? vault.catalog.events(record: nil)) ?? [] }
    var records: [EvidenceRecord] { (try? vault.catalog.records(matching: RecordFilter())) ?? [] }

    /// Files under blobs/ (committed and temporary).
    /// The blobs the store holds and its uploads in progress (`tmp/`), on disk or in the bucket.
    var blobFiles: [String] { (try? store.storedBlobs()) ?? ["(the store could not be listed)"] }
}

/// A minimal HTTP/1.1 client over a POSIX socket, so tests see exactly what crosses the wire:
/// an aborted body, a connection closed mid-upload.
enum RawHTTP {
    struct Failure: Error { var what: String }

    static func exchange(port: Int, method: String, path: String, headers: [String: String], body: [UInt8]?, sendOnly: Int?) throws -> HTTPReply {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(what: "socket") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let ok = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
        guard ok == 0 else { throw Failure(what: "connect") }
        var head = "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        for (k, v) in headers { head += "\(k): \(v)\r\n" }
        if let body { head += "Content-Length: \(body.count)\r\n" }
        head += "\r\n"
        try sendAll(fd, Array(head.utf8))
        if let body {
            if let sendOnly {
                try? sendAll(fd, Array(body.prefix(sendOnly)))
                usleep(100_000)
                // Hang up mid-body: no more bytes will come.
                return HTTPReply(status: 0, headers: [:], body: [], complete: false)
            }
            try? sendAll(fd, body)
        }
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            data += buffer[0..<n]
        }
        guard let split = find(data, Array("\r\n\r\n".utf8)) else { throw Failure(what: "no response head: \(data.count) bytes") }
        let lines = String(decoding: data[0..<split], as: UTF8.self).components(separatedBy: "\r\n")
        let status = Int(lines[0].split(separator: " ")[1]) ?? 0
        var fields: [String: String] = [:]
        for line in lines.dropFirst() {
            if let colon = line.firstIndex(of: ":") {
                fields[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        let payload = Array(data[(split + 4)...])
        let expected = fields["content-length"].flatMap(Int.init)
        return HTTPReply(status: status, headers: fields, body: payload, complete: expected.map { $0 == payload.count } ?? true)
    }

    static func sendAll(_ fd: Int32, _ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { throw Failure(what: "send") }
            offset += n
        }
    }

    static func find(_ hay: [UInt8], _ needle: [UInt8]) -> Int? {
        guard hay.count >= needle.count else { return nil }
        for i in 0...(hay.count - needle.count) where hay[i] == needle[0] && Array(hay[i..<i + needle.count]) == needle { return i }
        return nil
    }
}

enum Samples {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("VaultTests/Samples").path

    static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: directory + "/" + name)))
    }
}
