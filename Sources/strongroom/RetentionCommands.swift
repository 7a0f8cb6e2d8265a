import ArgumentParser
import Foundation
import KeyManagement
import Storage
import Vault

struct ChildCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "child", abstract: "Facts about a child that retention depends on.", subcommands: [ChildSetDOB.self])
}

struct ChildSetDOB: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set-dob", abstract: "Record a child's date of birth; their records' review dates follow it.")
    @OptionGroup var options: GlobalOptions
    @Argument(help: "The child id.") var child: String
    @Argument(help: "Date of birth, YYYY-MM-DD.") var date: String
    @Option(help: "The school whose child this is (default: this child id in every school that has no date of birth of its own for it).")
    var school: String?

    func run() throws {
        let vault = try options.openVault()
        let count = try vault.lifecycle.setDateOfBirth(child: child, dob: date, school: school, by: options.caller)
        if options.json {
            Output.json(["child": child, "dob": date, "records": count])
        } else {
            Output.line("date of birth recorded; \(count) records re-dated")
        }
    }
}

struct RetentionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retention", abstract: "Retention review.", subcommands: [RetentionDueCommand.self])
}

struct RetentionDueCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "due", abstract: "List records whose retention has ended, per school (a review, never an automatic deletion).")
    @OptionGroup var options: GlobalOptions
    @Option(help: "The day to judge by, YYYY-MM-DD (default: today).") var asOf: String?
    @Option(help: "Only this school.") var school: String?

    func run() throws {
        let vault = try options.openVault()
        let due = try vault.lifecycle.retentionDue(asOf: asOf, school: school, by: options.caller)
        if options.json {
            // Codable, not JSONSerialization: a due list can hold tens of thousands of records.
            try Output.encodable(DueListJSON(asOf: asOf ?? CivilDate(Date()).text, schools: due.map(DueListJSON.School.init)))
        } else {
            if due.isEmpty { Output.line("nothing is due") }
            for group in due {
                Output.line("\(group.school): \(group.records.count) due")
                for r in group.records {
                    Output.line("  \(r.id)\t\(r.reviewOn)\t\(r.child)\t\(r.kind)\t\(r.category)\(r.held ? "\theld" : "")")
                }
            }
        }
    }
}

struct DueListJSON: Encodable {
    struct Item: Encodable {
        var id, child, concern, kind, category, createdAt, reviewOn: String
        var held: Bool
    }
    struct School: Encodable {
        var school: String
        var count: Int
        var records: [Item]
        init(_ group: RetentionDue) {
            school = group.school
            count = group.records.count
            records = group.records.map { r in
                Item(id: r.id, child: r.child, concern: r.concern, kind: r.kind, category: r.category,
                     createdAt: Output.isoUTC(millis: r.createdAtMillis),
                     reviewOn: r.reviewOn, held: r.held)
            }
        }
    }
    var asOf: String
    var schools: [School]
}

extension Output {
    /// `YYYY-MM-DDTHH:MM:SS.mmmZ` without a DateFormatter (a due list formats tens of thousands).
    static func isoUTC(millis: Int64) -> String {
        var seconds = time_t(millis / 1000)
        var t = tm()
        gmtime_r(&seconds, &t)
        func pad(_ v: Int32, _ width: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(t.tm_year + 1900, 4))-\(pad(t.tm_mon + 1, 2))-\(pad(t.tm_mday, 2))T\(pad(t.tm_hour, 2)):\(pad(t.tm_min, 2)):\(pad(t.tm_sec, 2)).\(pad(Int32(millis % 1000), 3))Z"
    }

    static func encodable<T: Encodable>(_ value: T) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        FileHandle.standardOutput.write(try encoder.encode(value) + Data("\n".utf8))
    }

    static func hold(_ h: Hold) -> [String: Any] {
        var out: [String: Any] = [
            "id": h.id, "school": h.school, "scope": h.scope.rawValue, "target": h.target, "reason": h.reason,
            "placedBy": h.placedBy, "placedAt": iso.string(from: Date(timeIntervalSince1970: Double(h.placedAtMillis) / 1000)),
            "active": h.isActive,
        ]
        if let by = h.releasedBy { out["releasedBy"] = by }
        if let reason = h.releaseReason { out["releaseReason"] = reason }
        if let by = h.releaseRequestedBy, let at = h.releaseRequestedAtMillis {
            out["releaseRequest"] = [
                "requestedBy": by, "requestedRole": h.releaseRequestedRole ?? "", "reason": h.releaseRequestReason ?? "",
                "requestedAt": iso.string(from: Date(timeIntervalSince1970: Double(at) / 1000)),
                "expiresAt": iso.string(from: Date(timeIntervalSince1970: Double(at) / 1000 + Double(HoldReleasePolicy.requestLifetimeDays) * 86_400)),
            ]
        }
        return out
    }

    /// Prints a certificate, or writes it to `file` (opened before the shred or look-up, so that a
    /// path that cannot be written is refused before anything is done).
    static func certificate(_ certificate: CertificateOfDestruction, to file: OutputFile?) throws {
        let bytes = try certificate.fileBytes()
        if let file {
            try file.write(bytes)
            try file.commit()
            Output.line("certificate written to \(file.path) (\(certificate.records.count) records)")
        } else {
            FileHandle.standardOutput.write(Data(bytes))
        }
    }
}
