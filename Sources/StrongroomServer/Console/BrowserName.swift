/// A browser's User-Agent as a person recognises it on their list of sessions: "Chrome on
/// Windows", "Safari on iPhone". Only a few well-known names are picked out of the header; a
/// header that names none of them is "Unknown browser", so nothing odd a client sends is shown.
enum BrowserName {
    static func text(_ userAgent: String) -> String {
        let browser: String? =
            userAgent.contains("Edg/") ? "Edge"
            : userAgent.contains("Firefox/") ? "Firefox"
            : userAgent.contains("Chrome/") || userAgent.contains("CriOS/") ? "Chrome"
            : userAgent.contains("Safari/") ? "Safari"
            : nil
        let system: String? =
            userAgent.contains("iPhone") ? "iPhone"
            : userAgent.contains("iPad") ? "iPad"
            : userAgent.contains("Android") ? "Android"
            : userAgent.contains("CrOS") ? "Chromebook"
            : userAgent.contains("Windows") ? "Windows"
            : userAgent.contains("Macintosh") ? "Mac"
            : userAgent.contains("Linux") ? "Linux"
            : nil
        switch (browser, system) {
        case let (browser?, system?): return "\(browser) on \(system)"
        case let (browser?, nil): return browser
        case let (nil, system?): return "A browser on \(system)"
        case (nil, nil): return "Unknown browser"
        }
    }
}
