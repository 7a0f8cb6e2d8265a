import Foundation
import GRDB
import KeyManagement
@testable import Storage
import TestSupport
import XCTest
@testable import StrongroomServer
@testable import Vault

/// A full disk is the server's failure, said as such: 507 with its own problem type, a log
/// line and a metric for the operator, nothing half-stored, and service again once space is
/// freed. Tested on real full file systems: small tmpfs mounts (which needs root).
final class FullDiskTests: XCTestCase {
    var mounts: [String] = []
    var scratch: String?

    override func tearDown() {
        for dir in mounts.reversed() { _ = try? Self.tool("/bin/umount", ["-l", dir]) }
        mounts = []
        if let scratch { try? FileManager.default.removeItem(atPath: scratch) }
        super.tearDown()
    }

    @discardableResult
    static func tool(_ path: String, _ args: [String], environment: [String: String]? = nil) throws -> (Int32, String, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        if let environment { p.environment = environment }
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    func strongroom(_ args: [String]) throws -> (Int32, String, String) {
        try Self.tool(BuiltBinary.strongroom.path, args,
                      environment: ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("STRONGROOM_") })
    }

    func mountTmpfs(_ dir: String, mebibytes: Int) throws {
        guard getuid() == 0 else { throw XCTSkip("mounting a small tmpfs needs root") }
        let (code, _, err) = try Self.tool("/bin/mount", ["-t", "tmpfs", "-o", "size=\(mebibytes)m,mode=0700", "tmpfs", dir])
        guard code == 0 else { throw XCTSkip("cannot mount a tmpfs here: \(err)") }
        mounts.append(dir)
    }

    /// Writes zeros until the file system refuses, then gives `leaving` bytes back.
    func fill(_ dir: String, leaving: Int = 0) throws -> String {
        let filler = dir + "/filler"
        let (code, _, _) = try Self.tool("/bin/dd", ["if=/dev/zero", "of=" + filler, "bs=64k"])
        XCTAssertNotEqual(code, 0, "dd must stop at a full disk")
        var info = statvfs()
        XCTAssertEqual(statvfs(dir, &info), 0)
        XCTAssertLessThan(Int(info.f_bavail) * Int(info.f_frsize), 64 << 10, "the file system is not full")
        if leaving > 0 {
            let size = try XCTUnwrap(try FileManager.default.attributesOfItem(atPath: filler)[.size] as? Int)
            XCTAssertEqual(truncate(filler, off_t(size - leaving)), 0)
        }
        return filler
    }

    /// A store whose database and keys live on one small tmpfs and whose blobs on another, so
    /// either can be filled alone; `scratch` (on the ordinary disk) holds logs and inputs.
    func makeStore() throws -> (store: String, root: String, blobs: String, scratch: String) {
        let scratch = NSTemporaryDirectory() + "full-" + UUID().uuidString
        self.scratch = scratch
        let root = scratch + "/fs"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        try mountTmpfs(root, mebibytes: 24)
        let store = root + "/store"
        XCTAssertEqual(try strongroom(["init", "--store", store]).0, 0)
        let blobs = store + "/blobs"
        try mountTmpfs(blobs, mebibytes: 8)
        XCTAssertEqual(mkdir(blobs + "/tmp", 0o700), 0)
        return (store, root, blobs, scratch)
    }

    func leftovers(_ blobs: String) -> [String] { (try? FileManager.default.contentsOfDirectory(atPath: blobs + "/tmp")) ?? [] }

