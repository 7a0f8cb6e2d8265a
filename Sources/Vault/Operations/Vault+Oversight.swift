import Foundation

extension Vault {
    /// Counts by school and month for those who answer for a school's safeguarding.
    public var oversight: Oversight { Oversight(vault: self) }

    /// Counts by school and month for those who answer for a school's safeguarding.
    public struct Oversight: Sendable {
        let vault: Vault

        /// The caller's schools' counts (of `school` when given) from month `from` to month `to`
        /// (`YYYY-MM`, both included; default the last 12 months). Counts of 1 to 4 come back as
        /// `.fewerThanFive`, never as the number. Audited as `oversight-view`.
        public func counts(from: String? = nil, to: String? = nil, school: String? = nil, by caller: Caller) throws -> OversightReport {
            try vault.oversight(from: from, to: to, school: school, by: caller)
        }
    }
}
