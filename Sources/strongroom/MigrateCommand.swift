import ArgumentParser
import Foundation
import KeyManagement
import Storage
import Vault

struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Move an embedded store (a folder) into an empty PostgreSQL database and object store prefix, then check the result.",
        discussion: """
            Stop whatever serves the store first: it is locked for the move and left as it was. The catalog, the key store and \
            deletion ledger, the audit log and every blob move unchanged (the same master key opens the new store). The new \
            store is then opened, verified record by record (blob present, ciphertext hash) and its audit log verified; the \
            exit status is 1 if anything differs. Passwords and credentials come from PGPASSWORD or ~/.pgpass and the AWS_* \
            variables, never the addresses (docs/storage-postgres.md).
            """)
    @OptionGroup var options: GlobalOptions
    @Option(help: "The store folder to move.") var from: String
    @Option(help: "The new catalog: 'postgres://USER@HOST:PORT/DATABASE' (an empty database).") var toMetadata: String
    @Option(help: "The new blobs: 's3://BUCKET?endpoint=URL&region=R[&prefix=P/]' (a prefix holding no store).") var toBlobs: String

    func run() throws {
        let source = StoreLayout(root: from)
        var request = try sharedTarget(metadata: toMetadata, blobs: toBlobs, caller: options.caller)
        request.source = source
        // The master key the new store is opened with: the source's, named from now on.
        request.master = options.passphraseStdin ? try options.masterKeySource() : .keyFile(options.masterKeyPath ?? source.defaultMasterKey)
        let summary = try Vault.migrate(request)
        try report(summary, source: source.root)
        if !summary.isIntact { throw ExitCode(CLIError.problemsFound) }
    }

    func report(_ summary: Vault.MigrationSummary, source: String) throws {
        if options.json {
            try Output.encodable(summary)
            return
        }
        for (table, rows) in summary.tables.sorted(by: { $0.key < $1.key }) { Output.line("\(table): \(rows) rows") }
        Output.line("moved \(source) (vault \(summary.vaultID)) to \(summary.metadata) and \(summary.blobs): \(summary.records) records, \(summary.blobsCopied) blobs (\(summary.bytesCopied) bytes), \(summary.ledgerEntries) ledger entries; audit log \(summary.auditEvents) events")
        for problem in summary.problems { Output.line("PROBLEM \(problem)") }
        Output.line(summary.isIntact ? "the new store verifies: OK" : "the new store does not verify: \(summary.problems.count) PROBLEMS")
        if !options.passphraseStdin {
            Output.line("open it with --metadata, --blobs and --master-key on every command; keep the master key file apart from the database and bucket")
        }
    }
}

/// A new store's place on PostgreSQL and the object store, parsed from the addresses given (the
/// password and credentials from the environment), for `migrate` and `restore --to-metadata`.
func sharedTarget(metadata: String, blobs: String, caller: Caller) throws -> Vault.MigrationRequest {
    let env = ProcessInfo.processInfo.environment
    let location: PostgresLocation
    let password: String?
    do {
        location = try PostgresLocation(parsing: metadata)
        password = try location.password()
    } catch let error as StorageError {
        throw CLIError.Message(text: "--to-metadata: \(error)", code: CLIError.config)
    }
    let objects: S3Location
    let credentials: S3Credentials
    do {
        objects = try S3Location(parsing: blobs)
        credentials = try S3Credentials.fromEnvironment(env)
    } catch let error as S3Error {
        throw CLIError.Message(text: "--to-blobs: \(error)", code: CLIError.config)
    }
    return Vault.MigrationRequest(
        source: StoreLayout(root: "."), metadata: location, password: password, blobs: objects, credentials: credentials,
        master: .keyFile(nil), by: caller)
}
