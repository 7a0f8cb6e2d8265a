import Foundation
import KeyManagement
import Storage

/// The directory of agencies a school shares evidence with (children's social care, the police,
/// another school): each with an age X25519 recipient, or a passphrase made for each bundle and
/// given out of band. Kept by DSLs and deputies over HTTP, and by the operator at the CLI.
extension Vault {
    public struct NewRecipient: Sendable {
        public var school: String
        public var name: String
        public var contact: String
        /// `age1…`; nil with `passphrase`.
        public var ageRecipient: String?
        public var passphrase: Bool

        public init(school: String, name: String, contact: String = "", ageRecipient: String?, passphrase: Bool) {
            self.school = school
            self.name = name
            self.contact = contact
            self.ageRecipient = ageRecipient
            self.passphrase = passphrase
        }
    }

    func addRecipient(_ new: NewRecipient, by caller: Caller) throws -> Recipient {
        let principal = try principalOrOperator(.share, caller)
        let actor = caller.actor
        if let principal { try requireSchool(.share, principal, school: new.school) }
        try vaulting { try OpaqueID.validate(new.school, field: "school id") }
        let name = try Self.directoryText(new.name, field: "name", limit: 200, required: true)
        let contact = try Self.directoryText(new.contact, field: "contact", limit: 500, required: false)
        switch (new.ageRecipient, new.passphrase) {
        case (nil, false), (.some, true):
            throw VaultError.invalidArgument("give exactly one of an age recipient (age1…) or passphrase: true")
        case (let text?, false):
            do { _ = try AgeRecipient.parse(text) } catch let error as AgeError { throw VaultError.invalidArgument("\(error)") }
        case (nil, true):
            break
        }
        let recipient = Recipient(
            school: new.school, name: name, contact: contact, ageRecipient: new.ageRecipient,
            createdBy: actor.description, createdAtMillis: nowMillis)
        do {
            try vaulting {
                try catalog.addRecipient(
                    recipient,
                    event: AuditEntry(actor: actor, action: .recipientAdd, outcome: .ok, school: new.school,
                                      reason: "\(name) (\(new.passphrase ? "passphrase" : "age X25519"))"),
                    signer: signer)
            }
        } catch VaultError.storage(.lifecycleConflict(let why)) {
            throw VaultError.conflict(why)
        }
        return recipient
    }

    func recipients(school: String, by caller: Caller) throws -> [Recipient] {
        let principal = try principalOrOperator(.share, caller)
        let actor = caller.actor
        if let principal { try requireSchool(.share, principal, school: school) }
        try vaulting { try OpaqueID.validate(school, field: "school id") }
        let list = try vaulting { try catalog.recipients(school: school) }
        try audit(AuditEntry(actor: actor, action: .recipientList, outcome: .ok, school: school))
        return list
    }

    /// An agency's name or contact: printable text (letters of any script), no control characters.
    static func directoryText(_ text: String, field: String, limit: Int, required: Bool, subject: String = "the recipient's") throws -> String {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty {
            guard !required else { throw VaultError.invalidArgument("\(subject) \(field) is empty") }
            return ""
        }
        guard trimmed.count <= limit else { throw VaultError.invalidArgument("\(subject) \(field) is longer than \(limit) characters") }
        guard !trimmed.unicodeScalars.contains(where: { LogText.needsEscape($0) }) else {
            throw VaultError.invalidArgument("\(subject) \(field) holds control characters")
        }
        return trimmed
    }
}
