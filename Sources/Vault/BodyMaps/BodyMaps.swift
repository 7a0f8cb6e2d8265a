import Foundation
import KeyManagement
import Storage

/// Body maps: a member of staff marks where an injury was seen on an outline of a child's body;
/// the vault draws the picture itself (no photograph of a child is needed) and stores it as a
/// `body-map` record, the marks inside it, through the same path and checks as any upload.
extension Vault {
    /// Draws `marks` and stores the drawing in `school`/`child`/`concern` as a body-map record
    /// for `caller` (who needs the upload grant there).
    func saveBodyMap(school: String, child: String, concern: String, marks: [BodyMark], by caller: Caller) throws -> EvidenceRecord {
        let clean = try BodyMark.validated(marks)
        let png = try BodyMapPNG.embed(clean, in: try vaulting { try BodyMapDrawing.png(clean) })
        let session = try beginPut(PutRequest(
            school: school, child: child, concern: concern, kind: "body-map", filename: "body-map.png", declaredType: "image/png"), by: caller)
        do {
            try png.withUnsafeBytes { try session.write($0) }
            return try session.finish()
        } catch {
            session.abort()
            throw error
        }
    }

    /// The marks of a body map drawn here, for someone who may look at its content (audited as a
    /// `view`); `noPreview` for a record that is not one.
    func bodyMapMarks(id: String, by caller: Caller) throws -> [BodyMark] {
        let record = try record(id: id, by: caller, for: .preview)
        guard record.kind == "body-map", record.sniffedType == "image/png", record.size <= 8 << 20 else {
            throw VaultError.noPreview("this record is not a body map drawn in Strongroom")
        }
        let keys = try requireKeys("reading a body map")
        var bytes = try vaulting { () -> [UInt8] in
            let reader = try openRecord(record, keys: keys) { [self] error in
                _ = try? audit(event(record, actor: caller.actor, action: .view, outcome: .failed, reason: "\(error)"))
            }
            try audit(event(record, actor: caller.actor, action: .view, outcome: .ok, reason: "marks"))
            var bytes: [UInt8] = []
            while try reader.next({ bytes += $0 }) {}
            return bytes
        }
        defer { bytes.wipe() }
        guard let marks = BodyMapPNG.marks(in: bytes) else {
            throw VaultError.noPreview("this body map was not drawn in Strongroom: it carries no list of marks")
        }
        return marks
    }
}
