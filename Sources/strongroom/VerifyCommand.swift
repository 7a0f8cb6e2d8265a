import ArgumentParser
import Foundation
import Vault

struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check every record's blob: decrypt and authenticate it, or with --no-keys check its hash.",
        discussion: "Exit 0 when every record is intact; 1 when any is missing or damaged. Orphan blobs and leftover uploads are listed for gc.")

    @OptionGroup var options: GlobalOptions

    @Flag(name: .long, help: "Check sizes, header bindings and ciphertext hashes without the master key.")
    var noKeys = false

    func run() throws {
        let vault = noKeys ? try options.openVaultWithoutKeys() : try options.openVault()
        let report = try vault.audit.verify(by: options.caller, useKeys: !noKeys) { n, total in
            Output.progress("verifying \(n)/\(total)")
        }
        Output.endProgress()
        if options.json {
            Output.json([
                "intact": report.isIntact, "records": report.records, "verified": report.intact,
                "authenticated": report.authenticated, "missing": report.missing,
                "damaged": report.damaged.map { ["record": $0.record, "kind": $0.kind, "detail": $0.detail] },
                "orphans": report.orphans, "leftoverUploads": report.leftovers,
                "tombstones": report.tombstones, "badTombstones": report.badTombstones,
                "shreddedButPresent": report.resurrected, "ledgerProblem": report.ledgerProblem ?? NSNull(),
                "rowsGoneWithoutShred": report.vanished,
                "refiled": report.refiled.map { ["record": $0.record, "detail": $0.detail] },
                "auditProblem": report.auditProblem ?? NSNull(),
            ])
        } else {
            for id in report.missing { Output.line("missing: record \(id) has no blob") }
            for d in report.damaged { Output.line("damaged: record \(d.record): \(d.detail)") }
            for id in report.orphans { Output.line("orphan: blob \(id) has no record (strongroom gc removes it)") }
            for name in report.leftovers { Output.line("leftover upload: \(name) (strongroom gc removes it)") }
            for id in report.resurrected { Output.line("shredded but present: record \(id) was shredded; this database is an older copy (it is never opened)") }
            for id in report.badTombstones { Output.line("bad tombstone: record \(id)'s tombstone is not signed by this vault") }
            if let problem = report.ledgerProblem { Output.line("deletion ledger: \(problem)") }
            for id in report.vanished { Output.line("row gone: record \(id) was stored (its put event is in the audit log) but its row is gone with no shred; its blob is kept") }
            for d in report.refiled { Output.line("refiled: record \(d.record): \(d.detail)") }
            if let problem = report.auditProblem { Output.line("audit log: \(problem)") }
            Output.line("\(report.records) records, \(report.intact) intact, \(report.missing.count) missing, \(report.damaged.count) damaged\(report.authenticated ? " (decrypted and authenticated)" : " (ciphertext hashes only)")")
        }
        if !report.isIntact { throw ExitCode(CLIError.problemsFound) }
    }
}

struct GCCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc", abstract: "Remove orphan blobs and uploads left by a crash.")

    @OptionGroup var options: GlobalOptions

    func run() throws {
        let report = try options.openVaultWithoutKeys().audit.gc(by: options.caller)
        if options.json {
            Output.json(["removedOrphans": report.removedOrphans, "removedLeftoverUploads": report.removedLeftovers,
                         "keptBlobsOfVanishedRows": report.keptVanished])
        } else {
            Output.line("removed \(report.removedOrphans.count) orphan blobs and \(report.removedLeftovers.count) leftover uploads")
            if !report.keptVanished.isEmpty {
                Output.line("kept \(report.keptVanished.count) blobs of records the audit log says were stored but whose rows are gone; run strongroom verify")
            }
        }
    }
}
