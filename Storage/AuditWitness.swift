import Foundation
import KeyManagement
#if canImport(Glibc)
import Glibc
#endif

/// A copy of the vault's signed checkpoints kept where someone who can write the store cannot:
/// an append-only file on another volume (docs/audit.md, "Witness"). One checkpoint a line, as
/// compact JSON in the format of `strongroom audit checkpoint`.
///
/// Every keyed process offers each checkpoint it signs; the newest is written at once when the
/// last write is at least `minimumInterval` old, else kept and written by the next offer after
/// the interval or by `flush` (at close), so a busy server pays one small synchronous append a
/// second, not one a commit. Before its first signature a keyed process proves the stored log
/// against the witness's newest checkpoint too, so a database cut back or replaced by an older
/// copy is refused even when every checkpoint in it was removed with the events.
public final class AuditWitness: @unchecked Sendable {
    public let path: String
    let minimumInterval: TimeInterval
    private let clock: @Sendable () -> Date
    private let lock = NSLock()
    private var pending: Checkpoint?
    private var lastWrite: Date?
    private var failure: String?
    /// Told once per failed write (the operator's log, or stderr at the CLI): a witness that
    /// silently stopped receiving checkpoints would protect nothing.
    private let onProblem: (@Sendable (String) -> Void)?

    public init(
        path: String, minimumInterval: TimeInterval = 0, clock: @escaping @Sendable () -> Date = Date.init,
        onProblem: (@Sendable (String) -> Void)? = nil
    ) {
        self.path = path
        self.minimumInterval = minimumInterval
        self.clock = clock
        self.onProblem = onProblem
    }

    /// The last write that failed, if the newest checkpoint could not be written since.
    public var problem: String? { lock.withLock { failure } }

    func offer(_ checkpoint: Checkpoint) {
        lock.withLock {
            pending = checkpoint
            let now = clock()
            if let lastWrite, now.timeIntervalSince(lastWrite) < minimumInterval { return }
            writePendingLocked(now: now)
        }
    }

    /// Writes the checkpoint still waiting, if any.
    public func flush() {
        lock.withLock { writePendingLocked(now: clock()) }
    }

    private func writePendingLocked(now: Date) {
        guard let checkpoint = pending else { return }
        do {
            try Self.append(checkpoint, to: path)
            pending = nil
            lastWrite = now
            failure = nil
        } catch {
            failure = "the audit witness \(path) was not written: \(error)"
            onProblem?(failure!)
        }
    }

    /// Appends one checkpoint as a line and makes it durable. The file is opened for appending
    /// only, never through a symbolic link, and created private.
    public static func append(_ checkpoint: Checkpoint, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let line = Array(try encoder.encode(checkpoint)) + [0x0a]
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw StorageError.io(operation: "open audit witness", path: path, errno: errno) }
        defer { close(fd) }
        var offset = 0
        while offset < line.count {
            let n = line[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw StorageError.io(operation: "write audit witness", path: path, errno: errno)
            }
            offset += n
        }
        guard fdatasync(fd) == 0 else { throw StorageError.io(operation: "fsync audit witness", path: path, errno: errno) }
    }

    /// How much of the witness's end a keyed process reads for its newest checkpoint.
    static let tailBytes = 256 << 10

    /// The newest checkpoint of this vault in the witness: the largest carrying the vault's
    /// signature among the lines of its last 256 KiB (about a thousand checkpoints: lines that do
    /// not parse, older copies and other vaults' checkpoints appended after it change nothing,
    /// unless there are so many that they push it out; `audit verify` reads the whole file). A witness that is configured
    /// but cannot be read is an error: the proof it anchors cannot be made.
    public func newest(vaultID: String, publicKey: VaultPublicKey) throws -> Checkpoint? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else {
            throw StorageError.auditUnavailable(
                "the audit witness \(path) cannot be opened (\(String(cString: strerror(errno)))): mount it, or turn the witness off with strongroom audit witness --off")
        }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_mode & S_IFMT == S_IFREG else {
            throw StorageError.auditUnavailable("the audit witness \(path) is not a regular file")
        }
        let size = Int(info.st_size)
        let length = min(size, Self.tailBytes)
        var tail = [UInt8](repeating: 0, count: length)
        var done = 0
        while done < length {
            let n = tail.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, length - done, off_t(size - length + done)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw StorageError.io(operation: "read audit witness", path: path, errno: n < 0 ? errno : EIO) }
            done += n
        }
        // The largest first; a signature is checked only until one holds.
        let candidates = tail.split(separator: 0x0a).compactMap { Checkpoint.parse(Array($0)) }
            .filter { $0.vaultID == vaultID }.sorted { $0.treeSize > $1.treeSize }
        return candidates.first { $0.verifySignature(publicKey: publicKey) }
    }

    /// Every checkpoint of this vault in the witness, in file order (for `audit verify`).
    public func all(vaultID: String) throws -> [Checkpoint] {
        guard let bytes = try? DurableFile.read(path) else {
            throw StorageError.auditUnavailable("the audit witness \(path) cannot be read")
        }
        return bytes.split(separator: 0x0a).compactMap { Checkpoint.parse(Array($0)) }.filter { $0.vaultID == vaultID }
    }
}
