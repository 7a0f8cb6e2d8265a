/// Why an item could not be redacted. Messages name the problem and never the content.
public enum RedactionError: Error, Equatable, CustomStringConvertible {
    /// The file could not be decoded as the format it was sniffed as (libvips' words).
    case unreadable(String)
    /// The image's header declares more pixels than the budget: refused before decoding.
    case tooManyPixels(String)
    /// A rectangle is empty or does not lie inside the image or page.
    case rectangleOutside(String)
    /// A PDF with more pages than the limit, or a page number that does not exist.
    case pages(String)
    /// Text that is not UTF-8, or a span that is not inside it.
    case text(String)
    /// libvips failed to start or to encode.
    case imaging(String)

    public var description: String {
        switch self {
        case .unreadable(let why): "the file cannot be decoded: \(why)"
        case .tooManyPixels(let why): "refused before decoding: \(why)"
        case .rectangleOutside(let why): why
        case .pages(let why): why
        case .text(let why): why
        case .imaging(let why): "image processing failed: \(why)"
        }
    }
}
