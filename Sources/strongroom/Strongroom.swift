import ArgumentParser
import Foundation
import KeyManagement

@main
struct Strongroom: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "strongroom",
        abstract: "A secure evidence vault for school safeguarding records.",
        discussion: """
            Exit codes: 0 success; 1 verification found problems; 64 usage; 65 input refused \
            (type, size, identifier); 66 no such record or file; 69 audit log unavailable (nothing \
            was done); 70 internal error; 73 store or output file exists or cannot be created (an \
            output path that is a symlink, device, FIFO or folder); 74 I/O error or disk full; 75 busy, \
            try again; 77 key problem (wrong passphrase, unsafe key file); 78 store missing or misconfigured.
            """,
        subcommands: [
            InitCommand.self, PutCommand.self, GetCommand.self, ShowCommand.self, ListCommand.self,
            AuditCommand.self, VerifyCommand.self, GCCommand.self, UserCommand.self, ServeCommand.self,
            ChildCommand.self, RetentionCommand.self, HoldCommand.self, ShredCommand.self, KeysCommand.self,
            CertificateCommand.self, LedgerCommand.self, BackupCommand.self, RestoreCommand.self, SigningKeyCommand.self, RecipientCommand.self,
            BundleCommand.self, TransferCommand.self, MigrateCommand.self,
        ])

    static func main() async {
        // Before any key exists in memory: no core dumps, not dumpable.
        ProcessHardening.apply()
        // Everything the store writes is for its owner only.
        umask(0o077)
        do {
            var command = try parseAsRoot()
            if var async = command as? AsyncParsableCommand {
                try await async.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: CLIError.map(error))
        }
    }
}
