import ArgumentParser
import Foundation
import KeyManagement
import Vault

struct LedgerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ledger", abstract: "The signed deletion ledger.", subcommands: [LedgerExport.self])
}

struct LedgerExport: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export", abstract: "Check the deletion ledger and write it to a file (for a restore to replay).")
    @OptionGroup var options: GlobalOptions
    @Option(name: .shortAndLong, help: "The file to write (must not exist).") var output: String

    func run() throws {
        let count = try options.openVaultWithoutKeys().backups.exportLedger(to: output, by: options.caller)
        if options.json { Output.json(["file": output, "entries": count]) } else { Output.line("\(count) ledger entries written to \(output)") }
    }
}

struct BackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Backups the backup operator takes, verifies and prunes without any key to the evidence (docs/backup.md).",
        subcommands: [BackupKeygen.self, BackupCreate.self, BackupVerify.self, BackupList.self, BackupPrune.self])
}

struct BackupKeygen: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygen", abstract: "Make the backup operator's Ed25519 signing key; prints its public key (also written to FILE.pub).")
    @OptionGroup var options: GlobalOptions
    @Option(name: .shortAndLong, help: "The key file to create (mode 0600; must not exist).") var output: String

    func run() throws {
        // Both names are checked before the key is made: neither may exist, be a symlink or a FIFO.
        try OutputFile.check(output, replacing: false)
        let publicFile = try OutputFile(output + ".pub", mode: 0o644, replacing: false)
        let publicKey = try BackupSigningKey.create(at: output)
        let text = publicKey.fileText.replacingOccurrences(of: "strongroom vault public key", with: "strongroom backup public key")
        try publicFile.write(Array(text.utf8))
        try publicFile.commit()
        if options.json { Output.json(["keyFile": output, "publicKey": publicKey.minisignBase64]) } else { Output.line(publicKey.minisignBase64) }
    }
}

/// Reads a public key file (minisign form, as `backup keygen` writes FILE.pub, or the one-line
/// key): the one reader for every command that takes `--public-key`.
func readPublicKey(_ path: String, what: String) throws -> VaultPublicKey {
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
        throw CLIError.Message(text: "cannot read \(what) \(path)", code: CLIError.notFound)
    }
    guard let key = VaultPublicKey(text: text) else { throw CLIError.Message(text: "\(path) is not a \(what)", code: CLIError.refused) }
    return key
}

struct BackupCreate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Back the store up into DIR while it keeps serving; needs no master key. Incremental: blobs already in DIR are not copied.")
    @OptionGroup var options: GlobalOptions
    @Option(help: "The backup folder (created if missing).") var to: String
    @Option(help: "The backup operator's signing key (from backup keygen).") var signingKey: String

    func run() throws {
        // Only the first 8 bytes: of a private key file that is its magic, never key material.
        if let handle = FileHandle(forReadingAtPath: signingKey), let head = try? handle.read(upToCount: 8),
           (try? handle.close()) != nil, head == Data("untruste".utf8) {
            throw CLIError.Message(
                text: "\(signingKey) is a public key; --signing-key takes the private key file backup keygen made (its -o FILE)",
                code: CLIError.refused)
        }
        let signer = try BackupSigningKey.open(at: signingKey)
        let summary = try options.openVaultWithoutKeys().backups.create(to: to, signingKey: signer, by: options.caller)
        if options.json {
            try Output.encodable(summary)
        } else {
            Output.line("snapshot \(summary.snapshot): \(summary.records) records; \(summary.blobsCopied) blobs copied (\(summary.bytesCopied) bytes), \(summary.blobsAlreadyPresent) already in the backup; audit tree \(summary.auditTreeSize) events")
            for omitted in summary.omitted { Output.line("omitted \(omitted.record): \(omitted.reason)") }
        }
        if !summary.storeProblems.isEmpty {
            throw CLIError.Message(
                text: "\(summary.storeProblems.count) records have a missing or damaged blob in the store and are not in this backup; run strongroom verify",
                code: CLIError.problemsFound)
        }
    }
}

