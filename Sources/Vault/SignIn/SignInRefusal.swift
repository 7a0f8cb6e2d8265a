/// Why enrolment or sign-in was refused, in words a person can act on. A failed sign-in never
/// says which part was wrong (name, passphrase, code or passkey): that would tell a guesser
/// which half they have.
public enum SignInRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    /// The enrolment link does not exist, has been used, or has expired.
    case enrolmentUnusable
    /// The enrolment link is for a role a second person must agree to, who has not yet.
    case enrolmentAwaitingApproval
    /// The passphrase breaks a rule (the text says which).
    case weakPassphrase(String)
    /// The code from the authenticator app is not the current one (while enrolling).
    case wrongCode
    /// The passkey could not be registered (the text says why, without any of its bytes).
    case passkeyRefused(String)
    /// Wrong name, passphrase, code, recovery code or passkey.
    case failed
    /// Too many failed attempts from this person or address: try again after `seconds`.
    case slowDown(seconds: Int)
    /// The session has ended (signed out, timed out, or the person was reset or revoked).
    case sessionEnded

    public var description: String {
        switch self {
        case .enrolmentUnusable: "this enrolment link cannot be used: it is unknown, has been used or has expired; ask your administrator for a new one"
        case .enrolmentAwaitingApproval: "this link is waiting for approval: a second person (a DSL or another administrator of your school) must agree to your role first; try the link again once they have"
        case .weakPassphrase(let why): why
        case .wrongCode: "that code is not the one your authenticator app shows now; enter the current 6-digit code"
        case .passkeyRefused(let why): "the passkey could not be registered: \(why)"
        case .failed: "the name, passphrase and code (or passkey) do not match an account"
        case .slowDown(let seconds): "too many failed attempts; try again in \(seconds) seconds"
        case .sessionEnded: "your session has ended; sign in again"
        }
    }
}
