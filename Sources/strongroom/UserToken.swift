import ArgumentParser
import Foundation
import Vault

/// Commands a person does in their own name (holds, shreds) take their bearer token, so the
/// two-person rule and school scoping hold at the CLI exactly as over HTTP.
struct UserTokenOptions: ParsableArguments {
    @Option(name: .long, help: "A file holding your bearer token (default: $STRONGROOM_TOKEN).")
    var tokenFile: String?

    /// The token's account as the caller: an integration (a token, no second factor).
    func caller(in vault: Vault) throws -> Caller {
        .integration(try principal(in: vault))
    }

    func principal(in vault: Vault) throws -> Principal {
        let token: String
        if let tokenFile {
            guard let text = try? String(contentsOfFile: tokenFile, encoding: .utf8) else {
                throw CLIError.Message(text: "cannot read the token file \(tokenFile)", code: CLIError.notFound)
            }
            token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        } else if let env = ProcessInfo.processInfo.environment["STRONGROOM_TOKEN"], !env.isEmpty {
            token = env.trimmingCharacters(in: .whitespacesAndNewlines)
        } else {
            throw CLIError.Message(text: "this command acts in a user's name: pass --token-file FILE or set STRONGROOM_TOKEN", code: CLIError.config)
        }
        guard let principal = try vault.users.authenticate(token: token) else {
            try vault.audit.recordAuthenticationFailure(request: "cli", reason: "unknown or revoked token")
            throw CLIError.Message(text: "the token is unknown or revoked", code: CLIError.keyProblem)
        }
        return principal
    }
}
