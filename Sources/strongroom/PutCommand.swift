import ArgumentParser
import Foundation
import Vault

struct PutCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "put", abstract: "Store a file as evidence; prints the new record's id.")

    @OptionGroup var options: GlobalOptions

    @Argument(help: "The file to store ('-' for standard input).")
    var file: String

    @Option(help: "School id.") var school: String
    @Option(help: "Child id (an opaque id, never a name).") var child: String
    @Option(help: "Concern id.") var concern: String
    @Option(help: "Kind of evidence: \(TypePolicy.kinds.joined(separator: ", ")).") var kind: String
    @Option(help: "The type the file claims to be (MIME); refused if the content disagrees.") var declaredType: String?
    @Option(help: "The filename to record (default: the file's name).") var filename: String?
    @Option(help: "Retention category: \(RetentionPolicy.categories.joined(separator: ", ")).") var category = RetentionPolicy.defaultCategory
    @Option(help: "This PDF is a redacted copy of that record (an office document); bundles share it in its place.") var derivedFrom: String?

    func validate() throws {
        if file == "-" && options.passphraseStdin {
            throw ValidationError("standard input cannot carry both the file and the passphrase")
        }
    }

    func run() throws {
        let vault = try options.openVault()
        let fd: Int32 = file == "-" ? 0 : open(file, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw CLIError.Message(text: "cannot read \(file): \(String(cString: strerror(errno)))", code: CLIError.notFound)
        }
        defer { if fd != 0 { close(fd) } }
        var request = PutRequest(
            school: school, child: child, concern: concern, kind: kind,
            filename: filename ?? (file == "-" ? "stdin" : file), declaredType: declaredType)
        request.category = category
        request.derivedFrom = derivedFrom
        let record: EvidenceRecordSummary
        do {
            let r = try vault.records.put(from: fd, request, by: options.caller) { Output.progress("stored \($0 >> 20) MiB") }
            Output.endProgress()
            record = EvidenceRecordSummary(id: r.id, sniffedType: r.sniffedType, size: r.size, sha256: r.sha256)
        } catch let error as VaultError {
            // The path is the operator's own input, echoed on their terminal; it is never logged.
            if case .refused = error {
                throw CLIError.Message(text: "refused \(file): \(error.description.dropFirst("refused: ".count))", code: CLIError.code(error))
            }
            throw error
        }
        if options.json {
            Output.json(["id": record.id, "sniffedType": record.sniffedType, "size": record.size, "sha256": record.sha256])
        } else {
            Output.line(record.id)
        }
    }
}

struct EvidenceRecordSummary {
    var id: String
    var sniffedType: String
    var size: Int64
    var sha256: String
}
