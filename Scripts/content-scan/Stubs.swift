// The one type the content checks take from the rest of the vault, for this benchmark alone.
struct Refusal {
    enum Reason: Equatable {
        case dangerous(String)
        case activeContent(String)
    }
}
