import Foundation
import Vault

// What the attach, body-map and id-form templates read (see ConsolePageModels.swift for the
// others). Every value is escaped where the template places it.

/// A kind of evidence as a teacher would choose it, with the file types the vault takes for it
/// (from `TypePolicy.rules`, so the page never offers what the vault would refuse).
struct EvidenceKindChoice {
    let value: String
    let name: String
    let types: String

    /// In the order a teacher most often needs them; kinds the page has no words for follow
    /// under their own names, so a kind added to the vault still appears.
    static let order = ["disclosure", "minutes", "document", "body-map"]

    static var all: [EvidenceKindChoice] {
        let known = order.filter { TypePolicy.rules[$0] != nil }
        let others = TypePolicy.rules.keys.filter { !order.contains($0) }.sorted()
        return (known + others).map { kind in
            let types = (TypePolicy.rules[kind]?.types ?? []).map(\.displayName)
            return EvidenceKindChoice(value: kind, name: name(kind), types: types.joined(separator: ", "))
        }
    }

    static func name(_ kind: String) -> String {
        switch kind {
        case "disclosure": "Disclosure (what a child said or wrote)"
        case "minutes": "Minutes or notes of a meeting"
        case "document": "Another document"
        case "body-map": "Body map (a drawing or photo of marks seen)"
        default: kind
        }
    }
}

/// The three ids, shown at the top of both pages, with the address to change them.
struct ConcernSummary {
    let school: String
    let child: String
    let concern: String
    let query: String

    init(_ ids: ConcernIDs) {
        school = ids.school
        child = ids.child
        concern = ids.concern
        query = ids.query
    }
}

struct AttachPage {
    let title = "Attach evidence"
    let script = "attach.js"
    let signedInName: String?
    let ids: ConcernSummary
    let kinds = EvidenceKindChoice.all

    init(ids: ConcernIDs, signedInName: String) {
        self.ids = ConcernSummary(ids)
        self.signedInName = signedInName
    }
}

struct BodyMapPage {
    struct Colour {
        let value: String
        let name: String
        let first: Bool
    }

    struct Size {
        let value: Int
        let name: String
    }

    let title = "Draw a body map"
    let script = "body-map.js"
    let signedInName: String?
    let ids: ConcernSummary
    /// The colours `POST /v1/body-maps` accepts, each shown with its name.
    let colours = ["red", "blue", "green", "purple", "orange", "black"].enumerated().map {
        Colour(value: $0.element, name: $0.element.prefix(1).uppercased() + $0.element.dropFirst(), first: $0.offset == 0)
    }
    let sizes = [
        Size(value: 1, name: "1 – very small (smaller than a fingertip)"),
        Size(value: 2, name: "2 – small (about a fingertip)"),
        Size(value: 3, name: "3 – medium (about a coin to a palm)"),
        Size(value: 4, name: "4 – large (about a hand)"),
        Size(value: 5, name: "5 – very large (bigger than a hand)"),
    ]

    init(ids: ConcernIDs, signedInName: String) {
        self.ids = ConcernSummary(ids)
        self.signedInName = signedInName
    }
}

/// The form that asks for the school, child and concern when the address did not give them.
struct AttachIDsPage {
    struct Field {
        let name: String
        let label: String
        let hint: String
        let value: String
        let error: String?
    }

    struct SummaryError {
        let field: String
        let text: String
    }

    let title: String
    let script: String? = nil
    let signedInName: String?
    let action: String
    let heading: String
    let fields: [Field]
    let errors: [SummaryError]
    let hasErrors: Bool

    init(task: AttachTask, given: ConcernIDs, schools: Set<String>, errors: [(field: String, text: String)], signedInName: String) {
        heading = task == .attach ? "Which concern is this evidence for?" : "Which concern is this body map for?"
        title = (errors.isEmpty ? "" : "Error: ") + heading
        action = task.path
        self.signedInName = signedInName
        self.errors = errors.map { SummaryError(field: $0.field, text: $0.text) }
        hasErrors = !errors.isEmpty
        func error(_ field: String) -> String? { errors.first { $0.field == field }?.text }
        // One school: it is the one; the person need not know its id.
        let school = given.school.isEmpty && schools.count == 1 ? schools.first ?? "" : given.school
        let yourSchools = schools.sorted().joined(separator: ", ")
        fields = [
            Field(name: "school", label: "School", hint: "Your school's id in Strongroom: \(yourSchools).", value: school,
                  error: error("school")),
            Field(name: "child", label: "Child", hint: "The child's id in your school's record system, for example C1042.",
                  value: given.child, error: error("child")),
            Field(name: "concern", label: "Concern", hint: "The concern's id in your school's record system, for example K77.",
                  value: given.concern, error: error("concern")),
        ]
    }
}
