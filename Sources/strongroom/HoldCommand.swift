import ArgumentParser
import Foundation
import Storage
import Vault

struct HoldCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hold", abstract: "Legal holds (in your own name: --token-file or STRONGROOM_TOKEN).",
        subcommands: [HoldPlace.self, HoldRelease.self, HoldApproveRelease.self, HoldList.self])
}

struct HoldPlace: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "place", abstract: "Place a hold on a record, a child or a concern.")
    @OptionGroup var options: GlobalOptions
    @OptionGroup var user: UserTokenOptions
    @Option(help: "School id.") var school: String
    @Option(help: "Hold one record.") var record: String?
    @Option(help: "Hold every record of a child (including later ones).") var child: String?
    @Option(help: "Hold every record of a concern (including later ones).") var concern: String?
    @Option(help: "Why (for example: police investigation, inquiry do-not-destroy instruction).") var reason: String

    func validate() throws {
        guard [record, child, concern].compactMap({ $0 }).count == 1 else {
            throw ValidationError("name exactly one of --record, --child, --concern")
        }
    }

    func run() throws {
        let vault = try options.openVault()
        let caller = try user.caller(in: vault)
        let (scope, target): (Hold.Scope, String) =
            record.map { (.record, $0) } ?? child.map { (.child, $0) } ?? (.concern, concern!)
        let hold = try vault.lifecycle.placeHold(school: school, scope: scope, target: target, reason: reason, by: caller)
        if options.json { Output.json(Output.hold(hold)) } else { Output.line(hold.id) }
    }
}

struct HoldRelease: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "release",
        abstract: "Ask for a hold's release (a reason is required); it stays active until a second person approves.")
    @OptionGroup var options: GlobalOptions
    @OptionGroup var user: UserTokenOptions
    @Argument(help: "The hold id.") var id: String
    @Option(help: "Why the hold ends.") var reason: String

    func run() throws {
        let vault = try options.openVault()
        let hold = try vault.lifecycle.requestHoldRelease(id: id, reason: reason, by: try user.caller(in: vault))
        if options.json {
            Output.json(Output.hold(hold))
        } else {
            Output.line("release of \(hold.id) asked for; it stays active until another DSL, deputy or DPO runs: strongroom hold approve-release \(hold.id)")
        }
    }
}

struct HoldApproveRelease: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "approve-release", abstract: "Approve someone else's request to release a hold: it is released.")
    @OptionGroup var options: GlobalOptions
    @OptionGroup var user: UserTokenOptions
    @Argument(help: "The hold id.") var id: String

    func run() throws {
        let vault = try options.openVault()
        let hold = try vault.lifecycle.approveHoldRelease(id: id, by: try user.caller(in: vault))
        if options.json { Output.json(Output.hold(hold)) } else { Output.line("released \(hold.id)") }
    }
}

struct HoldList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "Active holds in your schools.")
    @OptionGroup var options: GlobalOptions
    @OptionGroup var user: UserTokenOptions
    @Option(help: "Only this school.") var school: String?

    func run() throws {
        let vault = try options.openVault()
        let holds = try vault.lifecycle.holds(school: school, by: try user.caller(in: vault))
        if options.json {
            Output.json(holds.map(Output.hold))
        } else {
            for h in holds {
                let asked = h.releaseRequestedBy.map { "\trelease asked by \($0)" } ?? ""
                Output.line("\(h.id)\t\(h.school)\t\(h.scope.rawValue) \(h.target)\t\(h.placedBy)\(asked)")
            }
        }
    }
}
