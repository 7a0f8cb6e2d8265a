import Foundation

/// Where the blobs go, parsed from `s3://BUCKET?endpoint=http://HOST:PORT&region=R`, with
/// optional `prefix=blobs/` and an Object Lock retention: `lock=governance|compliance&lock-days=N`.
/// Requests use path-style addressing (`ENDPOINT/BUCKET/KEY`), which every S3-compatible store
/// accepts. The text holds no credentials (they come from the environment or a file).
public struct S3Location: Sendable, Equatable {
    public var bucket: String
    public var endpoint: URL
    public var region: String
    /// Prepended to every object name; object names are `<prefix><record id>`.
    public var prefix: String
    public var retention: S3Retention?

    public init(bucket: String, endpoint: URL, region: String = "us-east-1", prefix: String = "blobs/", retention: S3Retention? = nil) {
        self.bucket = bucket
        self.endpoint = endpoint
        self.region = region
        self.prefix = prefix
        self.retention = retention
    }

    public init(parsing text: String) throws {
        guard let parts = URLComponents(string: text), parts.scheme == "s3", let bucket = parts.host, !bucket.isEmpty else {
            throw S3Error.invalidConfiguration("expected s3://BUCKET?endpoint=http://HOST:PORT&region=REGION")
        }
        guard parts.user == nil, parts.password == nil else {
            throw S3Error.invalidConfiguration("no credentials in the address: give them in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
        }
        guard parts.path.isEmpty || parts.path == "/" else { throw S3Error.invalidConfiguration("put the key prefix in prefix=, not in the path") }
        guard Self.isValidBucketName(bucket) else { throw S3Error.invalidConfiguration("bucket names are 3-63 of a-z 0-9 . -") }
        var items: [String: String] = [:]
        for item in parts.queryItems ?? [] { items[item.name] = item.value ?? "" }
        let known: Set = ["endpoint", "region", "prefix", "lock", "lock-days"]
        if let unknown = items.keys.sorted().first(where: { !known.contains($0) }) {
            throw S3Error.invalidConfiguration("unknown option \(unknown)")
        }
        guard let endpointText = items["endpoint"], var endpointParts = URLComponents(string: endpointText),
              endpointParts.scheme == "http" || endpointParts.scheme == "https", endpointParts.host?.isEmpty == false,
              endpointParts.user == nil, endpointParts.password == nil, endpointParts.query == nil, endpointParts.fragment == nil,
              endpointParts.path.isEmpty || endpointParts.path == "/"
        else { throw S3Error.invalidConfiguration("endpoint= must be http(s)://HOST[:PORT], with no path and no credentials in it") }
        // The signed Host header must be the one sent: a default port is never written out.
        if (endpointParts.scheme, endpointParts.port) == ("http", 80) || (endpointParts.scheme, endpointParts.port) == ("https", 443) {
            endpointParts.port = nil
        }
        endpointParts.path = ""
        guard let endpoint = endpointParts.url else { throw S3Error.invalidConfiguration("endpoint= is not a URL") }
        var retention: S3Retention?
        if let mode = items["lock"] {
            guard let m = S3Retention.Mode(rawValue: mode.uppercased()) else { throw S3Error.invalidConfiguration("lock= is governance or compliance") }
            guard let days = items["lock-days"].flatMap(Int.init), days > 0, days <= 36_500 else {
                throw S3Error.invalidConfiguration("lock-days= is a whole number of days, 1 to 36500")
            }
            retention = S3Retention(mode: m, days: days)
        } else if items["lock-days"] != nil {
            throw S3Error.invalidConfiguration("lock-days= needs lock=")
        }
        let prefix = items["prefix"] ?? "blobs/"
        // Segments of a-z, 0-9, underscore and hyphen, each ending in a slash: nothing a client
        // could normalise away between signing a path and sending it.
        let segments = prefix.split(separator: "/", omittingEmptySubsequences: false)
        guard prefix.hasSuffix("/"), segments.dropLast().allSatisfy({ seg in
            !seg.isEmpty && seg.utf8.allSatisfy { (97...122).contains($0) || (48...57).contains($0) || $0 == 95 || $0 == 45 }
        }) else {
            throw S3Error.invalidConfiguration("prefix= is segments of a-z 0-9 _ - each ending in a slash, like blobs/ or school-1/blobs/")
        }
        self.init(bucket: bucket, endpoint: endpoint, region: items["region"] ?? "us-east-1", prefix: prefix, retention: retention)
    }

    static func isValidBucketName(_ name: String) -> Bool {
        (3...63).contains(name.utf8.count)
            && name.utf8.allSatisfy { (97...122).contains($0) || (48...57).contains($0) || $0 == 46 || $0 == 45 }
    }
}

/// Object Lock retention put on every committed object: until `days` after the commit, no one
/// (governance: no one without the bypass permission) can delete that version or shorten its lock.
public struct S3Retention: Sendable, Equatable {
    public enum Mode: String, Sendable {
        case governance = "GOVERNANCE"
        case compliance = "COMPLIANCE"
    }
    public var mode: Mode
    public var days: Int

    public init(mode: Mode, days: Int) {
        self.mode = mode
        self.days = days
    }

    /// The `x-amz-object-lock-*` headers for an object committed at `now`.
    public func headers(now: Date) -> [(name: String, value: String)] {
        [("x-amz-object-lock-mode", mode.rawValue),
         ("x-amz-object-lock-retain-until-date", Self.iso8601(now.addingTimeInterval(Double(days) * 86_400)))]
    }

    static func iso8601(_ date: Date) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: date)
    }
}
