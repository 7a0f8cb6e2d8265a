import Foundation
import KeyManagement
import Storage

/// This vault's own transfer cards, and each school's directory of other schools' pinned cards.
extension Vault {
    /// The card of `school` (nil: the only school this vault names), for anyone: it holds only
    /// public keys. Needs the master key, which holds the transfer key.
    func transferCard(school: String?) throws -> SchoolCard {
        let keys = try requireKeys("a transfer card")
        let names = try vaulting { try catalog.transferNames() }
        let chosen: String
        if let school {
            chosen = school
        } else if names.count == 1, let only = names.keys.first {
            chosen = only
        } else {
            throw VaultError.invalidArgument(names.isEmpty
                ? "this vault publishes no transfer card yet: the operator names a school with strongroom transfer card --school ID --name NAME"
                : "this vault serves several schools: name one with ?school=ID")
        }
        guard let name = names[chosen] else {
            throw VaultError.notFound("transfer card of school \(LogText.escape(String(chosen.prefix(64))))")
        }
        return try card(school: chosen, name: name, keys: keys)
    }

    func card(school: String, name: String, keys: KeyStore) throws -> SchoolCard {
        let transfer = try vaulting { try keys.transferKey() }
        let signer = try vaulting { try keys.auditSigner() }
        return SchoolCard(school: school, name: name, ageRecipient: AgeRecipient.text(publicKey: transfer.publicKey),
                          signingKey: signer.publicKey.minisignBase64)
    }

    /// Names `school` on its card (the operator, at the CLI), audited, and returns the card.
    func nameTransferSchool(school: String, name: String, by caller: Caller) throws -> SchoolCard {
        try requireOperator(caller, .transferCard)
        let keys = try requireKeys("naming a school on its transfer card")
        try vaulting { try OpaqueID.validate(school, field: "school id") }
        try SchoolCard.validateName(name)
        if try vaulting({ try catalog.transferNames() })[school] != name {
            try vaulting {
                try catalog.setTransferName(
                    school: school, name: name,
                    event: AuditEntry(actor: caller.actor, action: .transferCard, outcome: .ok, school: school,
                                      reason: "the school's name on its transfer card was set"),
                    signer: try keys.auditSigner())
            }
        }
        return try card(school: school, name: name, keys: keys)
    }

    /// Pins another school's card in `owner`'s directory, after the fingerprint the other DSL read
    /// out matches the card. A school already pinned with other keys (or another name) is refused
    /// unless `replace` says the new card was accepted explicitly.
    func trustSchool(owner: String, card: SchoolCard, fingerprint: String, replace: Bool, by caller: Caller) throws -> PinnedSchool {
        let principal = try principalOrOperator(.transfer, caller)
        let who = caller.actor
        if let principal {
            try requireSchool(.transfer, principal, school: owner)
            try requireRecentFactor(caller, for: "adding a school to the directory")
        } else {
            try vaulting { try OpaqueID.validate(owner, field: "school id") }
        }
        let keys = try requireKeys("adding a school to the directory")
        func refuse(_ why: String) throws -> Never {
            try audit(AuditEntry(actor: who, action: .schoolTrust, outcome: .refused, school: owner, reason: why))
            throw VaultError.conflict(why)
        }
        do { _ = try card.validated() } catch {
            try audit(AuditEntry(actor: who, action: .schoolTrust, outcome: .refused, school: owner, reason: "\(error)"))
            throw error
        }
        guard SchoolCard.digits(fingerprint) == SchoolCard.digits(card.fingerprint), !SchoolCard.digits(fingerprint).isEmpty else {
            try audit(AuditEntry(actor: who, action: .schoolTrust, outcome: .refused, school: owner,
                                 reason: "school \(card.school): the fingerprint read out does not match the card"))
            throw VaultError.invalidArgument(
                "the fingerprint you were given does not match this card: do not add it, and check with the other school's DSL")
        }
        guard card.school != owner else { try refuse("a school cannot add its own card") }
        let existing = try vaulting { try catalog.pinnedSchool(owner: owner, school: card.school) }
        if let existing {
            guard existing.verify(vaultID: vaultID, publicKey: publicKey) else {
                try refuse("the directory entry for school \(card.school) is not signed by this vault: it was changed outside Strongroom")
            }
            if existing.fingerprint == card.fingerprint { return existing }
            guard replace else {
                try refuse("school \(card.school) is already in the directory with other keys (fingerprint \(existing.fingerprint)); accept the new card explicitly to replace it")
            }
            // A changed key is where a stolen token would do the most harm: a DSL signed in
            // with a second factor just now accepts it (or the operator), never a bare token.
            if let principal {
                guard principal.role == .dsl, case .person = caller else {
                    try audit(AuditEntry(actor: who, action: .schoolTrust, outcome: .denied, school: owner,
                                         reason: "school \(card.school): only a DSL, signed in, accepts a changed card"))
                    throw VaultError.forbidden("only the DSL, signed in to the console with a second factor, accepts a school's changed card")
                }
            }
        }
        var pinned = PinnedSchool(
            owner: owner, school: card.school, name: card.name, ageRecipient: card.ageRecipient, signingKey: card.signingKey,
            fingerprint: card.fingerprint, addedBy: who.description, addedAtMillis: nowMillis)
        let signer = try vaulting { try keys.auditSigner() }
        try vaulting { try pinned.sign(vaultID: vaultID, signer: signer) }
        let what = existing.map { "replaced the card of school \(card.school) (fingerprint \($0.fingerprint), now \(card.fingerprint))" }
            ?? "added school \(card.school) (fingerprint \(card.fingerprint))"
        try vaulting {
            try catalog.pinSchool(pinned, event: AuditEntry(actor: who, action: .schoolTrust, outcome: .ok, school: owner, reason: what),
                                  signer: signer)
        }
        return pinned
    }

    /// `owner`'s directory of schools, after an audit event.
    func pinnedSchools(owner: String, by caller: Caller) throws -> [PinnedSchool] {
        if let principal = try principalOrOperator(.transfer, caller) {
            try requireSchool(.transfer, principal, school: owner)
        } else {
            try vaulting { try OpaqueID.validate(owner, field: "school id") }
        }
        try audit(AuditEntry(actor: caller.actor, action: .schoolList, outcome: .ok, school: owner))
        return try vaulting { try catalog.pinnedSchools(owner: owner) }
    }

    /// The pinned card of `school` in `owner`'s directory, its signature checked; nil if none.
    func verifiedPin(owner: String, school: String) throws -> PinnedSchool? {
        guard let pinned = try vaulting({ try catalog.pinnedSchool(owner: owner, school: school) }) else { return nil }
        guard pinned.verify(vaultID: vaultID, publicKey: publicKey) else {
            throw VaultError.conflict("the directory entry for school \(school) is not signed by this vault: it was changed outside Strongroom; add the school's card again")
        }
        return pinned
    }
}
