import Foundation
import KeyManagement
import Storage

/// Where a store keeps its encrypted blobs: files under the store folder (the default), or an
/// S3-compatible object store (docs/storage-s3.md) while the catalog stays in the store folder.
/// The choice is made at `init` and recorded in the catalog: a store is never opened against
/// the other kind, or another bucket, where its blobs would all look missing.
public enum BlobBackend: Sendable {
    case files
    case objectStore(S3Location, S3Credentials)

    /// What the catalog records: `files`, or `s3://BUCKET/PREFIX` (never the endpoint, which may
    /// move, nor any credential).
    var identity: String {
        switch self {
        case .files: "files"
        case .objectStore(let location, _): "s3://\(location.bucket)/\(location.prefix)"
        }
    }

    func store(layout: StoreLayout, fileOps: any FileOps, clock: @escaping @Sendable () -> Date) -> any BlobStore {
        switch self {
        case .files: FileBlobStore(root: layout.blobs, ops: fileOps)
        case .objectStore(let location, let credentials): S3BlobStore(client: S3Client(location: location, credentials: credentials), clock: clock)
        }
    }

    /// Where released bundles and sent transfer packages go: beside the blobs, so that with an
    /// object store every node serving the store reads them (`STORE/bundles/`, `STORE/transfers/`
    /// otherwise).
    /// (Requests are signed at the real time, never the vault's clock, which tests move.)
    func sharedFiles(layout: StoreLayout) -> any SharedFiles {
        switch self {
        case .files: FolderSharedFiles(root: layout.root)
        case .objectStore(let location, let credentials): S3SharedFiles(client: S3Client(location: location, credentials: credentials))
        }
    }

    static let settingKey = "blobs"

    /// Refuses a backend other than the one the store was created with.
    static func check(recorded: String?, given: BlobBackend) throws {
        let recorded = recorded ?? "files"
        guard recorded == given.identity else {
            if recorded == "files" {
                throw VaultError.misconfigured("this store keeps its blobs in its own folder; open it without --blobs (or STRONGROOM_BLOBS)")
            }
            throw VaultError.misconfigured(
                "this store keeps its blobs in the object store \(recorded): open it with --blobs (or STRONGROOM_BLOBS) naming that bucket and prefix")
        }
    }
}
