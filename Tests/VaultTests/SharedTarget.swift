import Foundation
import KeyManagement
@testable import Storage
import TestSupport
import XCTest
@testable import Vault

/// An empty PostgreSQL database and bucket prefix of its own (the servers Scripts/test.sh
/// starts), for a store to be moved, restored or created on. Skips without them, fails under
/// CI=true. Dropped and emptied by `remove()`.
final class SharedTarget {
    let database: PostgresTestDatabase
    let blobs: S3Location
    let credentials: S3Credentials

    init() throws {
        (blobs, credentials) = try TestServers.s3(prefix: "move")
        database = try PostgresTestDatabase()
    }

    /// `migrate`'s request for moving `source` here, opened with `masterKey`.
    func migration(from source: StoreLayout, masterKey: String) -> Vault.MigrationRequest {
        Vault.MigrationRequest(
            source: source, metadata: database.location, password: database.password, blobs: blobs, credentials: credentials,
            master: .keyFile(masterKey), by: .operator("test:migrate"))
    }

    /// Options that open (or create) the store kept here.
    var options: Vault.Options {
        var options = Vault.Options()
        options.metadata = .postgres(database.location, password: database.password)
        options.blobs = .objectStore(blobs, credentials)
        return options
    }

    var objects: S3BlobStore { S3BlobStore(client: S3Client(location: blobs, credentials: credentials)) }

    /// Drops the database and removes every object and version under the prefix.
    func remove() {
        database.drop()
        let objects = self.objects
        let keys = ((try? objects.client.listObjects(prefix: blobs.prefix)) ?? []).map(\.key)
        for key in keys { try? objects.client.deleteObject(key: key) }
        _ = try? objects.client.removeVersions(of: keys)
    }
}
