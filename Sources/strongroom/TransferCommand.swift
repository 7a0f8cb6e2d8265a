import ArgumentParser
import Foundation
import KeyManagement
import Storage
import StrongroomServer
import Vault

/// School-to-school transfers at the command line (docs/transfers.md), in a DSL's or deputy's
/// own name (--token-file or STRONGROOM_TOKEN) or the operator's.
struct TransferCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "transfer", abstract: "Send a child's file to another school, or receive one, verified end to end.",
        subcommands: [TransferCard.self, TransferTrust.self, TransferSchools.self, TransferCreate.self, TransferApprove.self,
                      TransferImport.self, TransferStatusCommand.self, TransferList.self, TransferExport.self, TransferReceiptCommand.self,
                      TransferRule.self])
}

/// Reads a small file the user names, or says clearly why not.
private func readInput(_ path: String, limit: Int) throws -> [UInt8] {
    guard let data = FileManager.default.contents(atPath: path) else {
        throw CLIError.Message(text: "cannot read \(path)", code: CLIError.notFound)
    }
    guard data.count <= limit else { throw CLIError.Message(text: "\(path) is larger than \(limit >> 20) MiB", code: CLIError.refused) }
    return Array(data)
}

struct TransferCard: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "card", abstract: "Write this vault's card for a school: its id, name, public keys and fingerprint.",
        discussion: "The first time, --name sets the name the card shows (audited). Give the card to the other school's DSL and read the fingerprint to them by telephone.")
    @OptionGroup var options: GlobalOptions
    @Option(help: "The school (its DfE URN where it has one); may be left out when the vault names one school.") var school: String?
    @Option(help: "The school's name, as the card shows it (with --school, the first time).") var name: String?
    @Option(name: .shortAndLong, help: "The file to write (must not exist); without it the card is printed.") var output: String?

    func run() throws {
        let vault = try options.openVault()
        let card: SchoolCard
        if let name {
            guard let school else { throw CLIError.Message(text: "--name needs --school: the school the name is for", code: CLIError.refused) }
            card = try vault.transfers.nameSchool(school, name: name, by: options.caller)
        } else {
            card = try vault.transfers.card(school: school)
        }
        let bytes = try card.jsonBytes()
        if let output {
            try OutputFile.write(bytes, to: output, mode: 0o644, replacing: false)
            if !options.json { Output.line("wrote \(output): school \(card.school), fingerprint \(card.fingerprint)") }
        } else {
            Output.line(String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: .newlines))
        }
    }
}

struct TransferTrust: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trust", abstract: "Add another school's card to a school's directory, after comparing its fingerprint by telephone.")
    @OptionGroup var options: GlobalOptions
    @OptionGroup var user: UserTokenOptions
    @Option(help: "The school whose directory it joins.") var school: String
    @Option(help: "The fingerprint the other school's DSL read out (30 digits).") var fingerprint: String
    @Flag(help: "Accept a changed card for a school already in the directory (a DSL).") var replace = false
    @Argument(help: "The other school's card file.") var card: String

    func run() throws {
        let parsed = try SchoolCard.parse(try readInput(card, limit: 16 * 1024))
        let vault = try options.openVault()
        let pinned = try vault.transfers.trust(owner: school, card: parsed, fingerprint: fingerprint, replace: replace, by: try user.caller(in: vault))
        if options.json {
            Output.json(["school": pinned.school, "name": pinned.name, "fingerprint": pinned.fingerprint])
        } else {
            Output.line("school \(pinned.school) (\(pinned.name)) is in the directory of school \(school)")
        }
    }
}

struct TransferSchools: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "schools", abstract: "A school's directory of other schools.")
    @OptionGroup var options: GlobalOptions
    @OptionGroup var user: UserTokenOptions
    @Option(help: "The school.") var school: String

    func run() throws {
        let vault = try options.openVault()
        let list = try vault.transfers.directory(owner: school, by: try user.caller(in: vault))
        if options.json {
            Output.json(list.map { ["school": $0.school, "name": $0.name, "fingerprint": $0.fingerprint, "addedBy": $0.addedBy] })
        } else {
            for p in list { Output.line("\(p.school)\t\(p.name)\t\(p.fingerprint)") }
        }
    }
}

