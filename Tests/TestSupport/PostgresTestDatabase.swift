import Foundation
import Storage
import XCTest

/// A database of its own for one test, in the PostgreSQL server Scripts/test.sh starts
/// (Scripts/lib/postgres.sh exports STRONGROOM_TEST_POSTGRES and PGPASSWORD). Made and dropped
/// with Debian's `psql`. Without the server the test is skipped, or fails under CI=true.
public struct PostgresTestDatabase {
    public let location: PostgresLocation
    public let password: String?
    private let admin: PostgresLocation

    /// The server's address, or a skip (a failure under CI) naming how to start it.
    public static func server() throws -> PostgresLocation {
        try PostgresLocation(parsing: try TestServers.required("STRONGROOM_TEST_POSTGRES", start: "source Scripts/lib/postgres.sh && postgres_start"))
    }

    public init() throws {
        admin = try Self.server()
        password = try admin.password()
        var location = admin
        location.database = "t_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        self.location = location
        try psql("CREATE DATABASE \(location.database)")
    }

    /// Drops the database, closing whatever connections are left.
    public func drop() {
        _ = try? psql("DROP DATABASE IF EXISTS \(location.database) WITH (FORCE)")
    }

    /// Every row of this test's database as `pg_dump --data-only` writes it: what someone with a
    /// dump or a copy of the database would read.
    public func dump() throws -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/pg_dump")
        process.arguments = ["--data-only", "--no-owner", "-h", location.host, "-p", String(location.port), "-U", location.user, "-d", location.database]
        let errors = Pipe(), output = Pipe()
        process.standardError = errors
        process.standardOutput = output
        try process.run()
        let printed = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let said = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            throw NSError(domain: "pg_dump", code: Int(process.terminationStatus), userInfo: [NSLocalizedDescriptionKey: said])
        }
        return Array(printed)
    }

    /// Runs SQL in this test's database (a tamperer's access), or in the server's own with
    /// `admin`; returns what it printed (unaligned, tuples only).
    @discardableResult
    public func psql(_ sql: String, admin useAdmin: Bool = false, tags: Bool = false) throws -> String {
        let target = useAdmin || sql.hasPrefix("CREATE DATABASE") || sql.hasPrefix("DROP DATABASE") ? admin : location
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
        process.arguments = ["-X"] + (tags ? [] : ["-q"]) + ["-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", target.host, "-p", String(target.port), "-U", target.user,
                             "-d", target.database, "-c", sql]
        let errors = Pipe(), output = Pipe()
        process.standardError = errors
        process.standardOutput = output
        try process.run()
        let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let said = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw NSError(domain: "psql", code: Int(process.terminationStatus), userInfo: [NSLocalizedDescriptionKey: said])
        }
        return printed.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