/// The live store named by `--store`, opened without a key and read-only, to compare a backup
/// folder with its audit log; nil when `--store` was not given.
func liveStoreForComparison(_ options: GlobalOptions) throws -> Vault? {
    // A store on PostgreSQL has no folder: its --metadata names it.
    guard options.store != nil || options.metadata != nil else { return nil }
    var readOnly = Vault.Options()
    readOnly.catalog.readOnly = true
    readOnly.blobs = try options.blobBackend()
    readOnly.metadata = try options.metadataBackend()
    return try Vault.open(at: options.layout, master: nil, options: readOnly)
}

struct BackupVerify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check every file of a backup against its signed manifest, with no key; --deep also decrypts every record with the store's keys.",
        discussion: "With --store STORE (the live store the backups were taken from, read without a key), also compare the folder with the store's audit log: each snapshot the log records as taken into this folder that is gone and was not pruned is named, with the time it was taken, and the exit status is 1. Without --store, a deleted newest snapshot goes unnoticed.")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The backup folder.") var directory: String
    @Option(help: "The backup operator's public key file (FILE.pub from backup keygen).") var publicKey: String
    @Option(help: "Check only this snapshot's files (extra files are looked for in the whole folder).") var snapshot: String?
    @Flag(help: "Also decrypt and authenticate every record, with the store's master key (run by someone allowed to hold it).") var deep = false

    func run() throws {
        let key = try readPublicKey(publicKey, what: "backup public key")
        let report = deep
            ? try options.openVault().backups.verifyDeeply(at: directory, publicKey: key, snapshot: snapshot, by: options.caller)
            : try Vault.verifyBackup(at: directory, publicKey: key, snapshot: snapshot, store: try liveStoreForComparison(options))
        if options.json {
            try Output.encodable(report)
        } else {
            for problem in report.problems { Output.line("\(problem.kind.uppercased()) \(problem.path): \(problem.detail)") }
            var line = "\(report.snapshots.count) snapshots, \(report.files) files (\(report.bytes) bytes) checked"
            if report.comparedWithStore { line += ", compared with the store's audit log" }
            if report.deep { line += ", \(report.recordsAuthenticated) records decrypted and authenticated, \(report.shreddedSince.count) shredded since the backup" }
            Output.line(line + (report.isIntact ? ": OK" : ": \(report.problems.count) PROBLEMS"))
        }
        if !report.isIntact { throw ExitCode(CLIError.problemsFound) }
    }
}

struct BackupList: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List a backup folder's snapshots, oldest first.")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The backup folder.") var directory: String

    func run() throws {
        let listing = try Vault.listBackups(at: directory)
        if options.json {
            try Output.encodable(listing)
        } else {
            if listing.isEmpty { Output.line("no snapshots in \(directory)") }
            for s in listing {
                if let problem = s.problem {
                    Output.line("\(s.snapshot)  DAMAGED: \(problem)")
                } else {
                    Output.line("\(s.snapshot)  \(s.createdAt ?? "")  \(s.records ?? 0) records  \(s.files ?? 0) files  \(s.bytes ?? 0) bytes")
                }
            }
        }
        if listing.contains(where: { $0.problem != nil }) { throw ExitCode(CLIError.problemsFound) }
    }
}

struct BackupPrune: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prune",
        abstract: "Keep the N most recent snapshots; remove the others, every blob no kept snapshot lists, and leftovers of interrupted backups. Each removal is recorded in the store's audit log (the store the backups were taken from; no key needed).")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The backup folder.") var directory: String
    @Option(help: "How many snapshots to keep (at least 1).") var keep: Int
    @Option(help: "Require every snapshot to be signed by this backup public key (FILE.pub).") var publicKey: String?
    @Option(help: "Remove this snapshot whatever it holds (one that does not load, or is signed by another key). Repeatable.")
    var discard: [String] = []

    func run() throws {
        let key = try publicKey.map { try readPublicKey($0, what: "backup public key") }
        // Each removal is recorded in the store's log, so that verify --store tells it from a deletion.
        let summary = try options.openVaultWithoutKeys().backups.prune(
            at: directory, keep: keep, publicKey: key, discard: discard, by: options.caller)
        if options.json {
            try Output.encodable(summary)
        } else {
            Output.line("kept \(summary.kept.count) snapshots, removed \(summary.removed.count) (\(summary.removed.joined(separator: ", "))); \(summary.blobsRemoved) blobs removed, \(summary.bytesFreed) bytes freed")
        }
    }
}

