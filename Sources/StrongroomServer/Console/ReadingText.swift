import Foundation
import Storage

/// How the reading pages word the vault's values for safeguarding staff: kinds, file types,
/// sizes, dates, people and audit actions in plain English. Nothing here adds data: each
/// function only rewords what the record or event already holds.
enum ReadingText {
    static func kind(_ kind: String) -> String {
        switch kind {
        case "body-map": "Body map"
        case "disclosure": "Disclosure"
        case "document": "Document"
        case "minutes": "Minutes"
        default: kind.prefix(1).uppercased() + kind.dropFirst()
        }
    }

    static func fileType(_ mime: String) -> String {
        switch mime {
        case "application/pdf": "PDF"
        case "image/jpeg": "JPEG image"
        case "image/png": "PNG image"
        case "image/heic", "image/heif": "HEIC photo"
        case "image/webp": "WebP image"
        case "text/plain": "Text"
        case "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word document"
        case "audio/mpeg": "MP3 audio"
        case "audio/mp4", "audio/x-m4a": "M4A audio"
        default: mime
        }
    }

    static func size(_ bytes: Int64) -> String {
        switch bytes {
        case ..<1024: return bytes == 1 ? "1 byte" : "\(bytes) bytes"
        case ..<(1024 * 1024): return "\(Int((Double(bytes) / 1024).rounded())) KB"
        default: return String(format: "%.1f MB", Double(bytes) / 1024 / 1024)
        }
    }

    /// "2031-08-31" as "31 August 2031"; anything else as it is.
    static func day(_ iso: String) -> String {
        let parser = DateFormatter()
        parser.locale = Locale(identifier: "en_US_POSIX")
        parser.timeZone = TimeZone(identifier: "UTC")
        parser.dateFormat = "yyyy-MM-dd"
        guard let date = parser.date(from: iso) else { return iso.isEmpty ? "Not set" : iso }
        let out = DateFormatter()
        out.locale = Locale(identifier: "en_GB")
        out.timeZone = TimeZone(identifier: "UTC")
        out.dateFormat = "d MMMM yyyy"
        return out.string(from: date)
    }

    static func time(millis: Int64) -> String { ConsoleDate.text(Date(timeIntervalSince1970: Double(millis) / 1000)) }

    /// A record's `createdBy` or an event's actor: "user:jo.smith#1a2b3c4d" as "jo.smith".
    static func person(_ actor: String) -> String {
        guard actor.hasPrefix("user:") else { return actor }
        let name = actor.dropFirst("user:".count)
        return String(name.split(separator: "#", maxSplits: 1).first ?? name)
    }

    static func action(_ action: String) -> String {
        switch AuditAction(rawValue: action) {
        case .put: "Added"
        case .get: "Downloaded"
        case .show: "Looked at its details"
        case .view: "Previewed"
        case .list: "Listed"
        case .auditTrail: "Read this audit trail"
        case .hold, .holdPlace: "Legal hold placed"
        case .holdRelease: "Legal hold released"
        case .holdReleaseRequest: "Release of legal hold asked for"
        case .share, .bundleCreate: "Chosen for sharing"
        case .bundleApprove: "Sharing approved"
        case .bundleRelease: "Shared"
        case .shredRequest: "Shredding asked for"
        case .shredApprove: "Shredding approved"
        case .shred: "Shredded"
        case .stepUp: "Asked to confirm it is them"
        case .setDOB: "Review date changed"
        default: action
        }
    }

    static func outcome(_ outcome: String) -> String {
        switch outcome {
        case "ok": "Done"
        case "denied": "Refused"
        case "failed": "Failed"
        case "refused": "Refused"
        default: outcome
        }
    }
}
