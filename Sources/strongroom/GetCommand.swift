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

    @Option(name: .shortAndLong, help: "Write to this file (a new 0600 file put in place once the record has passed every check; never a symlink, device or FIFO) instead of standard output.")
    var output: String?

    func run() throws {
        let vault = try options.openVault()
        // Checked before the record is read: a symlink or anything but a regular file is refused.
        let target = try output.map { try OutputFile($0, mode: 0o600, replacing: true) }
        do {
            var sent: Int64 = 0
            let showProgress = output != nil
            let record = try vault.records.get(id: id, by: options.caller) { chunk in
                sent += Int64(chunk.count)
                if showProgress && sent & 0x3f_ffff < Int64(chunk.count) { Output.progress("read \(sent >> 20) MiB") }
                if let target { try target.write(chunk) } else { try Self.writeToStandardOutput(chunk) }
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

    static func writeToStandardOutput(_ chunk: UnsafeRawBufferPointer) throws {
        var offset = 0
        while offset < chunk.count {
            let n = write(1, chunk.baseAddress! + offset, chunk.count - offset)
            if n < 0 {
                if errno == EINTR { continue }
                throw CLIError.Message(text: "writing the output failed: \(String(cString: strerror(errno)))", code: CLIError.ioError)
            }
            offset += n
        }
    }
}

struct ShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Print a record's metadata (audited).")

    @OptionGroup var options: GlobalOptions
    @Argument(help: "The record id.") var id: String

    func run() throws {
        let record = try options.openVault().records.show(id: id, by: options.caller)
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
        let records = try vault.records.list(RecordFilter(school: school, child: child, concern: concern), by: options.caller)
        if options.json {
            Output.json(["records": records.map(Output.record)])
        } else {
            for r in records {
                Output.line("\(r.id)  \(Output.iso.string(from: r.createdAt))  \(r.school)/\(r.child)/\(r.concern)  \(r.kind)  \(r.sniffedType)  \(r.size) bytes")
            }
        }
    }
}
