import Foundation
import KeyManagement
import Storage

/// The embedded store is one folder that `strongroom init` creates (docs/formats.md):
///
///     STORE/metadata.sqlite      records, wrapped data keys, audit log (SQLite, WAL)
///     STORE/blobs/xx/ID.blob     encrypted evidence; blobs/tmp/ holds uploads in progress
///     STORE/keys/keystore.json   KEKs and the audit-signing key, wrapped by the master key
///     STORE/keys/master.key      the default master key file (mode 0600), unless kept elsewhere
///     STORE/store.lock           taken shared by writers, exclusively by gc
///     STORE/bundles/ID.age       released bundles, encrypted to their recipients (docs/bundles.md)
///     STORE/transfers/ID-C.age   sent transfers, encrypted to the receiving school (docs/transfers.md)
public struct StoreLayout: Sendable {
    public let root: String

    public init(root: String) {
        var path = root
        while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
        self.root = path
    }

    public var metadata: String { root + "/" + SQLiteCatalog.fileName }
    public var blobs: String { root + "/blobs" }
    public var keys: String { root + "/keys" }
    public var keyStore: String { keys + "/" + KeyStore.fileName }
    public var defaultMasterKey: String { keys + "/master.key" }
    public var lockFile: String { root + "/store.lock" }
    /// Released bundles, age-encrypted to their recipients, until their links end.
    public var bundles: String { root + "/bundles" }
    /// Sent transfer packages, age-encrypted to the receiving school, until received or expired.
    public var transfers: String { root + "/transfers" }

    public var exists: Bool { FileManager.default.fileExists(atPath: keyStore) || FileManager.default.fileExists(atPath: metadata) }
}

/// An advisory lock on store.lock: writers share it while a blob may be uncommitted; gc takes it
/// exclusively, so it never mistakes an upload in flight for an orphan. Also used on a backup
/// folder itself (`folder: true`), so that folder holds no lock file of its own.
final class StoreLock {
    private let fd: Int32

    init(path: String, exclusive: Bool, wait: Bool, folder: Bool = false,
         busy: String = "the store is busy (an upload or gc is in progress); try again") throws {
        fd = folder ? open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw VaultError.storage(.io(operation: "open", path: path, errno: errno)) }
        var op = exclusive ? LOCK_EX : LOCK_SH
        if !wait { op |= LOCK_NB }
        while flock(fd, op) != 0 {
            if errno == EINTR { continue }
            let code = errno
            close(fd)
            if code == EWOULDBLOCK { throw VaultError.busy(busy) }
            throw VaultError.storage(.io(operation: "flock", path: path, errno: code))
        }
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }
}
