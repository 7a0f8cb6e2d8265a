#if canImport(Glibc)
import Glibc
#endif

/// A file written where a person named it (`get -o FILE`, `audit checkpoint -o FILE`, `ledger
/// export -o FILE`, ...): the one way every command writes one. Strongroom is often run as root,
/// so what is at FILE is never written through or guessed at:
///
/// - a symlink at FILE (even a dangling one) is refused, and so is anything there that is not a
///   regular file (a device, a FIFO, a folder, a socket); both are left exactly as they were;
/// - with `replacing: false` anything at FILE is refused, and the final step is link(2), which
///   never replaces a name, so nothing that appears there meanwhile is overwritten either;
/// - with `replacing: true` a regular file at FILE is replaced in one rename(2) (which replaces
///   a name and never writes through a link), after FILE is checked again just before;
/// - the content goes to an unnamed file in FILE's folder (O_TMPFILE; where the file system
///   cannot make one, a hidden file created with O_EXCL and O_NOFOLLOW, removed on failure) and
///   gets its name only once complete and fsynced: a command that fails or is killed leaves no
///   part of a record or key under any name, and FILE as it was.
///
///     let out = try OutputFile("kept.json", mode: 0o644, replacing: true)   // checked here
///     try out.write(bytes)
///     try out.commit()                                                     // named here
public final class OutputFile {
    public let path: String
    private let replacing: Bool
    private let folder: String
    private let fd: Int32
    /// The hidden name of the fallback file; nil for an unnamed (O_TMPFILE) one.
    private let hiddenName: String?
    private var closed = false

    /// O_TMPFILE, which Glibc's Swift module does not export: __O_TMPFILE | O_DIRECTORY.
    private static let openTemporary: Int32 = 0o20000000 | O_DIRECTORY

    /// Checks FILE and opens the file the content goes to. Throws
    /// `KeyManagementError.unsafeOutput` for a symlink or anything but a regular file,
    /// `.alreadyExists` for an existing file when not `replacing`, `.io` otherwise.
    public init(_ path: String, mode: mode_t = 0o600, replacing: Bool) throws {
        try Self.check(path, replacing: replacing)
        self.path = path
        self.replacing = replacing
        folder = DurableFile.directory(of: path)
        let unnamed = Glibc.open(folder, O_WRONLY | Self.openTemporary | O_CLOEXEC, mode)
        if unnamed >= 0 {
            fd = unnamed
            hiddenName = nil
        } else {
            let name = Self.hiddenName(in: folder)
            fd = Glibc.open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode)
            hiddenName = name
        }
        guard fd >= 0 else { throw KeyManagementError.io(path: path, errno: errno) }
    }

    deinit { discard() }

    /// Refuses `path` as an output file: a symlink, anything but a regular file, or (when not
    /// `replacing`) anything at all. Nothing is created.
    public static func check(_ path: String, replacing: Bool) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            if errno == ENOENT { return }
            throw KeyManagementError.io(path: path, errno: errno)
        }
        let found: String
        switch info.st_mode & S_IFMT {
        case S_IFREG:
            if replacing { return }
            throw KeyManagementError.alreadyExists(path)
        case S_IFLNK: found = "is a symbolic link"
        case S_IFDIR: found = "is a folder"
        case S_IFIFO: found = "is a FIFO"
        case S_IFCHR, S_IFBLK: found = "is a device"
        default: found = "is not a regular file"
        }
        throw KeyManagementError.unsafeOutput(
            path: path, problem: found + "; refusing to write to it or replace it (give the path of a regular file, or of a new one)")
    }

    /// Refuses `path` as a folder to write into (`keys backup --to DIR`): a symlink, or anything
    /// there but a folder. Returns whether the folder exists.
    public static func requireFolder(_ path: String) throws -> Bool {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            if errno == ENOENT { return false }
            throw KeyManagementError.io(path: path, errno: errno)
        }
        switch info.st_mode & S_IFMT {
        case S_IFDIR: return true
        case S_IFLNK: throw KeyManagementError.unsafeOutput(path: path, problem: "is a symbolic link; refusing to write into it (give the folder's own path)")
        default: throw KeyManagementError.unsafeOutput(path: path, problem: "is not a folder; refusing to write into it")
        }
    }

    /// Writes `bytes` to a new file at `path` in one go (see the type).
    public static func write(_ bytes: [UInt8], to path: String, mode: mode_t = 0o600, replacing: Bool) throws {
        let out = try OutputFile(path, mode: mode, replacing: replacing)
        try bytes.withUnsafeBytes { try out.write($0) }
        try out.commit()
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < bytes.count {
            let n = Glibc.write(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                let code = errno
                discard()
                throw KeyManagementError.io(path: path, errno: code)
            }
            offset += n
        }
    }

    public func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }

    /// Makes the file durable and gives it its name; on failure nothing is left and FILE is as it was.
    public func commit() throws {
        func fail(_ error: Error) -> Error {
            discard()
            return error
        }
        guard Glibc.fsync(fd) == 0 else { throw fail(KeyManagementError.io(path: path, errno: errno)) }
        // What is at FILE may have changed while the content was produced (a long get).
        do { try Self.check(path, replacing: replacing) } catch { throw fail(error) }
        let named: String
        if let hiddenName {
            named = hiddenName
        } else {
            named = replacing ? Self.hiddenName(in: folder) : path
            guard linkat(AT_FDCWD, "/proc/self/fd/\(fd)", AT_FDCWD, named, AT_SYMLINK_FOLLOW) == 0 else {
                throw fail(errno == EEXIST ? KeyManagementError.alreadyExists(path) : KeyManagementError.io(path: path, errno: errno))
            }
        }
        if named != path {
            // Replacing: rename(2) swaps the name in one step. Not replacing: link(2) fails if
            // anything has appeared at FILE, where a rename would replace it.
            let placed = replacing ? Glibc.rename(named, path) : Glibc.link(named, path)
            let code = errno
            if !replacing || placed != 0 { _ = Glibc.unlink(named) }
            guard placed == 0 else {
                throw fail(code == EEXIST ? KeyManagementError.alreadyExists(path) : KeyManagementError.io(path: path, errno: code))
            }
        }
        closeOnce()
        try SystemFileOps().fsyncDirectory(folder)
    }

    /// Abandons the file: an unnamed one vanishes, a hidden named one is removed.
    public func discard() {
        guard !closed else { return }
        closeOnce()
        if let hiddenName { _ = Glibc.unlink(hiddenName) }
    }

    private func closeOnce() {
        if !closed {
            _ = Glibc.close(fd)
            closed = true
        }
    }

    private static func hiddenName(in folder: String) -> String {
        folder + "/.strongroom-" + Hex.encode(randomPublicBytes(8))
    }
}
