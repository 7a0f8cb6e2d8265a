/// Where to go after signing in or confirming: a path on this service, or /account.
///
///     NextPath("/v1/attachments/abc").path   // "/v1/attachments/abc"
///     NextPath("//evil.example/").path       // "/account"
///
/// Only a path that starts with exactly one "/" is kept. "//host" and "/\host" are read by
/// browsers as another site, a scheme ("https:", "javascript:") leaves the site, and control
/// characters, spaces or non-ASCII letters can be folded into either; all of those go to
/// /account instead.
struct NextPath: Equatable {
    static let fallback = "/account"
    static let maxLength = 2048

    let path: String

    init(_ raw: String?) {
        guard let raw, raw.utf8.count <= Self.maxLength, raw.hasPrefix("/"), !raw.hasPrefix("//"),
              !raw.utf8.contains(where: { $0 <= 0x20 || $0 >= 0x7F || $0 == UInt8(ascii: "\\") })
        else {
            path = Self.fallback
            return
        }
        path = raw
    }
}