struct TransferCreate: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "create", abstract: "Draft the transfer of a child's file; a second DSL or deputy approves it.")
    @OptionGroup var options: GlobalOptions
    @OptionGroup var user: UserTokenOptions
    @Option(help: "The sending school.") var school: String
    @Option(help: "The child.") var child: String
    @Option(help: "The receiving school (in the directory).") var toSchool: String
    @Option(help: "Why (for example: the child joined that school on 2 December).") var reason: String

    func run() throws {
        let vault = try options.openVault()
        let row = try vault.transfers.create(school: school, child: child, toSchool: toSchool, reason: reason, by: try user.caller(in: vault))
        if options.json { Output.json(["id": row.id, "state": "draft"]) } else { Output.line(row.id) }
    }
}

struct TransferApprove: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "approve", abstract: "Approve someone else's draft: makes, signs and encrypts the package.",
        discussion: "Prints the link the receiving vault fetches (on this server); -o also writes the encrypted package, for another channel.")
    @OptionGroup var options: GlobalOptions
    @OptionGroup var user: UserTokenOptions
    @Argument(help: "The transfer id.") var id: String
    @Option(help: "This server's public address (https://…), so the receiving vault can post its receipt back.") var publicUrl: String?
    @Option(name: .shortAndLong, help: "Also write the encrypted package to this file (must not exist).") var output: String?

    func run() throws {
        let vault = try options.openVault()
        let receiptURL = publicUrl.map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "/")) + "/v1/transfer-receipts" }
        let sent = try vault.transfers.approve(id: id, receiptURL: receiptURL, by: try user.caller(in: vault))
        if let output { try copyPackage(try vault.transfers.openPackage(sent), to: output) }
        let link = (publicUrl.map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "/")) } ?? "") + sent.downloadPath
        if options.json {
            Output.json(["id": sent.transfer.id, "state": "sent", "downloadUrl": link, "packageSHA256": sent.transfer.packageSHA256 ?? ""])
        } else {
            Output.line("sent \(sent.transfer.id): the receiving vault fetches \(link)\(publicUrl == nil ? " (on this server)" : "")")
            if let output { Output.line("wrote \(output)") }
        }
    }
}

/// Copies a package to where the user asked (never over an existing file), streaming.
func copyPackage(_ package: any SharedFileReader, to output: String) throws {
    defer { package.close() }
    let file = try OutputFile(output, mode: 0o600, replacing: false)
    defer { file.discard() }
    while let chunk = try package.read(upToCount: 1 << 20) {
        try chunk.withUnsafeBytes { try file.write($0) }
    }
    try file.commit()
}

struct TransferExport: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "export", abstract: "Write a sent transfer's encrypted package (the operator).")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The transfer id.") var id: String
    @Option(name: .shortAndLong, help: "The file to write (must not exist).") var output: String

    func run() throws {
        let vault = try options.openVault()
        try copyPackage(try vault.transfers.openPackage(id: id, by: options.caller), to: output)
        if !options.json { Output.line("wrote \(output)") } else { Output.json(["id": id, "file": output]) }
    }
}

struct TransferImport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import", abstract: "Receive a package: verify it whole, store its records, and print the signed receipt.",
        discussion: "Give the package file, or --url with the sender's link. The receipt goes back to the sender by itself when it has a public address; -o also writes it, for the sender's `transfer receipt`.")
    @OptionGroup var options: GlobalOptions
    @OptionGroup var user: UserTokenOptions
    @Option(help: "The receiving school.") var school: String
    @Option(help: "The child's id in this school (default: the sender's).") var child: String?
    @Option(help: "The sender's link to fetch the package from.") var url: String?
    @Option(name: .shortAndLong, help: "Write the signed receipt to this file too (must not exist).") var output: String?
    @Argument(help: "The package file.") var file: String?

    func run() async throws {
        let package: [UInt8]
        switch (file, url) {
        case (let file?, nil): package = try readInput(file, limit: Vault.maxPackagePlaintextBytes)
        case (nil, let url?):
            do { package = try await TransferCourier.fetch(url, limit: Vault.maxPackagePlaintextBytes) } catch let failure as TransferCourier.Failure {
                throw CLIError.Message(text: "the package was not fetched: \(failure)", code: CLIError.ioError)
            }
        default: throw CLIError.Message(text: "give the package file or --url, not both", code: CLIError.refused)
        }
        let vault = try options.openVault()
        let received = try vault.transfers.receive(package, school: school, child: child, by: try user.caller(in: vault))
        let receipt = try received.receipt.jsonBytes()
        var delivered = false
        if let link = received.receiptURL {
            delivered = await TransferCourier.deliver(receipt: receipt, to: link)
            if delivered { try? vault.transfers.noteReceiptDelivered(incoming: received.incoming.id) }
        }
        if let output { try OutputFile.write(receipt, to: output, mode: 0o644, replacing: false) }
        if options.json {
            Output.json(["id": received.incoming.id, "child": received.incoming.child, "receiptDelivered": delivered,
                         "records": received.records.map { ["id": $0.id, "originalId": $0.originalID, "sha256": $0.sha256] }])
        } else {
            Output.line("received \(received.records.count) record\(received.records.count == 1 ? "" : "s") from school \(received.incoming.fromSchool) (\(received.incoming.fromName)) for child \(received.incoming.child)")
            Output.line(delivered ? "the signed receipt was delivered to the sending school" : "the receipt was not delivered: send the sending school the receipt\(output.map { " file \($0)" } ?? " (use -o to write it)")")
        }
    }
}

