import Foundation
import Storage

/// How an account signs in, for `strongroom user list`: never a secret, a code or a credential id.
public struct SignInSummary: Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// A person, who signs in with factors.
        case person
        /// An integration, which calls with a bearer token.
        case integration
    }
    public var kind: Kind
    /// Each factor's kind and when it was added (recovery codes: one entry with how many are left).
    public var factors: [(kind: String, addedAt: Date)]
    /// Recovery codes not yet used.
    public var recoveryCodesLeft: Int
    /// Whether an enrolment link is waiting to be used.
    public var enrolmentPending: Bool
    public var lastSignIn: Date?

    public static func == (a: SignInSummary, b: SignInSummary) -> Bool {
        a.kind == b.kind && a.factors.map(\.kind) == b.factors.map(\.kind) && a.factors.map(\.addedAt) == b.factors.map(\.addedAt)
            && a.recoveryCodesLeft == b.recoveryCodesLeft && a.enrolmentPending == b.enrolmentPending && a.lastSignIn == b.lastSignIn
    }
}

extension Vault {
    func signInSummaries() throws -> [String: SignInSummary] {
        try vaulting {
            let enrolments = try catalog.enrolmentStates(nowMillis: nowMillis)
            let last = try catalog.lastSignIns()
            var out: [String: SignInSummary] = [:]
            for user in try catalog.users() {
                let factors = try catalog.factors(account: user.id)
                let listed = factors.filter { $0.kind != .recovery }.map { (kind: $0.kind.rawValue, addedAt: Date(millis: $0.createdAtMillis)) }
                out[user.id] = SignInSummary(
                    kind: enrolments[user.id] == nil ? .integration : .person, factors: listed,
                    recoveryCodesLeft: factors.filter { $0.kind == .recovery && $0.usedAtMillis == nil }.count,
                    enrolmentPending: enrolments[user.id] ?? false, lastSignIn: last[user.id].map(Date.init(millis:)))
            }
            return out
        }
    }
}
