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

extension ServerFixture {
    /// A request with a JSON body (or none), as `user`'s bearer token.
    func json(_ method: String, _ path: String, user: String?, _ body: [String: Any]? = nil) async throws -> HTTPReply {
        let bytes = try body.map { Array(try JSONSerialization.data(withJSONObject: $0)) }
        return try await request(method, path, user: user, headers: bytes == nil ? [:] : ["Content-Type": "application/json"], body: bytes)
    }
}
