import ArgumentParser
import Foundation
import KeyManagement
import Vault

struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "The key lifecycle: status, rotation, destruction of retired KEKs, a new master key.",
        subcommands: [KeysStatus.self, KeysRotate.self, KeysDestroyRetired.self, KeysRotateMaster.self, KeysBackup.self])
}

struct KeysBackup: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copy the key store (keys still wrapped) and the deletion ledger to DIR/keys-<time>; no master key needed or copied.")
    @OptionGroup var options: GlobalOptions
    @Option(help: "The folder to back up into (kept apart from data backups, for at most the 35-day window).") var to: String

    func run() throws {
        let backup = try options.openVaultWithoutKeys().backups.backupKeyStore(to: to, by: options.caller)
        if options.json {
            Output.json(["folder": backup.folder, "files": backup.files, "ledgerEntries": backup.ledgerEntries])
        } else {
            Output.line("key store and deletion ledger (\(backup.ledgerEntries) entries) copied to \(backup.folder)")
        }
    }
}

struct KeysStatus: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "status", abstract: "KEKs with their state, school, period and record counts.")
    @OptionGroup var options: GlobalOptions

    func run() throws {
        let vault = try options.openVault()
        let status = try vault.keys.status(by: options.caller)
        if options.json {
            var out: [String: Any] = ["keks": status.map { s -> [String: Any] in
                var row: [String: Any] = [
                    "id": s.info.id, "state": s.info.state.rawValue, "records": s.records,
                    "createdAt": Output.iso.string(from: s.info.createdAt),
                ]
                if let school = s.info.school { row["school"] = school }
                if let period = s.info.period { row["period"] = period }
                if let at = s.info.retiredAt { row["retiredAt"] = Output.iso.string(from: at) }
                if let at = s.info.destroyedAt { row["destroyedAt"] = Output.iso.string(from: at) }
                return row
            }]
            if let started = vault.rotationInProgress { out["rotationInProgressSince"] = Output.iso.string(from: started) }
            Output.json(out)
        } else {
            for s in status {
                Output.line("\(s.info.id)\t\(s.info.state.rawValue)\t\(s.info.school ?? "-")\t\(s.info.period ?? "-")\t\(s.records) records")
            }
            if let started = vault.rotationInProgress {
                Output.line("a rotation started \(Output.iso.string(from: started)) is unfinished: run strongroom keys rotate to resume it")
            }
        }
    }
}

struct KeysRotate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate",
        abstract: "New KEKs; every live data key re-wrapped (no blob re-encrypted). Resumes an interrupted rotation.")
    @OptionGroup var options: GlobalOptions
    @Option(help: ArgumentHelp("Records re-wrapped per transaction.", visibility: .hidden)) var batchSize = 5000

    func run() throws {
        let vault = try options.openVault()
        let report = try vault.keys.rotateKEKs(by: options.caller, batchSize: max(1, batchSize)) { Output.progress("re-wrapped \($0) data keys") }
        Output.endProgress()
        if options.json {
            Output.json(["resumed": report.resumed, "retired": report.retired, "rewrapped": report.rewrapped, "skipped": report.skipped])
        } else {
            Output.line("\(report.resumed ? "resumed: " : "")\(report.rewrapped) data keys re-wrapped; \(report.retired.count) KEKs retired")
            for id in report.skipped { Output.line("left in place: record \(id)'s wrapped key does not open (run strongroom verify)") }
        }
    }
}

struct KeysDestroyRetired: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "destroy-retired",
        abstract: "Destroy retired KEKs no live record uses, once the key-store backup window has passed.")
    @OptionGroup var options: GlobalOptions
    @Option(help: "Only KEKs retired at least this many days ago (default: \(Vault.keyStoreBackupWindowDays), the key-store backup window).")
    var olderThan = Vault.keyStoreBackupWindowDays

    func run() throws {
        let vault = try options.openVault()
        let destroyed = try vault.keys.destroyRetiredKEKs(olderThanDays: olderThan, by: options.caller)
        if options.json { Output.json(["destroyed": destroyed]) } else { Output.line("\(destroyed.count) KEKs destroyed") }
    }
}

struct KeysRotateMaster: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rotate-master", abstract: "Re-wrap every KEK and the signing key under a new master key file or passphrase.")
    @OptionGroup var options: GlobalOptions
    @Option(help: "Create the new master key file here (it must not exist).") var newMasterKey: String?
    @Flag(help: "Read the new passphrase from standard input (the line after the current one, if that is read too).")
    var newPassphraseStdin = false

    func validate() throws {
        guard (newMasterKey != nil) != newPassphraseStdin else {
            throw ValidationError("give exactly one of --new-master-key FILE and --new-passphrase-stdin")
        }
    }

    func run() throws {
        let vault = try options.openVault()
        let target: MasterKeySource
        if let newMasterKey {
            target = .keyFile(newMasterKey)
        } else {
            target = .passphrase(try PassphraseMasterKey.readPassphrase(from: 0), cost: .moderate)
        }
        try vault.keys.rotateMasterKey(to: target, by: options.caller)
        if options.json {
            Output.json(["masterKey": newMasterKey.map { ["kind": "key-file", "path": $0] } ?? ["kind": "passphrase"]])
        } else if let newMasterKey {
            Output.line("re-wrapped under \(newMasterKey); open the store with --master-key \(newMasterKey) and destroy the old key file and its copies")
        } else {
            Output.line("re-wrapped under the new passphrase")
        }
    }
}
