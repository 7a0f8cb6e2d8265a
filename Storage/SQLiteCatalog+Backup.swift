import Foundation
import GRDB
import GRDBSQLite
import KeyManagement

/// What a backup needs to know of a database snapshot, read from the snapshot file itself.
public struct SnapshotFacts: Sendable {
    public struct Record: Sendable {
        public var id: String
        public var school: String
        public var ciphertextSize: Int64
        public var ciphertextBlake2b: String
        public var kekID: String
    }
    public var vaultID: String
    /// The audit tree's size and root as the snapshot's tree head records them.
    public var auditTreeSize: Int
    public var auditRoot: [UInt8]
    /// Every record row, in table order.
    public var records: [Record]
}

extension SQLiteCatalog {
    /// Writes a consistent copy of the whole database to `path` (which must not exist) with
    /// `VACUUM INTO`, run in one read of the WAL while writers go on; never a raw file copy.
    /// The copy is switched to rollback-journal mode, so it opens read-only anywhere, and fsynced.
    public func snapshot(into path: String) throws {
        guard !FileManager.default.fileExists(atPath: path) else { throw StorageError.database("\(path) already exists; refusing to overwrite it") }
        try guarded {
            // VACUUM cannot run inside a transaction; on its own it reads one snapshot of the WAL.
            try pool.unsafeRead { db in try db.execute(sql: "VACUUM INTO ?", arguments: [path]) }
            let copy = try DatabaseQueue(path: path)
            try copy.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA journal_mode = DELETE")
            }
            try copy.close()
        }
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw StorageError.io(operation: "open", path: path, errno: errno) }
        defer { _ = Glibc.close(fd) }
        guard Glibc.fsync(fd) == 0 else { throw StorageError.io(operation: "fsync", path: path, errno: errno) }
    }

    /// Reads a snapshot file (read-only, nothing written beside it): its vault, audit head and
    /// records. Throws `StorageError.database` for a file that is not a Strongroom database.
    public static func snapshotFacts(path: String) throws -> SnapshotFacts {
        var config = Configuration()
        config.readonly = true
        do {
            let queue = try DatabaseQueue(path: path, configuration: config)
            defer { try? queue.close() }
            return try queue.read { db in
                guard let vaultID = try String.fetchOne(db, sql: "SELECT value FROM vault WHERE key = 'vault_id'") else {
                    throw StorageError.database("\(path) has no vault id")
                }
                guard let head = try Row.fetchOne(db, sql: "SELECT tree_size, frontier FROM audit_head WHERE id = 1"),
                      let frontier = TreeFrontier(serialized: [UInt8](head["frontier"] as Data)),
                      frontier.size == head["tree_size"] as Int else {
                    throw StorageError.database("\(path) has no valid audit tree head")
                }
                var records: [SnapshotFacts.Record] = []
                // In table order (one pass over the pages; ORDER BY id would look every row up
                // through the id index, a random read each), columns read straight from SQLite's
                // buffers: a hundred thousand rows in a tenth of a second.
                let statement = try db.makeStatement(sql: "SELECT id, school, ciphertext_size, ciphertext_blake2b, kek_id FROM records")
                let s = statement.sqliteStatement
                func text(_ i: CInt) -> String {
                    guard let p = sqlite3_column_text(s, i) else { return "" }
                    return String(decoding: UnsafeBufferPointer(start: p, count: Int(sqlite3_column_bytes(s, i))), as: UTF8.self)
                }
                let rows = try Row.fetchCursor(statement)
                while try rows.next() != nil {
                    records.append(.init(id: text(0), school: text(1), ciphertextSize: sqlite3_column_int64(s, 2), ciphertextBlake2b: text(3), kekID: text(4)))
                }
                return SnapshotFacts(vaultID: vaultID, auditTreeSize: frontier.size, auditRoot: frontier.root, records: records)
            }
        } catch let error as DatabaseError {
            throw StorageError.database("\(path): \(describe(error))")
        }
    }

    /// Every record row of a snapshot file, read-only, in id order.
    public static func forEachRecord(path: String, _ body: (EvidenceRecord) throws -> Void) throws {
        var config = Configuration()
        config.readonly = true
        do {
            let queue = try DatabaseQueue(path: path, configuration: config)
            defer { try? queue.close() }
            try queue.read { db in
                let rows = try EvidenceRecord.order(Column("id")).fetchCursor(db)
                while let record = try rows.next() { try body(record) }
            }
        } catch let error as DatabaseError {
            throw StorageError.database("\(path): \(describe(error))")
        }
    }

    /// After a restore: deletes the rows (and with them the wrapped data keys) of records the
    /// deletion ledger names, marks the shred requests that shredded them done, and appends
    /// `events`, all in one transaction. Returns the ids of the rows it deleted.
    public func replayShreds(records: Set<String>, requests: Set<String>, events: @escaping @Sendable (_ deleted: [String]) -> [AuditEntry]) throws -> [String] {
        try sqliteWrite { db in
            var deleted: [String] = []
            let delete = try db.cachedStatement(sql: "DELETE FROM records WHERE id = ?")
            for id in records.sorted() {
                try delete.execute(arguments: [id])
                if db.changesCount == 1 { deleted.append(id) }
            }
            let finish = try db.cachedStatement(sql: "UPDATE shred_requests SET state = ? WHERE id = ? AND state != ?")
            for id in requests.sorted() {
                try finish.execute(arguments: [ShredRequest.State.done.rawValue, id, ShredRequest.State.done.rawValue])
            }
            _ = try self.appendLocked(db, events(deleted), signer: nil)
            return deleted
        }
    }
}
