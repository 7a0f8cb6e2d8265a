import ArgumentParser
import Foundation
import Vault

/// The directory of agencies a school shares bundles with, kept by the operator at the CLI
/// (DSLs and deputies use POST /v1/recipients).
struct RecipientCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "recipient", abstract: "The agencies a school shares evidence bundles with.",
        subcommands: [RecipientAdd.self, RecipientList.self])
}

struct RecipientAdd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add", abstract: "Add an agency with its age X25519 recipient (age1…), or --passphrase for a passphrase per bundle.")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The agency's name, e.g. \"Children's social care, Anytown\".") var name: String
    @Option(help: "The school.") var school: String
    @Option(help: "The agency's age X25519 recipient (age1…).") var ageRecipient: String?
    @Flag(help: "Bundles for this agency are encrypted to a passphrase given out of band.") var passphrase = false
    @Option(help: "How to reach the agency (for the people sharing).") var contact: String = ""

    func run() throws {
        let recipient = try options.openVault().bundles.addRecipient(
            Vault.NewRecipient(school: school, name: name, contact: contact, ageRecipient: ageRecipient, passphrase: passphrase),
            by: options.caller)
        if options.json {
            try Output.encodable(["school": recipient.school, "name": recipient.name, "ageRecipient": recipient.ageRecipient ?? "",
                                  "passphrase": recipient.usesPassphrase ? "true" : "false"])
        } else {
            Output.line("added \(recipient.name) to \(recipient.school) (\(recipient.usesPassphrase ? "passphrase" : "age X25519"))")
        }
    }
}

struct RecipientList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "A school's recipients.")
    @OptionGroup var options: GlobalOptions
    @Option(help: "The school.") var school: String

    func run() throws {
        let list = try options.openVault().bundles.recipients(school: school, by: options.caller)
        if options.json {
            Output.json(list.map { ["name": $0.name, "contact": $0.contact, "ageRecipient": $0.ageRecipient ?? NSNull(), "passphrase": $0.usesPassphrase] as [String: Any] })
        } else {
            for r in list { Output.line("\(r.name)\t\(r.ageRecipient ?? "(passphrase)")\t\(r.contact)") }
        }
    }
}
