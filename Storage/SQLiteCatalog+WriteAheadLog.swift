import Foundation
import GRDB

extension SQLiteCatalog {
    /// SQLite's own: the write-ahead log is a file beside the database, where deleted rows can
    /// outlive their shred until it is written back and emptied.
    public func purgeWriteAheadLog() throws {
        try guarded {
            // TRUNCATE waits for readers (busy timeout) and then empties the WAL file.
            try pool.writeWithoutTransaction { db in
                let result = try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(TRUNCATE)")
                if let busy: Int = result?["busy"], busy != 0 {
                    throw StorageError.database("the write-ahead log could not be emptied while readers were active; it will be on the next shred or close")
                }
            }
        }
    }
}
