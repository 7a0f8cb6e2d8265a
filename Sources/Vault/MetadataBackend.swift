import Foundation
import KeyManagement
import Storage

/// Where a store keeps its catalog (records, wrapped data keys, accounts, the audit log): the
/// embedded SQLite database in the store folder (the default), or a PostgreSQL database that
/// several nodes share, with the key store and the deletion ledger (docs/storage-postgres.md).
/// Chosen at `init`. A store in PostgreSQL has no store folder: its blobs are in an object store
/// and its master key file is named on every command.
public enum MetadataBackend: Sendable {
    case embedded
    /// The password comes from `PGPASSWORD` or `~/.pgpass`, never the address.
    case postgres(PostgresLocation, password: String?)

    func create(layout: StoreLayout, vaultID: String, options: Vault.Options) throws -> any Catalog {
        switch self {
        case .embedded:
            return try SQLiteCatalog.create(path: layout.metadata, vaultID: vaultID, clock: options.clock)
        case .postgres(let location, let password):
            return try PostgresCatalog.create(location: location, password: password, vaultID: vaultID, clock: options.clock)
        }
    }

    func open(layout: StoreLayout, vaultID: String, options: Vault.Options, witness: AuditWitness?) throws -> any Catalog {
        switch self {
        case .embedded:
            var catalogOptions = options.catalog
            catalogOptions.witness = witness
            return try SQLiteCatalog.open(path: layout.metadata, vaultID: vaultID, clock: options.clock, options: catalogOptions)
        case .postgres(let location, let password):
            var catalogOptions = PostgresCatalog.Options()
            catalogOptions.witness = witness
            return try PostgresCatalog.open(location: location, password: password, vaultID: vaultID, clock: options.clock, options: catalogOptions)
        }
    }
}
