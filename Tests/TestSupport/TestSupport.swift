// Test doubles shared by the test targets.
import Foundation
import KeyManagement
import Storage

/// A blob in memory, for tests that damage it.
public final class MemoryBlob: RandomAccessBlob, BlobSink {
    public var bytes: [UInt8] = []
    public init() {}
    public var size: Int { bytes.count }
    public func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard offset < bytes.count else { return 0 }
        let n = min(buffer.count, bytes.count - offset)
        buffer.copyBytes(from: bytes[offset..<offset + n])
        return n
    }
    public func write(_ b: UnsafeRawBufferPointer) throws { bytes += b }
}

public func randomBytes(_ n: Int) -> [UInt8] { (0..<n).map { _ in UInt8.random(in: 0...255) } }

/// File operations that fail on demand, the way a full or failing disk does.
public final class FailingFileOps: FileOps, @unchecked Sendable {
    public let real = SystemFileOps()
    public var failWriteAfter: Int?  // number of successful writes before ENOSPC
    public var failFsync: Int32?     // errno for every fsync of a file
    public var failDirectoryFsync: Int32?
    public var failRename: Int32?
    private var writes = 0

    public init() {}

    public func open(_ path: String, flags: Int32, mode: mode_t) throws -> Int32 { try real.open(path, flags: flags, mode: mode) }
    public func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, path: String) throws {
        if let limit = failWriteAfter, writes >= limit { throw FileOpsError(path: path, errno: ENOSPC, operation: "write") }
        writes += 1
        try real.write(fd, bytes, path: path)
    }
    public func fsync(_ fd: Int32, path: String) throws {
        if let e = failFsync { throw FileOpsError(path: path, errno: e, operation: "fsync") }
        try real.fsync(fd, path: path)
    }
    public func close(_ fd: Int32) { real.close(fd) }
    public func rename(_ from: String, _ to: String) throws {
        if let e = failRename { throw FileOpsError(path: to, errno: e, operation: "rename") }
        try real.rename(from, to)
    }
    public func fsyncDirectory(_ path: String) throws {
        if let e = failDirectoryFsync { throw FileOpsError(path: path, errno: e, operation: "fsync directory") }
        try real.fsyncDirectory(path)
    }
    public func unlink(_ path: String) { real.unlink(path) }
}


/// The `strongroom` binary built next to the test bundle, for tests that run it as a process.
public enum BuiltBinary {
    public static var strongroom: URL {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent(),
            Bundle.main.bundleURL,
            Bundle.main.bundleURL.deletingLastPathComponent(),
        ]
        for dir in candidates {
            let url = dir.appendingPathComponent("strongroom")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return URL(fileURLWithPath: ".build/debug/strongroom")
    }
}
