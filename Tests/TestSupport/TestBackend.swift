import Foundation
import GRDB
import KeyManagement
import Storage
import Vault
import XCTest

/// Which backends a test run puts its stores on. `Scripts/test.sh` runs the vault and server
/// suites twice: on the embedded store (a folder), and with `STRONGROOM_TEST_BACKEND=shared` on
/// PostgreSQL and the object store, as a deployment of several nodes does, each store with a
/// database and a bucket prefix of its own.
public enum TestBackend {
    public static var isShared: Bool { ProcessInfo.processInfo.environment["STRONGROOM_TEST_BACKEND"] == "shared" }

    /// Skips a test that checks something only the embedded store has (its folder, its SQLite
    /// file), when this run is on the shared backends; `why` says what.
    public static func requireEmbedded(_ why: String) throws {
        if isShared { throw XCTSkip("embedded store only: \(why)") }
    }

    /// Skips a test of several nodes sharing one store, which only the shared backends allow.
    public static func requireShared(_ why: String) throws {
        if !isShared { throw XCTSkip("shared backends only (STRONGROOM_TEST_BACKEND=shared): \(why)") }
    }
}

/// The real servers Scripts/test.sh starts for the tests. Without one a test is skipped, or
/// fails under CI=true (where every server must be there), naming how to start it.
public enum TestServers {
    /// The object store's address (STRONGROOM_TEST_S3, from Scripts/lib/seaweedfs.sh).
    public static func s3Address() throws -> String {
        try required("STRONGROOM_TEST_S3", start: "source Scripts/lib/seaweedfs.sh && seaweedfs_start")
    }

    /// The object store with a key prefix of its own (`name-RANDOM/blobs/`), and its credentials.
    public static func s3(prefix name: String) throws -> (location: S3Location, credentials: S3Credentials) {
        var location = try S3Location(parsing: try s3Address())
        location.prefix = name + "-" + UUID().uuidString.prefix(12).lowercased() + "/blobs/"
        return (location, try S3Credentials.fromEnvironment(ProcessInfo.processInfo.environment))
    }

    /// An environment variable a server's start exports.
    static func required(_ name: String, start: String) throws -> String {
        let env = ProcessInfo.processInfo.environment
        guard let text = env[name], !text.isEmpty else {
            let message = "\(name) is not set: run Scripts/test.sh, or `\(start)` first"
            if env["CI"] == "true" {
                XCTFail(message)
                throw XCTSkip("failed above")
            }
            throw XCTSkip(message)
        }
        return text
    }
}

/// A store for one test, on whichever backends this run uses: `options` and `master` open it.
public final class TestStore: @unchecked Sendable {
    public let layout: StoreLayout
    /// The database of a store on the shared backends.
    public let database: PostgresTestDatabase?
    private let masterKeyPath: String?
    private let shared: (MetadataBackend, BlobBackend)?
    /// The object store's client and key prefix, to reach a blob as someone with the bucket would.
    private let objects: (client: S3Client, prefix: String)?

    public init(layout: StoreLayout) throws {
        self.layout = layout
        guard TestBackend.isShared else {
            database = nil
            masterKeyPath = nil
            shared = nil
            objects = nil
            return
        }
        let (location, credentials) = try TestServers.s3(prefix: "t")
        let database = try PostgresTestDatabase()
        self.database = database
        // The master key lives beside where the folder would be (there is none on these backends).
        masterKeyPath = layout.root + ".master.key"
        shared = (.postgres(database.location, password: database.password), .objectStore(location, credentials))
        objects = (S3Client(location: location, credentials: credentials), location.prefix)
    }

    /// The master key source the store was created with.
    public var master: MasterKeySource { .keyFile(masterKeyPath) }

    /// `base` set to open this store.
    public func options(_ base: Vault.Options = Vault.Options()) -> Vault.Options {
        var options = base
        if let (metadata, blobs) = shared {
            options.metadata = metadata
            options.blobs = blobs
        }
        return options
    }

    /// Runs SQL on the catalog as someone with the database itself would (not through the vault);
    /// returns how many rows the last statement changed.
    @discardableResult
    public func tamper(_ sql: String, _ arguments: [(any DatabaseValueConvertible)?] = []) throws -> Int {
        if let database {
            // psql prints the last statement's tag, "UPDATE 2", with tuples-only output.
            let tag = try database.psql(try Self.inline(sql, arguments), tags: true)
            return Int(tag.split(separator: "\n").last?.split(separator: " ").last ?? "") ?? 0
        }
        let db = try DatabaseQueue(path: layout.metadata)
        return try db.write { db in
            try db.execute(sql: sql, arguments: StatementArguments(arguments))
            return db.changesCount
        }
    }

    /// A record's stored blob, read as someone with the disk or the bucket would.
    public func blob(_ id: String) throws -> [UInt8] {
        if let objects { return Array(try objects.client.getObject(key: objects.prefix + id)) }
        return Array(try Data(contentsOf: URL(fileURLWithPath: blobPath(id))))
    }

    /// Replaces a record's stored blob with other bytes, as someone with the disk or the bucket could.
    public func replaceBlob(_ id: String, with bytes: [UInt8]) throws {
        if let objects {
            _ = try objects.client.putObject(key: objects.prefix + id, body: Data(bytes))
            return
        }
        try FileManager.default.removeItem(atPath: blobPath(id))
        try Data(bytes).write(to: URL(fileURLWithPath: blobPath(id)))
    }

