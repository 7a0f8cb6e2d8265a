import ArgumentParser
import Foundation
import KeyManagement
import Storage
import Vault

/// Options every command shares.
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: "The store folder (default: $STRONGROOM_STORE or ./strongroom-data).")
    var store: String?

    @Option(name: .long, help: "The master key file (default: $STRONGROOM_MASTER_KEY or STORE/keys/master.key).")
    var masterKey: String?

    @Flag(name: .long, help: "Read the store's passphrase from standard input (first line).")
    var passphraseStdin = false

    @Option(name: .long, help: "Who is acting, for the audit log (default: $STRONGROOM_ACTOR or cli:USER).")
    var actor: String?

    @Flag(name: .long, help: "Print machine-readable JSON.")
    var json = false

    @Option(name: .long, help: "Keep blobs in an S3-compatible object store: 's3://BUCKET?endpoint=URL&region=R' (default: $STRONGROOM_BLOBS, else the store folder). Credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or AWS_SHARED_CREDENTIALS_FILE, never from here.")
    var blobs: String?

    @Option(name: .long, help: "Keep the catalog in PostgreSQL: 'postgres://USER@HOST:PORT/DATABASE' (default: $STRONGROOM_METADATA, else the store folder). The password from PGPASSWORD or ~/.pgpass, never from here.")
    var metadata: String?

    var layout: StoreLayout {
        StoreLayout(root: store ?? ProcessInfo.processInfo.environment["STRONGROOM_STORE"] ?? "./strongroom-data")
    }

    var actorName: String {
        if let actor { return actor }
        if let env = ProcessInfo.processInfo.environment["STRONGROOM_ACTOR"], !env.isEmpty { return env }
        if let pw = getpwuid(geteuid()), let name = pw.pointee.pw_name { return "cli:" + String(cString: name) }
        return "cli:uid\(geteuid())"
    }

    /// The operator at the command line, as every vault operation is told.
    var caller: Caller { .operator(actorName) }

    var masterKeyPath: String? { masterKey ?? ProcessInfo.processInfo.environment["STRONGROOM_MASTER_KEY"] }

    func masterKeySource(cost: PassphraseKDFParameters.Cost = .moderate) throws -> MasterKeySource {
        if passphraseStdin { return .passphrase(try PassphraseMasterKey.readPassphrase(from: 0), cost: cost) }
        return .keyFile(masterKeyPath)
    }

    /// Where the store's blobs are: `--blobs`, else `$STRONGROOM_BLOBS`, else the store folder.
    func blobBackend() throws -> BlobBackend {
        let env = ProcessInfo.processInfo.environment
        guard let text = blobs ?? env["STRONGROOM_BLOBS"].flatMap({ $0.isEmpty ? nil : $0 }) else { return .files }
        do {
            let location = try S3Location(parsing: text)
            return .objectStore(location, try S3Credentials.fromEnvironment(env))
        } catch let error as S3Error {
            throw CLIError.Message(text: "--blobs: \(error)", code: CLIError.config)
        }
    }

    /// Where the store's catalog is: `--metadata`, else `$STRONGROOM_METADATA`, else the store folder.
    func metadataBackend() throws -> MetadataBackend {
        let env = ProcessInfo.processInfo.environment
        guard let text = metadata ?? env["STRONGROOM_METADATA"].flatMap({ $0.isEmpty ? nil : $0 }) else { return .embedded }
        do {
            let location = try PostgresLocation(parsing: text)
            return .postgres(location, password: try location.password())
        } catch let error as StorageError {
            throw CLIError.Message(text: "--metadata: \(error)", code: CLIError.config)
        }
    }

    /// Where the store's key store is: its folder's keys/, or the PostgreSQL catalog.
    func keyFiles() throws -> any KeyFiles {
        switch try metadataBackend() {
        case .embedded: return KeyFolder(directory: layout.keys)
        case .postgres(let location, let password): return try PostgresCatalog.keyFiles(location: location, password: password)
        }
    }

    /// Opens the store with its master key.
    func openVault(options: Vault.Options = Vault.Options()) throws -> Vault {
        var options = options
        options.blobs = try blobBackend()
        options.metadata = try metadataBackend()
        options.witnessPath = Self.witnessFromEnvironment
        if options.witnessProblem == nil {
            options.witnessProblem = { FileHandle.standardError.write(Data("warning: \($0)\n".utf8)) }
        }
        return try Vault.open(at: layout, master: try masterKeySource(), options: options)
    }

    /// Opens the store without any key (verify --no-keys, audit verify and log).
    func openVaultWithoutKeys() throws -> Vault {
        var options = Vault.Options()
        options.blobs = try blobBackend()
        options.metadata = try metadataBackend()
        options.witnessPath = Self.witnessFromEnvironment
        return try Vault.open(at: layout, master: nil, options: options)
    }

    /// `STRONGROOM_AUDIT_WITNESS`: the witness named outside the store (docs/audit.md).
    static var witnessFromEnvironment: String? {
        ProcessInfo.processInfo.environment["STRONGROOM_AUDIT_WITNESS"].flatMap { $0.isEmpty ? nil : $0 }
    }
}
