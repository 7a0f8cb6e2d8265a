import Foundation
import GRDB

extension PostgresCatalog {
    /// Writes a consistent copy of the whole catalog to `path` (which must not exist) as an
    /// embedded database, the same file `SQLiteCatalog.snapshot(into:)` writes for a store in a
    /// folder: a new database with the embedded schema, every table copied into it inside one
    /// REPEATABLE READ transaction (one committed moment of every node's writes), switched to
    /// rollback-journal mode and fsynced. A backup of a store on PostgreSQL is then the same
    /// repository as any other (docs/backup.md).
    public func snapshot(into path: String) throws {
        guard !FileManager.default.fileExists(atPath: path) else { throw StorageError.database("\(path) already exists; refusing to overwrite it") }
        do {
            let copy = try SQLiteCatalog.create(path: path, vaultID: vaultID, clock: clock)
            defer { copy.close() }
            _ = try copyCatalog(into: copy)
        } catch {
            for leftover in [path, path + "-wal", path + "-shm"] { unlink(leftover) }
            throw error
        }
        do {
            let file = try DatabaseQueue(path: path)
            try file.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA journal_mode = DELETE") }
            try file.close()
        } catch let error as DatabaseError {
            throw StorageError.from(error)
        }
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw StorageError.io(operation: "open", path: path, errno: errno) }
        defer { _ = Glibc.close(fd) }
        guard Glibc.fsync(fd) == 0 else { throw StorageError.io(operation: "fsync", path: path, errno: errno) }
    }
}
