import Foundation

/// Where the catalog is, parsed from `postgres://USER@HOST:PORT/DATABASE` (or `postgresql://`),
/// with `?sslmode=disable|require` (require: TLS with the system's trusted CAs; disable is the
/// default only for a loopback host). The text holds no password: it comes from `PGPASSWORD` or
/// the `~/.pgpass` file (`PGPASSFILE`), as for `psql`.
public struct PostgresLocation: Sendable, Equatable {
    public var user: String
    public var host: String
    public var port: Int
    public var database: String
    public var tls: Bool

    public init(user: String, host: String, port: Int = 5432, database: String, tls: Bool = false) {
        self.user = user
        self.host = host
        self.port = port
        self.database = database
        self.tls = tls
    }

    public init(parsing text: String) throws {
        let usage = "expected postgres://USER@HOST:PORT/DATABASE"
        guard let parts = URLComponents(string: text), parts.scheme == "postgres" || parts.scheme == "postgresql" else {
            throw StorageError.database(usage)
        }
        guard parts.password == nil else {
            throw StorageError.database("no password in the address: give it in PGPASSWORD or ~/.pgpass")
        }
        guard let user = parts.user, !user.isEmpty, let host = parts.host, !host.isEmpty else { throw StorageError.database(usage) }
        let database = String(parts.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty, !database.contains("/") else { throw StorageError.database(usage) }
        let port = parts.port ?? 5432
        guard (1...65535).contains(port) else { throw StorageError.database("the port must be 1 to 65535") }
        var tls = !Self.isLoopback(host)
        for item in parts.queryItems ?? [] {
            switch (item.name, item.value) {
            case ("sslmode", "disable"?): tls = false
            case ("sslmode", "require"?), ("sslmode", "verify-full"?): tls = true
            case ("sslmode", _): throw StorageError.database("sslmode= is disable, require or verify-full")
            default: throw StorageError.database("unknown option \(item.name)")
            }
        }
        self.init(user: user, host: host, port: port, database: database, tls: tls)
    }

    /// The address without any secret, as written in the catalog and in messages.
    public var description: String { "postgres://\(user)@\(host):\(port)/\(database)" }

    /// `localhost`, or an IPv4 address in 127.0.0.0/8, or ::1 (a name like `127.example` is not).
    static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" || host == "::1" || host == "[::1]" { return true }
        var address = in_addr()
        return inet_pton(AF_INET, host, &address) == 1 && host.hasPrefix("127.")
    }

    /// The password for this location: `PGPASSWORD`, else the first matching line of the
    /// password file (`PGPASSFILE` or `~/.pgpass`), which like psql's must not be readable by
    /// others; nil when neither gives one (trust or peer authentication).
    public func password(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String? {
        if let password = environment["PGPASSWORD"], !password.isEmpty { return password }
        let path = environment["PGPASSFILE"] ?? (environment["HOME"].map { $0 + "/.pgpass" } ?? "")
        guard !path.isEmpty, let data = FileManager.default.contents(atPath: path) else { return nil }
        var info = stat()
        if stat(path, &info) == 0, info.st_mode & 0o077 != 0 {
            throw StorageError.database("the password file \(path) can be read by others; run chmod 600 on it")
        }
        for line in String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline) {
            if line.hasPrefix("#") { continue }
            let fields = Self.pgpassFields(line)
            guard fields.count == 5 else { continue }
            let wanted = [host, String(port), database, user]
            if zip(fields.prefix(4), wanted).allSatisfy({ $0 == "*" || $0 == $1 }) { return fields[4] }
        }
        return nil
    }

    /// A `.pgpass` line's fields: separated by `:`, with `\:` and `\\` escaped.
    static func pgpassFields(_ line: Substring) -> [String] {
        var fields: [String] = []
        var current = ""
        var escaped = false
        for c in line {
            if escaped {
                current.append(c)
                escaped = false
            } else if c == "\\" {
                escaped = true
            } else if c == ":" {
                fields.append(current)
                current = ""
            } else {
                current.append(c)
            }
        }
        fields.append(current)
        return fields
    }
}