    /// What the store holds of blobs: each blob file (`xx/ID.blob`) and upload in progress
    /// (`tmp/...`) of the folder, or each object (`ID.blob`) and unfinished multipart upload
    /// (`tmp/ID`) under the bucket prefix.
    public func storedBlobs() throws -> [String] {
        if let objects {
            let ids = try objects.client.listObjects(prefix: objects.prefix).map { String($0.key.dropFirst(objects.prefix.count)) }
            let uploads = try objects.client.listMultipartUploads(prefix: objects.prefix).map { "tmp/" + $0.key.dropFirst(objects.prefix.count) }
            return ids.filter { !$0.hasPrefix(".") && !$0.hasPrefix("files/") }.map { $0 + ".blob" } + uploads
        }
        let e = FileManager.default.enumerator(atPath: layout.blobs)
        var out: [String] = []
        while let p = e?.nextObject() as? String { if p.hasSuffix(".blob") || p.contains("tmp/") { out.append(p) } }
        return out
    }

    public func blobPath(_ id: String) -> String { layout.blobs + "/" + id.prefix(2) + "/" + id + ".blob" }

    /// Everything the store holds, as someone with its disk, database and bucket would read it,
    /// by where: every file of the folder; or a dump of the database (and, since a dump writes
    /// BYTEA as hex, each BYTEA value's bytes again), and every object under the bucket prefix.
    public func contents() throws -> [(String, [UInt8])] {
        if let database, let objects {
            let dump = try database.dump()
            var out: [(String, [UInt8])] = [("pg_dump", dump), ("pg_dump's BYTEA values", Self.byteaValues(dump))]
            for object in try objects.client.listObjects(prefix: objects.prefix) {
                out.append((object.key, Array(try objects.client.getObject(key: object.key))))
            }
            return out
        }
        guard let enumerator = FileManager.default.enumerator(atPath: layout.root) else { return [] }
        var out: [(String, [UInt8])] = []
        while let path = enumerator.nextObject() as? String {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: layout.root + "/" + path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            out.append((path, Array(try Data(contentsOf: URL(fileURLWithPath: layout.root + "/" + path)))))
        }
        return out
    }

    /// The bytes of every `\x...` hex run in a dump, one after another.
    static func byteaValues(_ dump: [UInt8]) -> [UInt8] {
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
            default: nil
            }
        }
        var out: [UInt8] = []
        var i = 0
        while i + 1 < dump.count {
            guard dump[i] == UInt8(ascii: "\\"), dump[i + 1] == UInt8(ascii: "x") else { i += 1; continue }
            i += 2
            while i + 1 < dump.count, let high = nibble(dump[i]), let low = nibble(dump[i + 1]) {
                out.append(high << 4 | low)
                i += 2
            }
            out.append(0)
        }
        return out
    }

    /// A key file (the key store's, the deletion ledger) as stored: in keys/, or a row of `key_files`.
    public func keyFile(_ name: String) throws -> [UInt8] {
        if let database {
            let hex = try database.psql("SELECT encode(bytes, 'hex') FROM key_files WHERE name = '\(name)'")
            let digits = Array(hex.utf8)
            return stride(from: 0, to: digits.count - 1, by: 2).map { i in
                UInt8(String(decoding: digits[i...i + 1], as: UTF8.self), radix: 16)!
            }
        }
        return Array(try Data(contentsOf: URL(fileURLWithPath: layout.keys + "/" + name)))
    }

    /// Replaces a key file's bytes, as someone with the disk or the database could.
    public func replaceKeyFile(_ name: String, with bytes: [UInt8]) throws {
        if database != nil {
            try tamper("UPDATE key_files SET bytes = ?, version = version + 1 WHERE name = ?", [Data(bytes), name])
            return
        }
        try Data(bytes).write(to: URL(fileURLWithPath: layout.keys + "/" + name))
    }

    /// The statement that turns off the audit log's append-only trigger, as the database's owner
    /// can, on this store's engine.
    public var dropAuditTriggers: String {
        database == nil ? "DROP TRIGGER audit_events_no_delete; DROP TRIGGER audit_events_no_update;"
            : "ALTER TABLE audit_events DISABLE TRIGGER USER;"
    }

    /// A count read from the catalog through a connection of its own (not the vault's).
    public func count(_ sql: String, _ arguments: [(any DatabaseValueConvertible)?] = []) throws -> Int {
        if let database {
            return Int(try database.psql(try Self.inline(sql, arguments))) ?? -1
        }
        let db = try DatabaseQueue(path: layout.metadata)
        return try db.read { try Int.fetchOne($0, sql: sql, arguments: StatementArguments(arguments)) } ?? -1
    }

    /// psql takes no arguments: each `?` becomes its value written as an SQL literal.
    static func inline(_ sql: String, _ arguments: [(any DatabaseValueConvertible)?]) throws -> String {
        var values = arguments.map { $0?.databaseValue ?? .null }
        var out = ""
        for c in sql {
            guard c == "?" else { out.append(c); continue }
            guard !values.isEmpty else { throw NSError(domain: "TestStore", code: 1) }
            switch values.removeFirst().storage {
            case .null: out += "NULL"
            case .int64(let n): out += String(n)
            case .double(let d): out += String(d)
            case .string(let s): out += "'" + s.replacingOccurrences(of: "'", with: "''") + "'"
            case .blob(let data): out += "'\\x" + data.map { String(format: "%02x", $0) }.joined() + "'::bytea"
            }
        }
        return out
    }

    deinit {
        database?.drop()
        try? FileManager.default.removeItem(atPath: layout.root + ".master.key")
    }
}
