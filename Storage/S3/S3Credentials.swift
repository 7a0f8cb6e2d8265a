import Foundation
import KeyManagement

/// An access key id and its secret. The secret lives in guarded memory, prefixed with `AWS4` as
/// SigV4's first HMAC step wants it, and is never printed: the type has no description that
/// shows it, is not Codable, and errors name only where credentials were looked for.
public final class S3Credentials: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public let accessKeyID: String
    private let prefixedSecret: SecretBytes

    public init(accessKeyID: String, secretAccessKey: String) throws {
        guard !accessKeyID.isEmpty, !secretAccessKey.isEmpty else { throw S3Error.credentialsMissing("empty access key or secret") }
        self.accessKeyID = accessKeyID
        let bytes = Array("AWS4".utf8) + Array(secretAccessKey.utf8)
        prefixedSecret = try SecretBytes(count: bytes.count)
        prefixedSecret.withUnsafeMutableBytes { $0.copyBytes(from: bytes) }
    }

    /// From AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, else from the `[default]` (or named)
    /// profile of the credentials file at AWS_SHARED_CREDENTIALS_FILE.
    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) throws -> S3Credentials {
        if let key = env["AWS_ACCESS_KEY_ID"], let secret = env["AWS_SECRET_ACCESS_KEY"], !key.isEmpty, !secret.isEmpty {
            return try S3Credentials(accessKeyID: key, secretAccessKey: secret)
        }
        if let path = env["AWS_SHARED_CREDENTIALS_FILE"], !path.isEmpty {
            return try fromFile(path: path, profile: env["AWS_PROFILE"] ?? "default")
        }
        throw S3Error.credentialsMissing("set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_SHARED_CREDENTIALS_FILE")
    }

    /// Reads an AWS-style credentials file (`[profile]` sections of `name = value` lines).
    public static func fromFile(path: String, profile: String = "default") throws -> S3Credentials {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw S3Error.credentialsMissing("cannot read the credentials file")
        }
        return try parse(String(decoding: data, as: UTF8.self), profile: profile)
    }

    static func parse(_ text: String, profile: String) throws -> S3Credentials {
        var section = ""
        var key: String?
        var secret: String?
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("["), line.hasSuffix("]") {
                section = String(line.dropFirst().dropLast()).trimmingCharacters(in: .whitespaces)
                continue
            }
            guard section == profile, let eq = line.firstIndex(of: "=") else { continue }
            let name = line[..<eq].trimmingCharacters(in: .whitespaces).lowercased()
            let value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            if name == "aws_access_key_id" { key = value }
            if name == "aws_secret_access_key" { secret = value }
        }
        guard let key, let secret else { throw S3Error.credentialsMissing("no access key and secret in that profile of the credentials file") }
        return try S3Credentials(accessKeyID: key, secretAccessKey: secret)
    }

    func withPrefixedSecret<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try prefixedSecret.withUnsafeBytes(body)
    }

    public var description: String { "S3Credentials(\(accessKeyID), secret hidden)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["accessKeyID": accessKeyID]) }
}
