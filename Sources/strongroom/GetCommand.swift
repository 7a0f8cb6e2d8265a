import ArgumentParser
import Foundation
import KeyManagement
import Storage
import Vault

struct GetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get", abstract: "Write a record's plaintext to a file or standard output (audited first).")

    @OptionGroup var options: GlobalOptions

    @Argument(help: "The record id.") var id: String

    @Option(name: .shortAndLong, help: "Write to this file (created with mode 0600) instead of standard output.")
    var output: String?

    func run() throws {
        let vault = try options.openVault()
        let target = try output.map(OutputFile.init)
        let fd = target?.fd ?? 1
        do {
            var sent: Int64 = 0
            let showProgress = output != nil
            let record = try vault.get(id: id, actor: options.actorName) { chunk in
                sent += Int64(chunk.count)
                if showProgress && sent & 0x3f_ffff < Int64(chunk.count) { Output.progress("read \(sent >> 20) MiB") }
                var offset = 0
                while offset < chunk.count {
                    let n = write(fd, chunk.baseAddress! + offset, chunk.count - offset)
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw CLIError.Message(text: "writing the output failed: \(String(cString: strerror(errno)))", code: CLIError.ioError)
                    }
                    offset += n
                }
            }
            Output.endProgress()
            if let target, let output {
                try target.commit()
                if options.json { Output.json(["id": record.id, "output": output, "size": record.size, "sha256": record.sha256]) }
            }
        } catch {
            // Never leave part of a record behind when it fails its checks, and never touch a
            // file that was there before: only what this command created goes.
            target?.discard()
            throw error
        }
    }
}

/// Where `get -o FILE` writes. A regular file (or a new one) is written as a new 0600 file
/// and put in place of FILE only once the record has passed every check; a device or FIFO
/// (`/dev/null`, a pipe) is written as it is, and never truncated or removed. The new file is
/// an unnamed one (O_TMPFILE) until then, so a get that is killed or interrupted leaves no
/// plaintext behind under any name; where the file system cannot make one, a hidden named file
/// is used and removed on failure.
final class OutputFile {
    let path: String
    let fd: Int32
    private enum Kind { case device, unnamed(folder: String), named(String) }
    private let kind: Kind
    private var closed = false

    /// O_TMPFILE, which Glibc's Swift module does not export: __O_TMPFILE | O_DIRECTORY.
    private static let openTemporary: Int32 = 0o20000000 | O_DIRECTORY

    init(_ path: String) throws {
        self.path = path
        var info = stat()
        if stat(path, &info) == 0, (info.st_mode & S_IFMT) != S_IFREG {
            guard (info.st_mode & S_IFMT) != S_IFDIR else { throw CLIError.Message(text: "\(path) is a folder; give a file name", code: CLIError.cannotCreate) }
            fd = open(path, O_WRONLY | O_CLOEXEC)
            kind = .device
        } else {
            let folder = DurableFile.directory(of: path)
            let unnamed = open(folder, O_WRONLY | Self.openTemporary | O_CLOEXEC, 0o600)
            if unnamed >= 0 {
                fd = unnamed
                kind = .unnamed(folder: folder)
            } else {
                let name = Self.hiddenName(in: folder)
                fd = open(name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
                kind = .named(name)
            }
        }
        guard fd >= 0 else {
            throw CLIError.Message(text: "cannot write \(path): \(String(cString: strerror(errno)))", code: CLIError.ioError)
        }
    }

    static func hiddenName(in folder: String) -> String {
        folder + "/.strongroom-get-" + String(UInt64.random(in: 0...UInt64.max), radix: 16)
    }

    func commit() throws {
        func fail(_ code: Int32) -> Error {
            discard()
            return CLIError.Message(text: "cannot write \(path): \(String(cString: strerror(code)))", code: CLIError.ioError)
        }
        switch kind {
        case .device:
            break
        case .unnamed(let folder):
            guard fsync(fd) == 0 else { throw fail(errno) }
            // A name for the finished file, then the rename that replaces FILE in one step.
            let name = Self.hiddenName(in: folder)
            guard linkat(AT_FDCWD, "/proc/self/fd/\(fd)", AT_FDCWD, name, AT_SYMLINK_FOLLOW) == 0 else { throw fail(errno) }
            guard rename(name, path) == 0 else {
                let code = errno
                unlink(name)
                throw fail(code)
            }
        case .named(let name):
            guard fsync(fd) == 0, rename(name, path) == 0 else { throw fail(errno) }
        }
        closeOnce()
    }

    func discard() {
        guard !closed else { return }
        closeOnce()
        if case .named(let name) = kind { unlink(name) }
    }

    private func closeOnce() {
        if !closed { close(fd); closed = true }
    }
}

struct ShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Print a record's metadata (audited).")

    @OptionGroup var options: GlobalOptions
    @Argument(help: "The record id.") var id: String

    func run() throws {
        let record = try options.openVault().show(id: id, actor: options.actorName)
        if options.json {
            Output.json(Output.record(record))
        } else {
            let r = Output.record(record)
            for key in r.keys.sorted() { Output.line("\(key): \(r[key]!)") }
        }
    }
}

struct ListCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List records' metadata in chronological order (audited).")

    @OptionGroup var options: GlobalOptions
    @Option(help: "Only this school.") var school: String?
    @Option(help: "Only this child.") var child: String?
    @Option(help: "Only this concern.") var concern: String?

    func run() throws {
        let vault = try options.openVault()
        let records = try vault.list(RecordFilter(school: school, child: child, concern: concern), actor: options.actorName)
        if options.json {
            Output.json(["records": records.map(Output.record)])
        } else {
            for r in records {
                Output.line("\(r.id)  \(Output.iso.string(from: r.createdAt))  \(r.school)/\(r.child)/\(r.concern)  \(r.kind)  \(r.sniffedType)  \(r.size) bytes")
            }
        }
    }
}
