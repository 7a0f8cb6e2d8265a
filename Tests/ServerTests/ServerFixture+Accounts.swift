import Foundation
@testable import Vault

extension ServerFixture {
    /// How `user` (added with `addUser`) appears in audit events and as a creator: their name and
    /// their account's id, as the server sees them once signed in.
    func actor(_ user: String) throws -> String {
        guard let token = tokens[user], let principal = try vault.users.authenticate(token: token) else {
            throw VaultError.notFound("no signed-in user \(user)")
        }
        return principal.actor.description
    }
}
