import Foundation
import KeyManagement
import Storage
import Vault

enum Output {
    static func json(_ value: Any) {
        let data = (try? JSONSerialization.data(withJSONObject: value, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data("null".utf8)
        FileHandle.standardOutput.write(data + Data("\n".utf8))
    }

    static func line(_ text: String) { print(text) }

    static func error(_ text: String) { FileHandle.standardError.write(Data(("strongroom: " + text + "\n").utf8)) }

    static var stderrIsTerminal: Bool { isatty(2) == 1 }

    /// A warning on stderr, always (also with --json, whose stdout stays one document).
    static func warning(_ text: String) {
        FileHandle.standardError.write(Data("strongroom: warning: \(text)\n".utf8))
    }

    /// Progress on stderr, only when a person is watching.
    static func progress(_ text: String) {
        guard stderrIsTerminal else { return }
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + text).utf8))
    }

    static func endProgress() { if stderrIsTerminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) } }

    nonisolated(unsafe) static let iso: ISO8601DateFormatter = {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return f
    }()

    static func record(_ r: EvidenceRecord) -> [String: Any] {
        var out: [String: Any] = [
            "id": r.id, "school": r.school, "child": r.child, "concern": r.concern, "kind": r.kind,
            "filename": r.filename, "sniffedType": r.sniffedType, "size": r.size, "sha256": r.sha256,
            "ciphertextBlake2b": r.ciphertextBlake2b, "ciphertextSize": r.ciphertextSize,
            "createdAt": iso.string(from: r.createdAt), "createdBy": r.createdBy, "kekId": r.kekID,
            "formatVersion": r.formatVersion, "category": r.category, "reviewOn": r.reviewOn,
        ]
        if let d = r.declaredType { out["declaredType"] = d }
        return out
    }

    static func event(_ e: AuditEvent) -> [String: Any] {
        var out: [String: Any] = [
            "seq": e.sequence, "time": iso.string(from: e.time), "actor": e.actor, "action": e.action,
            "outcome": e.outcome, "hash": Hex.encode(e.hash), "prevHash": Hex.encode(e.previousHash),
        ]
        for (k, v) in [("school", e.school), ("child", e.child), ("concern", e.concern), ("record", e.record), ("reason", e.reason)] {
            if let v { out[k] = v }
        }
        return out
    }
}
