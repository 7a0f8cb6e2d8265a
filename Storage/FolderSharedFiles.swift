import Foundation
import KeyManagement
#if canImport(Glibc)
import Glibc
#endif

/// Shared files in the store folder, one folder per area: `STORE/bundles/NAME` and
/// `STORE/transfers/NAME` (folders mode 0700, made when first needed; files mode 0600). A file
/// is written to `NAME.tmp-XXXXXXXXXXXX` beside its place, fsynced, renamed into place and the
/// folder fsynced (`DurableFile`); a crash can leave such a temp file, which `list` shows like
/// any other so that a sweep can remove it by age. For one machine: every node of a deployment
/// must see the same files, which a local folder is not (`S3SharedFiles` is).
public final class FolderSharedFiles: SharedFiles {
    /// The store folder; each area is a folder in it.
    public let root: String

    public init(root: String) {
        self.root = root
    }

    public func folder(_ area: SharedArea) -> String { root + "/" + area.rawValue }

    func path(_ area: SharedArea, _ name: String) throws -> String {
        try SharedFileName.validate(name)
        return folder(area) + "/" + name
    }

    public func write(_ area: SharedArea, name: String, _ produce: (_ sink: (UnsafeRawBufferPointer) throws -> Void) throws -> Void) throws {
        let path = try path(area, name)
        try FileManager.default.createDirectory(atPath: folder(area), withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try DurableFile.write(to: path) { write in
            try withoutActuallyEscaping(write) { write in try produce(write) }
        }
    }

    public func open(_ area: SharedArea, name: String) throws -> (any SharedFileReader)? {
        let path = try path(area, name)
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw StorageError.io(operation: "open", path: path, errno: errno)
        }
        // The size comes from the open file: whatever happens to the name afterwards (a sweep,
        // another reader deleting it), this reader has the file.
        var info = stat()
        guard fstat(fd, &info) == 0 else {
            let code = errno
            Glibc.close(fd)
            throw StorageError.io(operation: "stat", path: path, errno: code)
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else {
            Glibc.close(fd)
            throw StorageError.io(operation: "open (not a regular file)", path: path, errno: EINVAL)
        }
        return FolderSharedFileReader(fd: fd, path: path, size: Int64(info.st_size))
    }

    public func delete(_ area: SharedArea, name: String) throws {
        let path = try path(area, name)
        guard unlink(path) == 0 else {
            if errno == ENOENT { return }
            throw StorageError.io(operation: "unlink", path: path, errno: errno)
        }
        try SystemFileOps().fsyncDirectory(folder(area))
    }

    public func list(_ area: SharedArea) throws -> [SharedFileEntry] {
        let dir = folder(area)
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: dir) } catch {
            guard access(dir, F_OK) == 0 else { return [] }  // nothing written yet
            throw StorageError.io(operation: "list", path: dir, errno: EIO)
        }
        return names.filter(SharedFileName.isValid).compactMap { name in
            var info = stat()
            guard lstat(dir + "/" + name, &info) == 0 else { return nil }  // removed meanwhile
            return SharedFileEntry(name: name, modified: Date(timeIntervalSince1970: TimeInterval(info.st_mtim.tv_sec)))
        }.sorted { $0.name < $1.name }
    }

    public func location(_ area: SharedArea, name: String) -> String { folder(area) + "/" + name }
}

/// An open file read in order through its descriptor, closed when done or released.
final class FolderSharedFileReader: SharedFileReader {
    private var fd: Int32
    let path: String
    let size: Int64

    init(fd: Int32, path: String, size: Int64) {
        self.fd = fd
        self.path = path
        self.size = size
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard fd >= 0 else { throw StorageError.io(operation: "read", path: path, errno: EBADF) }
        guard buffer.count > 0 else { return 0 }
        while true {
            let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
            if n >= 0 { return n }
            if errno != EINTR { throw StorageError.io(operation: "read", path: path, errno: errno) }
        }
    }

    func close() {
        guard fd >= 0 else { return }
        Glibc.close(fd)
        fd = -1
    }

    deinit { close() }
}