struct TransferReceiptCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "receipt", abstract: "Accept a receipt file the receiving school sent (checks its signature).")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The receipt file.") var file: String

    func run() throws {
        let receipt = try TransferReceipt.parse(try readInput(file, limit: 64 * 1024))
        let vault = try options.openVault()
        let row = try vault.transfers.acceptReceipt(receipt, by: options.caller)
        if options.json { Output.json(["transfer": row.id, "state": "received", "afterReceipt": row.afterReceipt ?? ""]) } else {
            Output.line("transfer \(row.id) is received: \(row.afterReceipt ?? "")")
        }
    }
}

struct TransferStatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "A transfer's state: draft, sent, received or overdue.")
    @OptionGroup var options: GlobalOptions
    @OptionGroup var user: UserTokenOptions
    @Argument(help: "The transfer id.") var id: String

    func run() throws {
        let vault = try options.openVault()
        let status = try vault.transfers.status(id: id, by: try user.caller(in: vault))
        let t = status.transfer
        if options.json {
            Output.json(["id": t.id, "state": status.state.rawValue, "school": t.school, "child": t.child, "toSchool": t.toSchool,
                         "records": t.recordCount ?? 0, "afterReceipt": t.afterReceipt ?? ""] as [String: Any])
        } else {
            Output.line("\(t.id)\t\(status.state.rawValue)\tto \(t.toSchool)\(t.afterReceipt.map { "\t\($0)" } ?? "")")
        }
    }
}

struct TransferList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "A school's transfers, sent and received.")
    @OptionGroup var options: GlobalOptions
    @OptionGroup var user: UserTokenOptions
    @Option(help: "The school.") var school: String
    @Option(help: "Only this child.") var child: String?

    func run() throws {
        let vault = try options.openVault()
        let (sent, received) = try vault.transfers.list(school: school, child: child, by: try user.caller(in: vault))
        if options.json {
            Output.json(["sent": sent.map { ["id": $0.transfer.id, "state": $0.state.rawValue, "child": $0.transfer.child, "toSchool": $0.transfer.toSchool] },
                         "received": received.map { ["id": $0.id, "child": $0.child, "fromSchool": $0.fromSchool] }])
        } else {
            for s in sent { Output.line("sent\t\(s.transfer.id)\t\(s.state.rawValue)\t\(s.transfer.child)\tto \(s.transfer.toSchool)") }
            for r in received { Output.line("received\t\(r.id)\t\(r.child)\tfrom \(r.fromSchool)") }
        }
    }
}

struct TransferRule: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rule", abstract: "What happens to the school's copies after a receipt: draft-shred (default) or keep.")
    @OptionGroup var options: GlobalOptions
    @OptionGroup var user: UserTokenOptions
    @Option(help: "The school.") var school: String
    @Argument(help: "draft-shred or keep (nothing: show the rule).") var rule: String?

    func run() throws {
        let vault = try options.openVault()
        let caller = try user.caller(in: vault)
        if let rule {
            guard let parsed = AfterReceiptRule(rawValue: rule) else {
                throw CLIError.Message(text: "the rule is draft-shred or keep", code: CLIError.refused)
            }
            try vault.transfers.setAfterReceiptRule(school: school, rule: parsed, by: caller)
        }
        Output.line(try vault.transfers.afterReceiptRule(school: school, by: caller).rawValue)
    }
}
