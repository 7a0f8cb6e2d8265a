import ArgumentParser
import Foundation
import KeyManagement
import Vault

struct CertificateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "certificate", abstract: "Certificates of destruction.", subcommands: [CertificateVerify.self])
}

struct CertificateVerify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "Verify a certificate of destruction with the vault's public key alone.")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The certificate file.") var file: String
    @Option(help: "The vault's public key file (default: the store's, from its key store).") var publicKey: String?

    func run() throws {
        guard let bytes = FileManager.default.contents(atPath: file) else {
            throw CLIError.Message(text: "cannot read \(file)", code: CLIError.notFound)
        }
        let key = try publicKey.map { try readPublicKey($0, what: "vault public key") }
            ?? KeyStore.descriptor(files: try options.keyFiles()).publicKey
        do {
            let certificate = try CertificateOfDestruction.verify(Array(bytes), publicKey: key)
            if options.json {
                Output.json(["valid": true, "request": certificate.request, "records": certificate.records.count,
                             "approvedBy": certificate.approvedBy, "requestedBy": certificate.requestedBy])
            } else {
                Output.line("valid: \(certificate.records.count) records destroyed by request \(certificate.request), asked by \(certificate.requestedBy), approved by \(certificate.approvedBy)")
            }
        } catch VaultError.invalidArgument(let why) {
            if options.json { Output.json(["valid": false, "problem": why]) }
            throw CLIError.Message(text: "INVALID: \(why)", code: CLIError.problemsFound)
        }
    }
}