    func testAFullDiskIsAnswered507StorageFullLoggedCountedAndRecoveredFrom() throws {
        let (store, root, blobs, scratch) = try makeStore()
        let (_, tokenLine, _) = try strongroom(["user", "add", "jo", "--api-token", "--role", "dsl", "--school", "S1", "--store", store])
        let token = tokenLine.trimmingCharacters(in: .whitespacesAndNewlines)
        let log = scratch + "/serve.log"
        XCTAssertTrue(FileManager.default.createFile(atPath: log, contents: nil))
        let server = Process()
        server.executableURL = BuiltBinary.strongroom
        server.arguments = ["serve", "--store", store, "--port", "0"]
        let out = Pipe()
        server.standardOutput = out
        server.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        try server.run()
        defer { if server.isRunning { server.terminate(); server.waitUntilExit() } }
        let line = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
        let port = Int(line.split(separator: ":").last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
        XCTAssertGreaterThan(port, 0, line)

        // Names that must never reach the log: the filename and the child id of the uploads.
        let png = try Samples.bytes("body-map-front.png")
        // A PNG and zeros: 1 MiB that libmagic still calls a PNG.
        let large = png + [UInt8](repeating: 0, count: (1 << 20) - png.count)
        func upload(_ body: [UInt8]) throws -> HTTPReply {
            try RawHTTP.exchange(
                port: port, method: "POST", path: "/v1/attachments?school=S1&child=CHILDQX7&concern=K1&kind=body-map&filename=secret-name.png",
                headers: ["Authorization": "Bearer \(token)", "Content-Type": "image/png"], body: body, sendOnly: nil)
        }
        func metric() throws -> Int? {
            let text = try RawHTTP.exchange(port: port, method: "GET", path: "/metrics", headers: [:], body: nil, sendOnly: nil).text
            let line = text.split(separator: "\n").first { $0.hasPrefix("strongroom_storage_full_total ") }
            return line.flatMap { Int($0.split(separator: " ")[1]) }
        }
        func assertStorageFull(_ reply: HTTPReply, _ what: String) {
            XCTAssertEqual(reply.status, 507, "\(what): \(reply.text)")
            XCTAssertEqual((reply.json as? [String: Any])?["type"] as? String, "urn:strongroom:problem:storage-full", what)
        }
        let first = try upload(large)
        XCTAssertEqual(first.status, 201, first.text)
        let acknowledged = [(first.json as? [String: Any])?["id"] as? String].compactMap { $0 }
        XCTAssertEqual(try metric(), 0, "the counter is there before the first full disk")

        // The blobs' file system fills during an upload, then is full before one starts.
        var filler = try fill(blobs, leaving: 192 << 10)
        assertStorageFull(try upload(large), "upload filling the blob disk")
        XCTAssertEqual(leftovers(blobs), [], "no temp file may stay behind")
        try FileManager.default.removeItem(atPath: filler)
        filler = try fill(blobs)
        assertStorageFull(try upload(png), "upload with the blob disk full")
        XCTAssertEqual(leftovers(blobs), [], "no temp file may stay behind")
        XCTAssertEqual(try metric(), 2)
        try FileManager.default.removeItem(atPath: filler)
        let second = try upload(large)
        XCTAssertEqual(second.status, 201, "once space is freed, the same upload is stored: \(second.text)")

        // The database's file system full: the blob fits, the row and its audit event do not.
        filler = try fill(root)
        assertStorageFull(try upload(png), "upload with the database disk full")
        XCTAssertEqual(leftovers(blobs), [])
        let id = try XCTUnwrap(acknowledged.first)
        // A download's audit event cannot be written either: refused the same way, not sent unaudited.
        let download = try RawHTTP.exchange(port: port, method: "GET", path: "/v1/attachments/\(id)",
                                            headers: ["Authorization": "Bearer \(token)"], body: nil, sendOnly: nil)
        assertStorageFull(download, "download with the database disk full")
        XCTAssertEqual(try metric(), 4)
        try FileManager.default.removeItem(atPath: filler)
        let third = try upload(png)
        XCTAssertEqual(third.status, 201, "once space is freed, the same upload is stored: \(third.text)")
        let again = try RawHTTP.exchange(port: port, method: "GET", path: "/v1/attachments/\(id)",
                                         headers: ["Authorization": "Bearer \(token)"], body: nil, sendOnly: nil)
        XCTAssertEqual(again.status, 200)
        XCTAssertEqual(again.body, large, "an upload acknowledged before the disk filled is intact")

        server.terminate()
        server.waitUntilExit()
        let logged = try String(contentsOfFile: log, encoding: .utf8)
        let fullLines = logged.split(separator: "\n").filter { $0.contains("the disk holding the store is full") }
        XCTAssertEqual(fullLines.count, 4, logged)
        XCTAssertTrue(fullLines.allSatisfy { $0.contains(" error ") }, "logged at error level: \(fullLines)")
        XCTAssertFalse(logged.contains("secret-name") || logged.contains("CHILDQX7"), "the log names a file or a child: \(logged)")

        // Nothing half-stored: three records, each whole, and the audit log intact.
        let (verifyCode, verifyOut, verifyErr) = try strongroom(["verify", "--store", store])
        XCTAssertEqual(verifyCode, 0, verifyOut + verifyErr)
        XCTAssertTrue(verifyOut.hasPrefix("3 records, 3 intact"), verifyOut)
        let (auditCode, auditOut, auditErr) = try strongroom(["audit", "verify", "--store", store])
        XCTAssertEqual(auditCode, 0, auditOut + auditErr)
    }

    func testPutOnAFullDiskSaysTheDiskIsFullAndExits74() throws {
        let (store, root, blobs, scratch) = try makeStore()
        let input = scratch + "/body-map.png"
        try Data(try Samples.bytes("body-map-front.png")).write(to: URL(fileURLWithPath: input))
        let put = ["put", input, "--store", store, "--school", "S1", "--child", "C1", "--concern", "K1", "--kind", "body-map"]
        XCTAssertEqual(try strongroom(put).0, 0)

        var filler = try fill(blobs)
        var (code, _, err) = try strongroom(put)
        XCTAssertEqual(code, 74, err)
        XCTAssertTrue(err.hasPrefix("strongroom: the disk holding the store is full"), err)
        XCTAssertEqual(leftovers(blobs), [])
        try FileManager.default.removeItem(atPath: filler)

        filler = try fill(root)
        (code, _, err) = try strongroom(put)
        XCTAssertEqual(code, 74, err)
        XCTAssertTrue(err.hasPrefix("strongroom: the disk holding the store is full"), err)
        try FileManager.default.removeItem(atPath: filler)

        XCTAssertEqual(try strongroom(put).0, 0, "once space is freed, put works again")
        let (verifyCode, verifyOut, _) = try strongroom(["verify", "--store", store])
        XCTAssertEqual(verifyCode, 0)
        XCTAssertTrue(verifyOut.hasPrefix("2 records, 2 intact"), verifyOut)
    }

    /// ENOSPC and EDQUOT wherever they come from (a blob write, the key store, SQLite) are one
    /// answer; other storage failures keep theirs.
    func testEveryOutOfSpaceFailureMapsToStorageFull() {
        let full: [Error] = [
            VaultError.storage(.io(operation: "write", path: "/store/blobs/tmp/x.tmp", errno: ENOSPC)),
            VaultError.storage(.io(operation: "fsync", path: "/store/blobs/tmp/x.tmp", errno: EDQUOT)),
            VaultError.storage(.outOfSpace("the metadata database")),
            VaultError.key(.io(path: "/store/keys/keystore", errno: ENOSPC)),
            StorageError.io(operation: "mkdir", path: "/store/blobs/ab", errno: ENOSPC),
            StorageError.from(DatabaseError(resultCode: .SQLITE_FULL)),
            StorageError.from(DatabaseError(resultCode: .SQLITE_IOERR_SHMSIZE)),
        ]
        for error in full {
            let problem = Problem.from(error)
            XCTAssertEqual(problem.status.code, 507, "\(error)")
            XCTAssertEqual(problem.slug, "storage-full", "\(error)")
            XCTAssertFalse(problem.detail.contains("/store"), "no path in the answer")
        }
        XCTAssertEqual(Problem.from(VaultError.storage(.io(operation: "write", path: "/x", errno: EIO))).status.code, 500)
        XCTAssertEqual(Problem.from(StorageError.from(DatabaseError(resultCode: .SQLITE_IOERR_WRITE))).status.code, 500)
        XCTAssertEqual(Problem.from(VaultError.storage(.auditUnavailable("locked"))).status.code, 503)
    }
}