struct RestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Restore a backup into a new, empty store folder, after verifying it, and shred again every record the deletion ledger names.",
        discussion: "With --store STORE (the live store the backups were taken from, when it still exists), refuse if its audit log records a snapshot taken into this folder that is gone and was not pruned: the newest snapshot left would be an older state.")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The backup folder.") var directory: String
    @Option(help: "The new store folder (must not exist or be empty).") var to: String?
    @Option(help: "Restore into this PostgreSQL database instead of a folder (an empty one; with --to-blobs, --keys and --master-key).")
    var toMetadata: String?
    @Option(help: "The object store for the blobs when restoring with --to-metadata: 's3://BUCKET?endpoint=URL&region=R[&prefix=P/]'.")
    var toBlobs: String?
    @Option(help: "The backup operator's public key file.") var publicKey: String
    @Option(help: "A key store backup folder (from keys backup) or keystore.json.") var keys: String?
    @Option(help: "The current deletion ledger (from ledger export).") var ledger: String
    @Option(help: "The snapshot to restore (default: the newest).") var snapshot: String?

    func run() throws {
        let key = try readPublicKey(publicKey, what: "backup public key")
        var request = Vault.RestoreRequest(
            backup: directory, snapshot: snapshot, target: to ?? "", publicKey: key, keys: keys, ledger: ledger, by: options.caller)
        // --store is the live store the backups were taken from (when it still exists): its log
        // says which snapshots must be in the folder.
        request.liveStore = try liveStoreForComparison(options)
        let summary: Vault.RestoreSummary
        switch (to, toMetadata, toBlobs) {
        case (_?, nil, nil):
            summary = try Vault.restore(request)
        case (nil, let metadata?, let blobs?):
            var target = try sharedTarget(metadata: metadata, blobs: blobs, caller: options.caller)
            guard let masterKey = options.masterKeyPath else {
                throw CLIError.Message(text: "restoring into a database needs --master-key FILE (the store's master key), to open and check the new store", code: CLIError.refused)
            }
            target.master = .keyFile(masterKey)
            let (restored, moved) = try Vault.restore(request, into: target)
            var inPlace = restored
            inPlace.store = "\(moved.metadata) and \(moved.blobs)"
            inPlace.auditTreeSize = moved.auditEvents
            summary = inPlace
            for problem in moved.problems { Output.line("PROBLEM \(problem)") }
            if !moved.isIntact {
                throw CLIError.Message(text: "the restored store does not verify in its new place: \(moved.problems.count) problems", code: CLIError.problemsFound)
            }
        default:
            throw CLIError.Message(text: "restore into a folder (--to DIR) or into a database and object store (--to-metadata and --to-blobs), one of the two", code: CLIError.refused)
        }
        for warning in summary.warnings { Output.warning(warning) }
        if !summary.comparedWithStore {
            Output.warning("not compared with the live store's audit log (--store): a newest snapshot deleted from the folder would not have been noticed")
        }
        if options.json {
            try Output.encodable(summary)
        } else {
            Output.line("restored snapshot \(summary.snapshot) into \(summary.store): \(summary.records) records; \(summary.reshredded.count) shredded again from the deletion ledger (\(summary.ledgerEntries) entries); audit log verified (\(summary.auditTreeSize) events)")
            if !summary.keysRestored {
                Output.line("no key store was given: put a key store backup's keystore.json in \(summary.store)/keys/ before opening the store")
            }
        }
    }
}
