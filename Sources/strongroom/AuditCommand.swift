import ArgumentParser
import Foundation
import KeyManagement
import Storage
import Vault

struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "Read, verify and checkpoint the audit log.",
        subcommands: [AuditVerify.self, AuditLog.self, AuditCheckpoint.self, AuditPublicKey.self, AuditWitnessCommand.self])
}

struct AuditVerify: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check every event, the hash chain, the Merkle tree and the signed checkpoints.",
        discussion: "Needs no secret. Exit 0 when intact; 1 with the first bad sequence number and what happened.")

    @OptionGroup var options: GlobalOptions

    @Option(help: "A checkpoint kept outside the store (from audit checkpoint -o); the log must extend it.")
    var checkpoint: String?

    @Option(help: "The vault's public key, from a source you trust, instead of the one in the store.")
    var publicKey: String?

    @Option(help: "A witness file to check the log against, instead of the store's own witness (audit witness).")
    var witness: String?

    func run() throws {
        let vault = try options.openVaultWithoutKeys()
        var external: Checkpoint?
        if let checkpoint {
            guard let bytes = try? DurableFile.read(checkpoint), let parsed = Checkpoint.parse(bytes) else {
                throw CLIError.Message(text: "\(checkpoint) is not a Strongroom audit checkpoint", code: CLIError.refused)
            }
            external = parsed
        }
        var key: VaultPublicKey?
        if let publicKey {
            guard let bytes = try? DurableFile.read(publicKey), let parsed = VaultPublicKey(text: String(decoding: bytes, as: UTF8.self)) else {
                throw CLIError.Message(text: "\(publicKey) is not a Strongroom public key", code: CLIError.refused)
            }
            key = parsed
        }
        let report = try vault.audit.verifyLog(publicKey: key, externalCheckpoint: external, witness: witness, by: options.caller)
        if options.json {
            var out: [String: Any] = [
                "intact": report.isIntact, "events": report.eventCount, "rootHash": report.rootHash,
                "unsignedTail": report.unsignedTail,
                "problems": report.problems.map { p -> [String: Any] in
                    var d: [String: Any] = ["kind": p.kind.rawValue, "detail": p.detail]
                    if let s = p.sequence { d["seq"] = s }
                    return d
                },
            ]
            if let first = report.firstBadSequence { out["firstBadSeq"] = first }
            Output.json(out)
        } else {
            for p in report.problems { Output.line("\(p.kind.rawValue): \(p.detail)") }
            if report.isIntact {
                Output.line("audit log intact: \(report.eventCount) events, root \(report.rootHash)\(report.unsignedTail > 0 ? ", \(report.unsignedTail) newest events not yet under a signed checkpoint" : "")")
            } else {
                Output.line("audit log NOT intact\(report.firstBadSequence.map { ": first bad sequence number \($0)" } ?? "")")
            }
        }
        if !report.isIntact { throw ExitCode(CLIError.problemsFound) }
    }
}

struct AuditLog: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "log", abstract: "Print audit events (reading them is audited).")

    @OptionGroup var options: GlobalOptions
    @Option(help: "Only the events of this record.") var record: String?

    func run() throws {
        let events = try options.openVaultWithoutKeys().audit.log(record: record, by: options.caller)
        if options.json {
            Output.json(["events": events.map(Output.event)])
        } else {
            for e in events {
                let ids = [e.school, e.child, e.concern, e.record].map { $0 ?? "-" }.joined(separator: " ")
                Output.line("\(e.sequence)  \(Output.iso.string(from: e.time))  \(e.actor)  \(e.action)  \(e.outcome)  \(ids)  \(e.reason ?? "")")
            }
        }
    }
}

struct AuditCheckpoint: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint", abstract: "Write a freshly signed checkpoint to a file outside the store, for someone else to keep.")

    @OptionGroup var options: GlobalOptions
    @Option(name: .shortAndLong, help: "Where to write the checkpoint.") var output: String

    func run() throws {
        let vault = try options.openVault()
        // Checked before the checkpoint is signed and audited.
        let file = try OutputFile(output, mode: 0o644, replacing: true)
        let checkpoint = try vault.audit.checkpoint(by: options.caller)
        try file.write(try checkpoint.fileBytes())
        try file.commit()
        if options.json {
            Output.json(["treeSize": checkpoint.treeSize, "rootHash": checkpoint.rootHash, "output": output])
        } else {
            Output.line("checkpoint at \(checkpoint.treeSize) events written to \(output)")
        }
    }
}

struct AuditPublicKey: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "public-key", abstract: "Print the vault's Ed25519 public key (minisign format).")

    @OptionGroup var options: GlobalOptions
    @Option(name: .shortAndLong, help: "Also write it to this file.") var output: String?

    func run() throws {
        let key = try options.openVaultWithoutKeys().publicKey
        if let output { try OutputFile.write(Array(key.fileText.utf8), to: output, mode: 0o644, replacing: true) }
        if options.json {
            Output.json(["publicKey": key.minisignBase64, "keyId": Hex.encode(key.keyID)])
        } else {
            Output.line(key.minisignBase64)
        }
    }
}

struct AuditWitnessCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "witness",
        abstract: "Copy every signed checkpoint to a witness file outside the store (or show or turn off the witness).",
        discussion: """
            The witness is an append-only file on another volume (make it append-only with chattr +a). \
            Every process with the master key copies its checkpoints there, and refuses to sign over a \
            log that does not extend the witness's newest; audit verify checks the log against all of them.
            """)

    @OptionGroup var options: GlobalOptions
    @Argument(help: "The witness file (an absolute path outside the store).") var file: String?
    @Flag(help: "Stop copying checkpoints to the witness.") var off = false

    func validate() throws {
        if off && file != nil { throw ValidationError("give a witness file or --off, not both") }
    }

    func run() throws {
        if off {
            try options.openVault().audit.clearWitness(by: options.caller)
            options.json ? Output.json(["witness": NSNull()]) : Output.line("audit witness turned off")
            return
        }
        guard let file else {
            let path = try options.openVaultWithoutKeys().witnessPath
            options.json ? Output.json(["witness": path as Any? ?? NSNull()]) : Output.line(path.map { "audit witness: \($0)" } ?? "no audit witness is set")
            return
        }
        let absolute = file.hasPrefix("/") ? file : FileManager.default.currentDirectoryPath + "/" + file
        let (checkpoint, sameFileSystem) = try options.openVault().audit.setWitness(path: absolute, by: options.caller)
        if options.json {
            Output.json(["witness": absolute, "treeSize": checkpoint.treeSize, "sameFileSystem": sameFileSystem])
        } else {
            Output.line("audit witness: \(absolute) (checkpoint at \(checkpoint.treeSize) events written)")
            if sameFileSystem {
                Output.line("warning: the witness is on the same file system as the store; a lost or rolled-back disk takes both")
            }
        }
    }
}
