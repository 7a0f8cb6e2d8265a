import Foundation
import KeyManagement
import Storage

/// A school's transfer card (docs/transfers.md): who it is and the two public keys another
/// vault needs to send it a child's file (age X25519) and to check what it signs (Ed25519).
/// The fingerprint, read over the telephone between the two DSLs, covers every field.
public struct SchoolCard: Sendable, Equatable, Codable {
    /// The school's id: its DfE URN where it has one.
    public var school: String
    public var name: String
    /// `age1…`
    public var ageRecipient: String
    /// Ed25519, minisign's base64 form.
    public var signingKey: String
    public var fingerprint: String

    public init(school: String, name: String, ageRecipient: String, signingKey: String) {
        self.school = school
        self.name = name
        self.ageRecipient = ageRecipient
        self.signingKey = signingKey
        self.fingerprint = Self.fingerprint(school: school, name: name, ageRecipient: ageRecipient, signingKey: signingKey)
    }

    /// Thirty digits in six groups of five, like a messaging app's safety number: SHA-256 over
    /// every field, each group one 5-byte slice of it mod 100,000 (about 100 bits in all).
    public static func fingerprint(school: String, name: String, ageRecipient: String, signingKey: String) -> String {
        var b = Binding(label: "strongroom/v1/school-card")
        for value in [school, name, ageRecipient, signingKey] { b.append(value) }
        let hash = SHA256Hasher.hash(b.bytes)
        return (0..<6).map { group -> String in
            let value = hash[group * 5..<group * 5 + 5].reduce(UInt64(0)) { $0 << 8 | UInt64($1) } % 100_000
            return String(format: "%05llu", value)
        }.joined(separator: " ")
    }

    /// The fingerprint as typed by someone: digits only, so spaces and dashes do not matter.
    static func digits(_ text: String) -> String { String(text.filter(\.isASCII).filter(\.isNumber)) }

    /// Checks every field's form and that the fingerprint is the card's own; names what is wrong.
    func validated() throws -> (recipient: AgeRecipient, signingKey: VaultPublicKey) {
        try OpaqueID.validate(school, field: "the card's school id")
        try Self.validateName(name)
        let recipient: AgeRecipient
        do { recipient = try AgeRecipient.parse(ageRecipient) } catch {
            throw VaultError.invalidArgument("the card's ageRecipient is not an age X25519 recipient (age1…)")
        }
        guard let key = VaultPublicKey(text: signingKey), key.minisignBase64 == signingKey else {
            throw VaultError.invalidArgument("the card's signingKey is not an Ed25519 key in minisign's base64 form")
        }
        guard fingerprint == Self.fingerprint(school: school, name: name, ageRecipient: ageRecipient, signingKey: signingKey) else {
            throw VaultError.invalidArgument("the card's own fingerprint does not match its keys: the card was changed")
        }
        return (recipient, key)
    }

    static func validateName(_ name: String) throws {
        guard !name.trimmingCharacters(in: .whitespaces).isEmpty, name.count <= 200,
              !name.unicodeScalars.contains(where: LogText.needsEscape) else {
            throw VaultError.invalidArgument("a school's name is 1 to 200 characters, without control characters")
        }
    }

    /// The card as JSON, the form `strongroom transfer card -o` writes and `/v1/transfer-card` serves.
    public func jsonBytes() throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return Array(try encoder.encode(self)) + [0x0a]
    }

    /// Parses a card file, refusing anything else clearly.
    public static func parse(_ bytes: [UInt8]) throws -> SchoolCard {
        guard bytes.count <= 16 * 1024, let card = try? JSONDecoder().decode(SchoolCard.self, from: Data(bytes)) else {
            throw VaultError.invalidArgument("not a school card: expected JSON with school, name, ageRecipient, signingKey and fingerprint")
        }
        return card
    }
}
