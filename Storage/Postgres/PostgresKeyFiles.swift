import Foundation
import KeyManagement

/// The key store file and the deletion ledger of a deployment of several nodes, kept in the
/// shared catalog's `key_files` table, byte for byte what the store folder's `keys/` would hold
/// (docs/keys.md). A change locks the file's row (`SELECT ... FOR UPDATE`) for its transaction,
/// so every node's changes take turns as processes sharing a folder do under `flock`; the row's
/// version is the stamp nodes cache by. They stay apart from the catalog's other tables only by
/// name: a backup or a shred treats them as the folder's files (keys and data can still be
/// destroyed apart, by deleting the row).
public struct PostgresKeyFiles: KeyFiles {
    let pool: PostgresPool

    init(pool: PostgresPool) {
        self.pool = pool
    }

    public var location: String { pool.location.description }

    public func read(_ name: String) throws -> [UInt8]? {
        try mapped {
            try pool.with { sql in try sql.value(Data.self, "SELECT bytes FROM key_files WHERE name = ?", [name]).map { [UInt8]($0) } }
        }
    }

    public func stamp(_ name: String) -> String? {
        try? pool.with { sql in try sql.value(Int64.self, "SELECT version FROM key_files WHERE name = ?", [name]).map(String.init) }
    }

    public func create(_ name: String, _ bytes: [UInt8]) throws {
        let inserted = try mapped {
            try pool.with { sql in
                try sql.execute("INSERT INTO key_files (name, bytes, version) VALUES (?, ?, 1) ON CONFLICT (name) DO NOTHING", [name, Data(bytes)])
            }
        }
        guard inserted == 1 else { throw KeyManagementError.alreadyExists("\(location) \(name)") }
    }

    public func update<T>(_ name: String, _ body: ([UInt8]?) throws -> (change: KeyFileChange, result: T)) throws -> T {
        try mapped {
            try pool.transaction { sql in
                // The row is made (empty) when there is none, so that there is a row to lock.
                try sql.execute("INSERT INTO key_files (name, bytes, version) VALUES (?, NULL, 0) ON CONFLICT (name) DO NOTHING", [name])
                let current = try sql.value(Data.self, "SELECT bytes FROM key_files WHERE name = ? FOR UPDATE", [name]).map { [UInt8]($0) }
                let (change, result) = try body(current)
                switch change {
                case .none: break
                case .replace(let bytes):
                    try sql.execute("UPDATE key_files SET bytes = ?, version = version + 1 WHERE name = ?", [Data(bytes), name])
                case .append(let bytes, let keeping):
                    let kept = (current ?? []).prefix(keeping)
                    try sql.execute("UPDATE key_files SET bytes = ?, version = version + 1 WHERE name = ?", [Data(kept + bytes), name])
                }
                return result
            }
        }
    }

    /// Failures of the database as key store failures, which callers already handle.
    private func mapped<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as KeyManagementError {
            throw error
        } catch {
            throw KeyManagementError.unavailable("the key store in \(location) could not be reached")
        }
    }
}
