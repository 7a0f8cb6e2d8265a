import ArgumentParser
import Foundation
import KeyManagement
import Vault

/// `strongroom signing-key --minisign`: the vault's public key as a minisign public key file,
/// the form a recipient gives to `minisign -V -p FILE` (the same text as GET /v1/signing-key.pub).
struct SigningKeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "signing-key", abstract: "Print the vault's Ed25519 public key (as a minisign public key file with --minisign).")
    @OptionGroup var options: GlobalOptions
    @Flag(help: "Print the two-line minisign public key file (the default prints its key line only).") var minisign = false

    func run() throws {
        let key = try KeyStore.descriptor(files: try options.keyFiles()).publicKey
        if options.json {
            Output.json(["publicKey": key.minisignBase64, "keyId": Hex.encode(key.keyID), "minisign": key.fileText])
        } else if minisign {
            FileHandle.standardOutput.write(Data(key.fileText.utf8))
        } else {
            Output.line(key.minisignBase64)
        }
    }
}
