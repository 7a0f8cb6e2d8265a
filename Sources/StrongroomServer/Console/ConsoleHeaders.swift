import HTTPTypes
import Hummingbird

/// The headers every console response carries. The policy allows scripts, styles and images
/// from this service only (no inline script, no `style=` attribute, no `on...=` handler), no
/// framing, no other site as a form target, and no referrer leaving the page: a console page
/// shows a child's records, so nothing on it may load or send anything elsewhere.
enum ConsoleHeaders {
    static let contentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; connect-src 'self'; "
        + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

    /// Powerful browser features the console never uses, switched off for it and anything it embeds.
    static let permissionsPolicy =
        "camera=(), microphone=(), geolocation=(), payment=(), usb=(), serial=(), hid=(), bluetooth=(), "
        + "display-capture=(), accelerometer=(), gyroscope=(), magnetometer=()"

    static let fields: [(HTTPField.Name, String)] = [
        (.contentSecurityPolicy, contentSecurityPolicy),
        (.xContentTypeOptions, "nosniff"),
        (.referrerPolicy, "no-referrer"),
        // Pages show safeguarding records and sessions: never kept by the browser or a proxy.
        (.cacheControl, "no-store"),
        (.crossOriginOpenerPolicy, "same-origin"),
        (.permissionsPolicy, permissionsPolicy),
    ]

    static func apply(to headers: inout HTTPFields) {
        for (name, value) in fields { headers[name] = value }
    }
}

extension HTTPField.Name {
    static let contentSecurityPolicy = Self("Content-Security-Policy")!
    static let xContentTypeOptions = Self("X-Content-Type-Options")!
    static let referrerPolicy = Self("Referrer-Policy")!
    static let crossOriginOpenerPolicy = Self("Cross-Origin-Opener-Policy")!
    static let permissionsPolicy = Self("Permissions-Policy")!
}
