import ArgumentParser
import Foundation
import KeyManagement
import Storage
import Vault

struct ShredCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shred", abstract: "Crypto-shredding with two people (in your own name: --token-file or STRONGROOM_TOKEN).",
        subcommands: [ShredRequestCommand.self, ShredApprove.self, ShredCertificateCommand.self])
}

struct ShredRequestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "request", abstract: "Ask for records to be shredded; a second person approves.")
    @OptionGroup var options: GlobalOptions
    @OptionGroup var user: UserTokenOptions
    @Option(help: "School id.") var school: String
    @Option(name: .customLong("record"), help: "A record id (repeat for several).") var records: [String] = []
    @Option(help: "A file of record ids, one per line.") var recordsFile: String?
    @Option(help: "Why (end of retention reviewed, lawful erasure, misfiling...).") var reason: String

    func run() throws {
        var ids = records
        if let recordsFile {
            guard let text = try? String(contentsOfFile: recordsFile, encoding: .utf8) else {
                throw CLIError.Message(text: "cannot read \(recordsFile)", code: CLIError.notFound)
            }
            ids += text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        }
        let vault = try options.openVault()
        let request = try vault.lifecycle.requestShred(school: school, records: ids, reason: reason, by: try user.caller(in: vault))
        if options.json {
            Output.json(["id": request.id, "state": request.state.rawValue, "records": request.records.count])
        } else {
            Output.line(request.id)
        }
    }
}

struct ShredApprove: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "approve", abstract: "Approve someone else's shred request: it is executed, and the certificate printed.")
    @OptionGroup var options: GlobalOptions
    @OptionGroup var user: UserTokenOptions
    @Argument(help: "The shred request id.") var id: String
    @Option(name: .shortAndLong, help: "Write the certificate to this file instead of standard output.") var output: String?

    func run() throws {
        let vault = try options.openVault()
        let file = try output.map { try OutputFile($0, mode: 0o600, replacing: true) }
        let certificate = try vault.lifecycle.approveShred(id: id, by: try user.caller(in: vault))
        try Output.certificate(certificate, to: file)
    }
}

struct ShredCertificateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "certificate", abstract: "Print an executed request's certificate of destruction.")
    @OptionGroup var options: GlobalOptions
    @OptionGroup var user: UserTokenOptions
    @Argument(help: "The shred request id.") var id: String
    @Option(name: .shortAndLong, help: "Write the certificate to this file.") var output: String?

    func run() throws {
        let vault = try options.openVault()
        let file = try output.map { try OutputFile($0, mode: 0o600, replacing: true) }
        try Output.certificate(try vault.lifecycle.shredCertificate(id: id, by: try user.caller(in: vault)), to: file)
    }
}
