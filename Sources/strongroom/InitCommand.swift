import ArgumentParser
import KeyManagement
import Vault

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init", abstract: "Create a new store (refuses to overwrite an existing one).")

    @OptionGroup var options: GlobalOptions

    @Option(name: .long, help: "Argon2id cost for a passphrase store: interactive, moderate or sensitive.")
    var kdfCost: String = "moderate"

    func run() throws {
        guard let cost = PassphraseKDFParameters.Cost(rawValue: kdfCost) else {
            throw CLIError.Message(text: "--kdf-cost must be interactive, moderate or sensitive", code: CLIError.refused)
        }
        let layout = options.layout
        var vaultOptions = Vault.Options()
        vaultOptions.blobs = try options.blobBackend()
        vaultOptions.metadata = try options.metadataBackend()
        let vault = try Vault.create(at: layout, master: try options.masterKeySource(cost: cost), by: options.caller, options: vaultOptions)
        let keyDescription = options.passphraseStdin ? "passphrase (Argon2id, \(cost.rawValue))" : (options.masterKeyPath ?? layout.defaultMasterKey)
        if options.json {
            Output.json([
                "store": layout.root, "vaultId": vault.vaultID, "publicKey": vault.publicKey.minisignBase64,
                "masterKey": keyDescription,
            ])
        } else {
            Output.line("Created store \(layout.root) (vault \(vault.vaultID)).")
            Output.line("Master key: \(keyDescription). Keep a copy apart from the store and its backups.")
            Output.line("Audit public key: \(vault.publicKey.minisignBase64)")
        }
    }
}
