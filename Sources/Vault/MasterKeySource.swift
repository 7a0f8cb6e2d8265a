import KeyManagement

/// Where the master key comes from when a store is created or opened.
public enum MasterKeySource: Sendable {
    /// A key file (created by init; must be mode 0600). nil: the store's keys/master.key.
    case keyFile(String?)
    /// A passphrase in guarded memory; Argon2id parameters come from the key store.
    case passphrase(SecretBytes, cost: PassphraseKDFParameters.Cost = .moderate)
    /// Any other provider (an HSM, a test double).
    case provider(any MasterKeyProvider)
}
