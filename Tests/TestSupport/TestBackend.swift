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
}

/// A store for one test, on whichever backends this run uses: `options` and `master` open it.
public final class TestStore: @unchecked Sendable {
    public let layout: StoreLayout
    /// The database of a store on the shared backends.
    public let database: PostgresTestDatabase?
    private let masterKeyPath: String?
    private let shared: (MetadataBackend, BlobBackend)?

    public init(layout: StoreLayout) throws {
        self.layout = layout
        guard TestBackend.isShared else {
            database = nil
            masterKeyPath = nil
            shared = nil
            return
        }
        let env = ProcessInfo.processInfo.environment
        guard let s3 = env["STRONGROOM_TEST_S3"], !s3.isEmpty else {
            XCTFail("STRONGROOM_TEST_BACKEND=shared needs STRONGROOM_TEST_S3: run Scripts/test.sh")
            throw XCTSkip("failed above")
        }
        var location = try S3Location(parsing: s3)
        location.prefix = "t" + UUID().uuidString.prefix(8).lowercased() + "/blobs/"
        let database = try PostgresTestDatabase()
        self.database = database
        // The master key lives beside where the folder would be (there is none on these backends).
        masterKeyPath = layout.root + ".master.key"
        shared = (.postgres(database.location, password: database.password), .objectStore(location, try S3Credentials.fromEnvironment(env)))
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

    /// Runs SQL on the catalog as someone with the database itself would (not through the vault).
    public func tamper(_ sql: String, _ arguments: [(any DatabaseValueConvertible)?] = []) throws {
        if let database {
            try database.psql(try Self.inline(sql, arguments))
        } else {
            let db = try DatabaseQueue(path: layout.metadata)
            try db.write { try $0.execute(sql: sql, arguments: StatementArguments(arguments)) }
        }
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
