import Foundation
import KeyManagement
import Storage

/// A snapshot the live store's audit log records as taken into a backup folder that is no
/// longer in it, and that no `backup prune` removed: deleted behind Strongroom's back.
public struct MissingSnapshot: Sendable, Codable, Equatable {
    public var snapshot: String
    /// When it was taken (UTC, to the millisecond), read from its id.
    public var takenAt: String
}

/// What the live store's audit log says about a backup folder (docs/backup.md, "The store's
/// log"). Someone who can write the backup folder but not the store can delete the newest
/// snapshot and the blobs only it lists: every remaining file still matches its signed
/// manifest, and a restore would silently bring back an older state. The store's log, which
/// that person cannot change, says which snapshots were taken; compared with the folder, such a
/// deletion is named.
///
/// Every `backup create` appends a `backup-create` event, and every removal of a snapshot by
/// Strongroom (`backup prune`, `--discard`, a backup that failed after its event) a
/// `backup-prune` event, whose reason begins `snapshot <id> in backup folder <folder id>: `.
struct BackupLog {
    static let createAction = AuditAction.backupCreate
    static let pruneAction = AuditAction.backupPrune

    struct Reference: Equatable {
        var snapshot: String
        var folder: String
    }

    /// Snapshots taken, in log order.
    let taken: [Reference]
    /// Snapshots removed by Strongroom (in any folder: ids are unique).
    let removed: Set<String>

    /// Reads the backup events of a store's log (no key needed).
    init(catalog: any Catalog) throws {
        taken = try vaulting { try catalog.auditReasons(action: Self.createAction.rawValue) }.compactMap(Self.parse)
        removed = Set(try vaulting { try catalog.auditReasons(action: Self.pruneAction.rawValue) }.compactMap(Self.parse).map(\.snapshot))
    }

    /// The reason of a backup event: `snapshot <id> in backup folder <folder id>: <detail>`.
    static func reason(snapshot: String, folder: String, _ detail: String) -> String {
        "snapshot \(snapshot) in backup folder \(folder): \(detail)"
    }

    /// The snapshot and folder a backup event's reason names; nil for any other reason (events
    /// written before folders had ids name no folder, and are not compared).
    static func parse(_ reason: String) -> Reference? {
        let words = reason.split(separator: " ", maxSplits: 5, omittingEmptySubsequences: false)
        guard words.count == 6, words[0] == "snapshot", words[2] == "in", words[3] == "backup", words[4] == "folder",
              isSnapshotID(words[1]) else { return nil }
        let folder = words[5].prefix(33)
        guard folder.count == 33, folder.last == ":", BlobKey(hex: folder.dropLast().utf8) != nil else { return nil }
        return Reference(snapshot: String(words[1]), folder: String(folder.dropLast()))
    }

    /// `yyyyMMddTHHmmss.SSSZ-xxxxxx` (`Vault.backupID`): UTC time to the millisecond, 6 hex digits.
    static func isSnapshotID<S: StringProtocol>(_ id: S) -> Bool {
        let b = Array(id.utf8)
        let digit = { (c: UInt8) in (48...57).contains(c) }
        let hex = { (c: UInt8) in digit(c) || (97...102).contains(c) }
        guard b.count == 27 else { return false }
        return b[0..<8].allSatisfy(digit) && b[8] == UInt8(ascii: "T") && b[9..<15].allSatisfy(digit) && b[15] == UInt8(ascii: ".")
            && b[16..<19].allSatisfy(digit) && b[19] == UInt8(ascii: "Z") && b[20] == UInt8(ascii: "-") && b[21...].allSatisfy(hex)
    }

    /// `2026-11-26T05:15:02.123Z` from a snapshot id.
    static func takenAt(_ id: String) -> String {
        let c = Array(id)
        return "\(String(c[0..<4]))-\(String(c[4..<6]))-\(String(c[6..<8]))T\(String(c[9..<11])):\(String(c[11..<13])):\(String(c[13..<15])).\(String(c[16..<19]))Z"
    }

    /// Snapshots the log records as taken into this folder that are neither in it (`present`:
    /// the names under `snapshots/`) nor removed by Strongroom. The folder is known by its
    /// `folder-id` file and by the folder ids the log gives for the snapshots still in it, so
    /// changing or deleting that file does not hide a deletion while one snapshot remains.
    func missing(present: Set<String>, folderID: String?) -> [MissingSnapshot] {
        var folders = Set(taken.filter { present.contains($0.snapshot) }.map(\.folder))
        if let folderID { folders.insert(folderID) }
        var seen = Set<String>()
        return taken.filter { folders.contains($0.folder) && !present.contains($0.snapshot) && !removed.contains($0.snapshot) }
            .filter { seen.insert($0.snapshot).inserted }
            .map { MissingSnapshot(snapshot: $0.snapshot, takenAt: Self.takenAt($0.snapshot)) }
    }
}

extension Vault {
    /// The snapshots this store's audit log records as taken into the backup folder at
    /// `directory` that are not in it and that no `backup prune` removed, oldest first. Keyless
    /// and read-only: nothing is written to the store or the folder. Refuses a folder whose
    /// snapshots (those in `manifests`, already loaded) belong to another vault.
    func missingBackupSnapshots(_ repo: BackupRepository, manifests: [BackupManifest]) throws -> [MissingSnapshot] {
        if let foreign = manifests.first(where: { $0.vaultID != vaultID }) {
            throw VaultError.backup("snapshot \(foreign.snapshot) is of vault \(foreign.vaultID), but the store given is vault \(vaultID); give the store the backups were taken from")
        }
        let log = try BackupLog(catalog: catalog)
        // A damaged folder-id file is named by verify; the snapshots' own events still name the folder.
        let folderID = (try? repo.folderID()) ?? nil
        return log.missing(present: Set(try repo.snapshotIDs()), folderID: folderID)
    }

    /// The one sentence verify and restore use for a missing snapshot.
    static func describeMissing(_ missing: MissingSnapshot) -> String {
        "snapshot \(missing.snapshot), taken at \(missing.takenAt), is recorded in the store's audit log but is not in the backup folder, and no backup prune removed it"
    }

    /// Appends backup events (several at once: one prune removes several snapshots).
    func auditBackup(_ entries: [AuditEntry]) throws {
        guard !entries.isEmpty else { return }
        try timedAudit { try vaulting { _ = try catalog.append(entries, signer: signer) } }
    }
}
