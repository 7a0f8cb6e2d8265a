import Foundation
import GRDB

/// A full file system is told apart from other storage failures, in one place: it is not the
/// client's fault nor damage to the store, an operator fixes it by freeing space, and the same
/// request then succeeds. Nothing of an operation that failed this way was kept (a blob is
/// written to a temporary file and renamed only once whole; a row commits in a transaction).
extension StorageError {
    /// Whether this failure is the file system holding the store being full (ENOSPC) or the
    /// owner's quota used up (EDQUOT).
    public var isOutOfSpace: Bool {
        switch self {
        case .outOfSpace: true
        case .io(_, _, let code): Self.isOutOfSpace(errno: code)
        default: false
        }
    }

    public static func isOutOfSpace(errno code: Int32) -> Bool { code == ENOSPC || code == EDQUOT }

    /// SQLite's failure, as the error a caller acts on: `.outOfSpace` when the database or its
    /// write-ahead log or shared-memory file could not grow, else `.database`.
    static func from(_ error: DatabaseError) -> StorageError {
        isOutOfSpace(error) ? .outOfSpace("the metadata database") : .database(SQLiteCatalog.describe(error))
    }

    /// SQLITE_FULL is SQLite's "disk full" (ENOSPC on a write); SQLITE_IOERR_SHMSIZE is the
    /// shared-memory file failing to grow, which on Linux is a full file system (SQLite writes
    /// to each new page to make the kernel allocate it, and that write fails with ENOSPC).
    static func isOutOfSpace(_ error: DatabaseError) -> Bool {
        error.resultCode == .SQLITE_FULL || error.extendedResultCode == .SQLITE_IOERR_SHMSIZE
    }
}
