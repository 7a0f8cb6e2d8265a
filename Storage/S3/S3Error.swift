/// What went wrong talking to an object store, in cases a caller can act on. Messages carry the
/// bucket-relative key at most (`blobs/<record id>`, random hex), never credentials, signatures
/// or object contents.
public enum S3Error: Error, Sendable, Equatable, CustomStringConvertible {
    /// No such object, upload or bucket (404; S3 codes NoSuchKey, NoSuchUpload, NoSuchBucket).
    case notFound(key: String)
    /// The store refused the credentials or the act (403: a wrong secret, a missing permission,
    /// or an Object Lock that forbids deleting a version before its retention ends).
    case accessDenied(code: String)
    /// The store could not be reached or did not answer in time (connection refused, DNS,
    /// timeout): worth retrying later.
    case unreachable(reason: String)
    /// Any other error answer: HTTP status and the S3 error code from the body, if any.
    case server(status: Int, code: String)
    /// No credentials where they were looked for (names the places, never a value).
    case credentialsMissing(String)
    /// The store's address or options cannot be used.
    case invalidConfiguration(String)
    /// The store answered 2xx with a body that is not what S3 sends.
    case invalidResponse(String)

    public var description: String {
        switch self {
        case .notFound(let key): "object store: not found: \(key)"
        case .accessDenied(let code): "object store: access denied (\(code))"
        case .unreachable(let reason): "object store unreachable: \(reason)"
        case .server(let status, let code): "object store error: HTTP \(status) \(code)"
        case .credentialsMissing(let where_): "object store credentials missing: \(where_)"
        case .invalidConfiguration(let what): "object store configuration: \(what)"
        case .invalidResponse(let what): "object store answered oddly: \(what)"
        }
    }
}
