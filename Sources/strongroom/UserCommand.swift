import ArgumentParser
import Foundation
import Storage
import Vault

struct UserCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user", abstract: "Manage the people who reach the vault over HTTP.",
        subcommands: [UserAdd.self, UserList.self, UserRevoke.self])
}

struct UserAdd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add", abstract: "Add a user and print their bearer token (shown once; only its hash is kept).")

    @OptionGroup var options: GlobalOptions
    @Argument(help: "The user's name (an id such as jo.smith, not a child's name).") var name: String
    @Option(help: "One of: \(Role.allCases.map(\.rawValue).joined(separator: ", ")).") var role: String
    @Option(name: .customLong("school"), help: "A school the user works in (repeat for several).") var schools: [String] = []

    func run() throws {
        guard let role = Role(rawValue: role) else {
            throw CLIError.Message(text: "unknown role '\(role)'; roles are \(Role.allCases.map(\.rawValue).joined(separator: ", "))", code: CLIError.refused)
        }
        let vault = try options.openVault()
        let issued = try vault.addUser(name: name, role: role, schools: schools, actor: options.actorName)
        if options.json {
            Output.json(["name": issued.user.name, "id": issued.user.id, "role": issued.user.role, "schools": issued.user.schools,
                         "token": issued.token])
        } else {
            Output.line(issued.token)
            FileHandle.standardError.write(Data("user \(issued.user.name) (account \(issued.user.id), \(issued.user.role), \(issued.user.schools.joined(separator: " "))) added; the token above is shown only once\n".utf8))
        }
    }
}

struct UserList: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List user accounts, revoked ones too (never their tokens); a name added again is a new account.")
    @OptionGroup var options: GlobalOptions

    func run() throws {
        let users = try options.openVaultWithoutKeys().users()
        if options.json {
            Output.json(users.map { u -> [String: Any] in
                ["name": u.name, "id": u.id, "role": u.role, "schools": u.schools, "revoked": u.isRevoked, "createdBy": u.createdBy,
                 "state": Self.state(u)]
            })
        } else {
            for u in users {
                Output.line("\(u.name)\t\(u.id)\t\(u.role)\t\(u.schools.joined(separator: ","))\t\(Self.state(u))")
            }
        }
    }

    /// A row not (yet) signed with its account id is honoured by nothing: say so.
    static func state(_ u: UserAccount) -> String {
        if u.isRevoked { return "revoked" }
        switch u.signatureFormat {
        case UserAccount.signatureFormat: return "active"
        case 1: return "unsigned (re-signed when the store is next opened with its master key)"
        default: return "refused (its signature did not hold)"
        }
    }
}

struct UserRevoke: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "revoke", abstract: "Revoke a user's token (effective on their next request).")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The user's name.") var name: String

    func run() throws {
        try options.openVault().revokeUser(name: name, actor: options.actorName)
        Output.line("revoked \(name)")
    }
}
