import Foundation

/// Removing every version of an object, for buckets with versioning (which Object Lock turns
/// on), where a plain delete only hides the object behind a delete marker. Used for blobs
/// (`S3BlobStore`) and shared files (`S3SharedFiles`) alike.
extension S3Client {
    /// Removes every version and delete marker of `keys` that the store lets go; returns how many
    /// versions an Object Lock kept.
    @discardableResult
    func removeVersions(of keys: [String]) throws -> Int {
        var versions: [S3Client.ObjectVersion] = []
        do {
            // A prefix list finds `<key>` and any key it prefixes; keep the exact key only.
            for k in keys { versions += try listObjectVersions(prefix: k).filter { $0.key == k } }
        } catch S3Error.server(501, _) {
            return 0  // a store without versions: the plain delete removed the object
        }
        return try purge(versions)
    }

    /// Deletes the data versions first, then the delete markers of keys with no version left: a
    /// key whose version the lock keeps keeps its marker too, so it stays unreachable.
    func purge(_ versions: [S3Client.ObjectVersion]) throws -> Int {
        let data = versions.filter { !$0.isDeleteMarker }
        let refused = try deleteObjects(data.map { (key: $0.key, versionID: Optional($0.versionID)) })
        if let other = refused.first(where: { !Self.isLockRefusal($0.code) }) {
            throw S3Error.server(status: 200, code: other.code)
        }
        let kept = Set(refused.map(\.key))
        let markers = versions.filter { $0.isDeleteMarker && !kept.contains($0.key) }
        let markerFailures = try deleteObjects(markers.map { (key: $0.key, versionID: Optional($0.versionID)) })
        if let first = markerFailures.first { throw S3Error.server(status: 200, code: first.code) }
        return refused.count
    }

    /// The codes S3 stores give for "this version is locked".
    static func isLockRefusal(_ code: String) -> Bool {
        code == "AccessDenied" || code == "ObjectLocked"
    }
}
