import ArgumentParser
import Foundation
import KeyManagement
import Vault

struct LedgerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger", abstract: "The signed deletion ledger.", subcommands: [LedgerExport.self])
}

struct LedgerExport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Check the deletion ledger and write it to a file (for a restore to replay).")
    @OptionGroup var options: GlobalOptions
    @Option(name: .shortAndLong, help: "The file to write (must not exist).") var output: String

    func run() throws {
        let count = try options.openVaultWithoutKeys().exportLedger(to: output, actor: options.actorName)
        if options.json { Output.json(["file": output, "entries": count]) } else { Output.line("\(count) ledger entries written to \(output)") }
    }
}

struct BackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup", abstract: "Backups (in progress: the backup operator's signing key).", subcommands: [BackupKeygen.self])
}

struct BackupKeygen: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen", abstract: "Make the backup operator's Ed25519 signing key; prints its public key (also written to FILE.pub).")
    @OptionGroup var options: GlobalOptions
    @Option(name: .shortAndLong, help: "The key file to create (mode 0600; must not exist).") var output: String

    func run() throws {
        let publicKey = try BackupSigningKey.create(at: output)
        let text = publicKey.fileText.replacingOccurrences(of: "strongroom vault public key", with: "strongroom backup public key")
        guard FileManager.default.createFile(atPath: output + ".pub", contents: Data(text.utf8), attributes: [.posixPermissions: 0o644]) else {
            throw CLIError.Message(text: "cannot write \(output).pub", code: CLIError.ioError)
        }
        if options.json { Output.json(["keyFile": output, "publicKey": publicKey.minisignBase64]) } else { Output.line(publicKey.minisignBase64) }
    }
}
