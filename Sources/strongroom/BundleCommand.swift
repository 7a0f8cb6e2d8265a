import ArgumentParser
import Foundation
import Storage
import Vault

/// Bundles for agencies, in a DSL's or deputy's own name (--token-file or STRONGROOM_TOKEN):
/// one drafts, another approves, and the encrypted file goes out by link or by `export`.
struct BundleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bundle", abstract: "Share evidence with an agency: draft, approve (a second person), export, revoke.",
        subcommands: [BundleCreate.self, BundleApprove.self, BundleExport.self, BundleList.self, BundleRevoke.self])
}

struct BundleCreate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create", abstract: "Draft a bundle; a second DSL or deputy approves it.",
        discussion: """
            --record ID adds a record as-is (images lose their metadata); --original ID adds its exact bytes. For redaction, \
            --items FILE takes the JSON items array of POST /v1/bundles, e.g. \
            [{"record":"ID","mode":"redacted","rects":[[10,20,300,40]]},{"record":"ID2","mode":"redacted","terms":["A. Name"]}].
            """)
    @OptionGroup var options: GlobalOptions
    @OptionGroup var user: UserTokenOptions
    @Option(help: "The school.") var school: String
    @Option(help: "The recipient's name in the school's directory.") var recipient: String
    @Option(help: "Why the evidence is shared.") var reason: String
    @Option(name: .customLong("record"), help: "A record to include as-is (repeat).") var records: [String] = []
    @Option(name: .customLong("original"), help: "A record to include with its exact stored bytes (repeat).") var originals: [String] = []
    @Option(help: "A JSON file of items (modes, rectangles, terms), as POST /v1/bundles takes.") var items: String?
    @Option(name: .customLong("child"), help: "Every record of this child joins as-is (repeat).") var children: [String] = []
    @Option(name: .customLong("concern"), help: "Every record of this concern joins as-is (repeat).") var concerns: [String] = []
    @Option(name: .customLong("leave-out"), help: "A record the children or concerns would bring in, left out (repeat).") var leaveOut: [String] = []

    func run() throws {
        var list = records.map { BundleItemRequest(record: $0, mode: .asIs) } + originals.map { BundleItemRequest(record: $0, mode: .original) }
        if let items {
            guard let data = FileManager.default.contents(atPath: items) else {
                throw CLIError.Message(text: "cannot read \(items)", code: CLIError.notFound)
            }
            do { list += try JSONDecoder().decode([BundleItemRequest].self, from: data) } catch {
                throw CLIError.Message(text: "\(items) is not a JSON array of bundle items (see bundle create --help)", code: CLIError.refused)
            }
        }
        let vault = try options.openVault()
        let row = try vault.bundles.createBundle(BundleRequest(school: school, recipient: recipient, reason: reason, items: list,
                                                       children: children, concerns: concerns, leaveOut: leaveOut),
                                         by: try user.caller(in: vault))
        if options.json {
            Output.json(["id": row.id, "state": row.state.rawValue, "items": list.count])
        } else {
            Output.line(row.id)
        }
    }
}

struct BundleApprove: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "approve", abstract: "Release someone else's draft: prints the download link (and a passphrase, once).")
    @OptionGroup var options: GlobalOptions
    @OptionGroup var user: UserTokenOptions
    @Argument(help: "The bundle id.") var id: String
    @Option(help: "Days the download link lasts.") var expiresDays: Int = LinkTerms.defaultDays
    @Option(help: "Downloads the link allows (default: no limit).") var maxDownloads: Int?

    func run() throws {
        let vault = try options.openVault()
        let released = try vault.bundles.approveBundle(
            id: id, link: LinkTerms(expiresInDays: expiresDays, maxDownloads: maxDownloads), by: try user.caller(in: vault))
        var fields: [String: Any] = [
            "id": released.bundle.id, "state": released.bundle.state.rawValue, "downloadUrl": released.downloadPath,
            "receiptUrl": released.receiptPath, "archiveSHA256": released.bundle.archiveSHA256 ?? "",
        ]
        if let passphrase = released.passphrase { fields["passphrase"] = passphrase }
        if options.json {
            Output.json(fields)
        } else {
            Output.line("released \(released.bundle.id): download link \(released.downloadPath) (on this server)")
            if let passphrase = released.passphrase {
                Output.line("passphrase (give it to the recipient by another channel; it is not kept): \(passphrase)")
            }
        }
    }
}

struct BundleExport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Write a released bundle's encrypted .age file (it opens only for its recipient).")
    @OptionGroup var options: GlobalOptions
    @OptionGroup var user: UserTokenOptions
    @Argument(help: "The bundle id.") var id: String
    @Option(name: .shortAndLong, help: "The file to write (must not exist).") var output: String

    func run() throws {
        let vault = try options.openVault()
        let row = try vault.bundles.exportBundle(id: id, to: output, by: try user.caller(in: vault))
        if options.json {
            Output.json(["id": row.id, "file": output, "sha256": row.archiveSHA256 ?? ""])
        } else {
            Output.line("wrote \(output) (\(row.archiveSize ?? 0) bytes, sha256 \(row.archiveSHA256 ?? ""))")
        }
    }
}

struct BundleList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "A school's bundles, newest first.")
    @OptionGroup var options: GlobalOptions
    @OptionGroup var user: UserTokenOptions
    @Option(help: "The school.") var school: String

    func run() throws {
        let vault = try options.openVault()
        let rows = try vault.bundles.list(school: school, by: try user.caller(in: vault))
        if options.json {
            Output.json(rows.map { ["id": $0.id, "state": $0.state.rawValue, "recipient": $0.recipient, "reason": $0.reason,
                                    "createdBy": $0.createdBy, "approvedBy": $0.approvedBy ?? NSNull(),
                                    "downloads": $0.linkDownloads, "revoked": $0.linkRevokedMillis != nil] as [String: Any] })
        } else {
            for r in rows { Output.line("\(r.id)\t\(r.state.rawValue)\t\(r.recipient)\t\(r.createdBy)\t\(r.approvedBy ?? "-")") }
        }
    }
}

struct BundleRevoke: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "revoke", abstract: "Revoke a released bundle's download link.")
    @OptionGroup var options: GlobalOptions
    @OptionGroup var user: UserTokenOptions
    @Argument(help: "The bundle id.") var id: String

    func run() throws {
        let vault = try options.openVault()
        try vault.bundles.revokeBundleLink(id: id, by: try user.caller(in: vault))
        if options.json { Output.json(["id": id, "revoked": true]) } else { Output.line("revoked the link of \(id)") }
    }
}
