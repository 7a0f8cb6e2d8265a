import ArgumentParser
import Foundation
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
        var fd: Int32 = 1
        if let output {
            fd = open(output, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            guard fd >= 0 else {
                throw CLIError.Message(text: "cannot write \(output): \(String(cString: strerror(errno)))", code: CLIError.ioError)
            }
        }
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
            if let output {
                close(fd)
                if options.json { Output.json(["id": record.id, "output": output, "size": record.size, "sha256": record.sha256]) }
            }
        } catch {
            if let output {
                // Never leave part of a record behind when it fails its checks.
                close(fd)
                unlink(output)
            }
            throw error
        }
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
