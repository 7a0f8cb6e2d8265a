import ArgumentParser
import Foundation
import Storage
import Vault

struct UserCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user", abstract: "Manage the people who reach the vault over HTTP.",
        subcommands: [UserAdd.self, UserList.self, UserReset.self, UserRevoke.self])
}

/// Where enrolment links point: --public-url, else STRONGROOM_PUBLIC_URL, else the address
/// `strongroom serve` uses by default.
struct PublicURLOption: ParsableArguments {
    @Option(help: "The address people open (https://HOST[:PORT]); default STRONGROOM_PUBLIC_URL, else http://localhost:8080.")
    var publicUrl: String?

    func enrolmentLink(_ token: String) -> String {
        var base = publicUrl ?? ProcessInfo.processInfo.environment["STRONGROOM_PUBLIC_URL"] ?? "http://localhost:8080"
        while base.hasSuffix("/") { base.removeLast() }
        return "\(base)/enrol/\(token)"
    }
}

struct UserAdd: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add", abstract: "Add a person and print their one-time enrolment link (or, with --api-token, an integration and its bearer token).",
        discussion: """
            A person opens the link (valid 72 hours, once) and registers a passkey, or a passphrase and an \
            authenticator app. The link and a token are shown once; only their hashes are kept.
            """)

    @OptionGroup var options: GlobalOptions
    @OptionGroup var link: PublicURLOption
    @Flag(help: "Make an integration account that calls with a bearer token instead of a person.") var apiToken = false
    @Argument(help: "The user's name (an id such as jo.smith, not a child's name).") var name: String
    @Option(help: "One of: \(Role.allCases.map(\.rawValue).joined(separator: ", ")).") var role: String
    @Option(name: .customLong("school"), help: "A school the user works in (repeat for several).") var schools: [String] = []

    func run() throws {
        guard let role = Role(rawValue: role) else {
            throw CLIError.Message(text: "unknown role '\(role)'; roles are \(Role.allCases.map(\.rawValue).joined(separator: ", "))", code: CLIError.refused)
        }
        let vault = try options.openVault()
        guard apiToken else {
            let issued = try vault.users.addPerson(name: name, role: role, schools: schools, by: options.caller)
            let url = link.enrolmentLink(issued.token)
            if options.json {
                Output.json(["name": issued.user.name, "role": issued.user.role, "schools": issued.user.schools, "enrolmentUrl": url])
            } else {
                Output.line(url)
                FileHandle.standardError.write(Data("person \(issued.user.name) (account \(issued.user.id), \(issued.user.role), \(issued.user.schools.joined(separator: " "))) added; send them the link above (shown only once, valid 72 hours, usable once)\n".utf8))
            }
            return
        }
        let issued = try vault.users.addIntegration(name: name, role: role, schools: schools, by: options.caller)
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
        let vault = try options.openVaultWithoutKeys()
        let users = try vault.users.list(by: options.caller)
        let summaries = try vault.users.signInSummaries()
        let iso = ISO8601DateFormatter()
        if options.json {
            Output.json(users.map { u -> [String: Any] in
                var row: [String: Any] = [
                    "name": u.name, "id": u.id, "role": u.role, "schools": u.schools, "revoked": u.isRevoked, "createdBy": u.createdBy,
                    "state": Self.state(u)]
                if let s = summaries[u.id] {
                    row["kind"] = s.kind.rawValue
                    row["factors"] = s.factors.map { ["kind": $0.kind, "addedAt": iso.string(from: $0.addedAt)] }
                    row["recoveryCodesLeft"] = s.recoveryCodesLeft
                    row["enrolmentPending"] = s.enrolmentPending
                    row["lastSignIn"] = s.lastSignIn.map { iso.string(from: $0) } ?? NSNull()
                }
                return row
            })
        } else {
            for u in users {
                Output.line("\(u.name)\t\(u.id)\t\(u.role)\t\(u.schools.joined(separator: ","))\t\(Self.state(u))\t\(Self.signIn(summaries[u.id], iso))")
            }
        }
    }

    /// "passkey (2026-12-01), recovery codes 10 left, last sign-in 2026-12-02T…" and the like.
    static func signIn(_ s: SignInSummary?, _ iso: ISO8601DateFormatter) -> String {
        guard let s else { return "" }
        if s.kind == .integration { return "bearer token" }
        var parts = s.factors.map { "\($0.kind) (added \(iso.string(from: $0.addedAt)))" }
        if s.recoveryCodesLeft > 0 || s.factors.contains(where: { $0.kind == "totp" }) { parts.append("\(s.recoveryCodesLeft) recovery codes left") }
        if s.factors.isEmpty { parts.append(s.enrolmentPending ? "not enrolled yet (link waiting)" : "no factors (link expired: user reset)") }
        parts.append("last sign-in " + (s.lastSignIn.map { iso.string(from: $0) } ?? "never"))
        return parts.joined(separator: ", ")
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

struct UserReset: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reset", abstract: "Remove a person's passkeys, passphrase and codes, end their sessions, and print a new enrolment link.",
        discussion: "For a person who lost their phone or passkey. Only the operator can do it, never one person over the web.")
    @OptionGroup var options: GlobalOptions
    @OptionGroup var link: PublicURLOption
    @Argument(help: "The person's user name.") var name: String

    func run() throws {
        let issued = try options.openVault().users.resetPerson(name: name, by: options.caller)
        let url = link.enrolmentLink(issued.token)
        if options.json {
            Output.json(["name": issued.user.name, "role": issued.user.role, "schools": issued.user.schools, "enrolmentUrl": url])
        } else {
            Output.line(url)
            FileHandle.standardError.write(Data("\(issued.user.name): factors removed and sessions ended; send them the new link above (valid 72 hours, usable once)\n".utf8))
        }
    }
}

struct UserRevoke: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "revoke", abstract: "Revoke a user's token (effective on their next request).")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The user's name.") var name: String

    func run() throws {
        try options.openVault().users.revoke(name: name, by: options.caller)
        Output.line("revoked \(name)")
    }
}
