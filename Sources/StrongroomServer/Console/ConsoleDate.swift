import Foundation

/// Dates as people in English schools read them: "3 December 2025 at 2:05pm", UK time.
enum ConsoleDate {
    static func text(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_GB")
        formatter.timeZone = TimeZone(identifier: "Europe/London") ?? .gmt
        formatter.dateFormat = "d MMMM yyyy 'at' h:mma"
        formatter.amSymbol = "am"
        formatter.pmSymbol = "pm"
        return formatter.string(from: date)
    }
}
