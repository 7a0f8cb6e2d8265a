import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import KeyManagement

/// A small blocking S3 client (path-style, SigV4): the calls the blob store needs and no more.
/// The vault's storage calls are synchronous and run on blocking threads, so each call waits for
/// its answer. Every request carries the SHA-256 of its body as `x-amz-content-sha256`, so the
/// store rejects a body changed on the way, and every object or part written also carries it as
/// `x-amz-checksum-sha256`, which the store keeps and checks (AWS requires such a checksum on
/// writes under Object Lock). Redirects are refused (they would carry the signed request elsewhere).
public final class S3Client: Sendable {
    public let location: S3Location
    let credentials: S3Credentials
    let session: URLSession
    let clock: @Sendable () -> Date

    /// `timeout`: how long a request may wait for the next bytes; `resourceTimeout`: how long one
    /// whole request (an 8 MiB part, say) may take.
    public init(location: S3Location, credentials: S3Credentials, timeout: TimeInterval = 30, resourceTimeout: TimeInterval = 300,
                clock: @escaping @Sendable () -> Date = { Date() }) {
        self.location = location
        self.credentials = credentials
        self.clock = clock
        let config = URLSessionConfiguration.ephemeral
        config.timeoutIntervalForRequest = timeout
        config.timeoutIntervalForResource = resourceTimeout
        config.httpCookieStorage = nil
        config.urlCache = nil
        config.requestCachePolicy = .reloadIgnoringLocalAndRemoteCacheData
        session = URLSession(configuration: config, delegate: NoRedirects(), delegateQueue: nil)
    }

    deinit { session.finishTasksAndInvalidate() }

    // MARK: Objects

    /// PutObject, with the body's SHA-256 checksum; returns the ETag.
    @discardableResult
    public func putObject(key: String, body: Data, headers: [(name: String, value: String)] = []) throws -> String {
        let r = try send("PUT", key: key, headers: [("Content-Type", "application/octet-stream")] + headers, body: body, checksum: true)
        return r.header("ETag") ?? ""
    }

    /// GetObject of `range` (inclusive byte offsets), or of the whole object. `ifMatch`: only if
    /// the object still has that ETag (412 otherwise).
    public func getObject(key: String, range: ClosedRange<Int>? = nil, ifMatch: String? = nil) throws -> Data {
        var headers: [(name: String, value: String)] = []
        if let range { headers.append(("Range", "bytes=\(range.lowerBound)-\(range.upperBound)")) }
        if let ifMatch { headers.append(("If-Match", ifMatch)) }
        return try send("GET", key: key, headers: headers).body
    }

    public struct ObjectInfo: Sendable, Equatable {
        public var size: Int
        public var etag: String
        public var lockMode: String?
        public var lockRetainUntil: String?
    }

    /// HeadObject; nil when there is no such object (or its newest version is a delete marker).
    public func headObject(key: String) throws -> ObjectInfo? {
        do {
            let r = try send("HEAD", key: key)
            guard let size = r.header("Content-Length").flatMap(Int.init) else { throw S3Error.invalidResponse("HEAD without Content-Length") }
            return ObjectInfo(size: size, etag: r.header("ETag") ?? "", lockMode: r.header("x-amz-object-lock-mode"),
                              lockRetainUntil: r.header("x-amz-object-lock-retain-until-date"))
        } catch S3Error.notFound { return nil }
    }

    /// DeleteObject. Without `versionID` on a versioned bucket this adds a delete marker; with it,
    /// it removes that version, which Object Lock refuses (accessDenied) until the lock ends.
    /// Deleting what is not there succeeds.
    public func deleteObject(key: String, versionID: String? = nil) throws {
        do {
            _ = try send("DELETE", key: key, query: versionID.map { [("versionId", $0)] } ?? [])
        } catch S3Error.notFound {}
    }

    public struct DeleteFailure: Sendable, Equatable {
        public var key: String
        public var versionID: String?
        public var code: String
    }

    /// DeleteObjects (at most 1000 a request, so longer lists go in several); returns the objects
    /// the store refused, with its reason code.
    public func deleteObjects(_ objects: [(key: String, versionID: String?)]) throws -> [DeleteFailure] {
        var failures: [DeleteFailure] = []
        var start = 0
        while start < objects.count {
            let batch = objects[start..<min(start + 1000, objects.count)]
            start += batch.count
            var doc = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet>"
            for o in batch {
                doc += "<Object><Key>\(S3XML.escape(o.key))</Key>"
                if let v = o.versionID { doc += "<VersionId>\(S3XML.escape(v))</VersionId>" }
                doc += "</Object>"
            }
            doc += "</Delete>"
            // AWS wants a body checksum on DeleteObjects (Content-MD5 or an SDK checksum).
            let r = try send("POST", query: [("delete", "")], headers: [("Content-Type", "application/xml")], body: Data(doc.utf8), checksum: true)
            let result = try xml(r.body, "DeleteObjects")
            for e in result.all("Error") {
                failures.append(DeleteFailure(key: e.value("Key") ?? "", versionID: e.value("VersionId"), code: e.value("Code") ?? ""))
            }
        }
        return failures
    }

    /// At most this many pages in one listing (10 million keys at 1,000 a page).
    static let maxListPages = 10_000

    public struct ObjectSummary: Sendable, Equatable {
        public var key: String
        public var size: Int
        /// When the object was last written (whole seconds); nil if the store did not say.
        public var lastModified: Date?
    }

    /// ListObjectsV2 of every key under `prefix`, following continuation tokens.
    public func listObjects(prefix: String, pageSize: Int = 1000) throws -> [ObjectSummary] {
        var out: [ObjectSummary] = []
        var token: String?
        var pages = 0
        repeat {
            var query: [(String, String)] = [("list-type", "2"), ("prefix", prefix), ("max-keys", String(pageSize))]
            if let token { query.append(("continuation-token", token)) }
            let page = try xml(try send("GET", query: query).body, "ListObjectsV2")
            for c in page.all("Contents") {
                guard let key = c.value("Key") else { continue }
                out.append(ObjectSummary(key: key, size: Int(c.value("Size") ?? "") ?? 0, lastModified: c.value("LastModified").flatMap(Self.date)))
            }
            let next = page.value("IsTruncated") == "true" ? page.value("NextContinuationToken") : nil
            if page.value("IsTruncated") == "true" && next == nil { throw S3Error.invalidResponse("truncated list without a continuation token") }
            // A store that repeats its token, or never ends, must not loop or grow without bound.
            if let next, next == token { throw S3Error.invalidResponse("a list that does not move on") }
            pages += 1
            if pages > Self.maxListPages { throw S3Error.invalidResponse("a list of too many pages") }
            token = next
        } while token != nil
        return out
    }

    /// An S3 timestamp (`2025-01-31T12:00:00.000Z`, with or without the fraction).
    static func date(_ text: String) -> Date? {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = f.date(from: text) { return d }
        f.formatOptions = [.withInternetDateTime]
        return f.date(from: text)
    }

    public struct ObjectVersion: Sendable, Equatable {
        public var key: String
        public var versionID: String
        public var isLatest: Bool
        public var isDeleteMarker: Bool
    }

    /// ListObjectVersions under `prefix` (versions and delete markers), following the markers.
    public func listObjectVersions(prefix: String) throws -> [ObjectVersion] {
        var out: [ObjectVersion] = []
        var keyMarker: String?
        var versionMarker: String?
        var pages = 0
        while true {
            var query: [(String, String)] = [("versions", ""), ("prefix", prefix)]
            if let keyMarker { query.append(("key-marker", keyMarker)) }
            if let versionMarker { query.append(("version-id-marker", versionMarker)) }
            let page = try xml(try send("GET", query: query).body, "ListObjectVersions")
            for e in page.children where e.name == "Version" || e.name == "DeleteMarker" {
                guard let key = e.value("Key"), let v = e.value("VersionId") else { continue }
                out.append(ObjectVersion(key: key, versionID: v, isLatest: e.value("IsLatest") == "true", isDeleteMarker: e.name == "DeleteMarker"))
            }
            guard page.value("IsTruncated") == "true" else { return out }
            let (nextKey, nextVersion) = (page.value("NextKeyMarker"), page.value("NextVersionIdMarker"))
            if nextKey == nil { throw S3Error.invalidResponse("truncated version list without a marker") }
            if nextKey == keyMarker, nextVersion == versionMarker { throw S3Error.invalidResponse("a version list that does not move on") }
            pages += 1
            if pages > Self.maxListPages { throw S3Error.invalidResponse("a version list of too many pages") }
            (keyMarker, versionMarker) = (nextKey, nextVersion)
        }
    }

    // MARK: Object Lock

    /// PutObjectLockConfiguration: a default retention for new objects of a bucket that was
    /// created with Object Lock enabled.
    public func putObjectLockConfiguration(_ retention: S3Retention) throws {
        let doc = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ObjectLockConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
            + "<ObjectLockEnabled>Enabled</ObjectLockEnabled><Rule><DefaultRetention><Mode>\(retention.mode.rawValue)</Mode>"
            + "<Days>\(retention.days)</Days></DefaultRetention></Rule></ObjectLockConfiguration>"
        _ = try send("PUT", query: [("object-lock", "")], headers: [("Content-Type", "application/xml")], body: Data(doc.utf8), checksum: true)
    }

    /// GetObjectRetention: the lock mode and retain-until date of an object's newest version.
    public func getObjectRetention(key: String) throws -> (mode: String, retainUntil: String)? {
        do {
            let r = try xml(try send("GET", key: key, query: [("retention", "")]).body, "GetObjectRetention")
            guard let mode = r.value("Mode"), let until = r.value("RetainUntilDate") else { return nil }
            return (mode, until)
        } catch S3Error.notFound { return nil }
    }

    // MARK: Multipart uploads

    /// CreateMultipartUpload, declaring SHA-256 part checksums; returns the upload id. Object Lock
    /// headers go here.
    public func createMultipartUpload(key: String, headers: [(name: String, value: String)] = []) throws -> String {
        let declared = [("Content-Type", "application/octet-stream")] + headers + [("x-amz-checksum-algorithm", "SHA256")]
        let r = try xml(try send("POST", key: key, query: [("uploads", "")], headers: declared).body, "CreateMultipartUpload")
        guard let id = r.value("UploadId"), !id.isEmpty else { throw S3Error.invalidResponse("CreateMultipartUpload without an UploadId") }
        return id
    }

    /// A part sent: what CompleteMultipartUpload must name.
    public struct Part: Sendable, Equatable {
        public var number: Int
        public var etag: String
        /// Base64 SHA-256 of the part's bytes.
        public var checksum: String
    }

    /// UploadPart (numbers 1...10000; every part but the last at least 5 MiB), with its checksum.
    public func uploadPart(key: String, uploadID: String, partNumber: Int, body: Data) throws -> Part {
        let r = try send("PUT", key: key, query: [("partNumber", String(partNumber)), ("uploadId", uploadID)],
                         headers: [("Content-Type", "application/octet-stream")], body: body, checksum: true)
        guard let etag = r.header("ETag") else { throw S3Error.invalidResponse("UploadPart without an ETag") }
        return Part(number: partNumber, etag: etag, checksum: Self.base64SHA256(body))
    }

    /// CompleteMultipartUpload. S3 may answer 200 and still fail (an Error body): that is an error here.
    public func completeMultipartUpload(key: String, uploadID: String, parts: [Part]) throws {
        var doc = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        for p in parts {
            doc += "<Part><PartNumber>\(p.number)</PartNumber><ETag>\(S3XML.escape(p.etag))</ETag>"
                + "<ChecksumSHA256>\(p.checksum)</ChecksumSHA256></Part>"
        }
        doc += "</CompleteMultipartUpload>"
        let r = try send("POST", key: key, query: [("uploadId", uploadID)], headers: [("Content-Type", "application/xml")], body: Data(doc.utf8))
        let result = try xml(r.body, "CompleteMultipartUpload")
        if result.name == "Error" { throw Self.error(status: 500, code: result.value("Code") ?? "", key: key) }
    }

    /// AbortMultipartUpload; an upload already gone is not an error.
    public func abortMultipartUpload(key: String, uploadID: String) throws {
        do {
            _ = try send("DELETE", key: key, query: [("uploadId", uploadID)])
        } catch S3Error.notFound {}
    }

    public struct MultipartUpload: Sendable, Equatable {
        public var key: String
        public var uploadID: String
        /// When it was begun; nil if the store did not say.
        public var initiated: Date?
    }

    /// ListMultipartUploads under `prefix`: uploads begun and neither completed nor aborted.
    public func listMultipartUploads(prefix: String) throws -> [MultipartUpload] {
        var out: [MultipartUpload] = []
        var keyMarker: String?
        var idMarker: String?
        while true {
            var query: [(String, String)] = [("uploads", ""), ("prefix", prefix)]
            if let keyMarker { query.append(("key-marker", keyMarker)) }
            if let idMarker { query.append(("upload-id-marker", idMarker)) }
            let page = try xml(try send("GET", query: query).body, "ListMultipartUploads")
            for u in page.all("Upload") {
                guard let key = u.value("Key"), let id = u.value("UploadId") else { continue }
                out.append(MultipartUpload(key: key, uploadID: id, initiated: u.value("Initiated").flatMap(Self.date)))
            }
            guard page.value("IsTruncated") == "true" else { return out }
            keyMarker = page.value("NextKeyMarker")
            idMarker = page.value("NextUploadIdMarker")
            if keyMarker == nil { throw S3Error.invalidResponse("truncated upload list without a marker") }
        }
    }

    // MARK: Requests

    struct Response {
        var status: Int
        var headers: [String: String]
        var body: Data

        func header(_ name: String) -> String? { headers[name.lowercased()] }
    }

    /// Base64 SHA-256, as `x-amz-checksum-sha256` and `ChecksumSHA256` carry it.
    static func base64SHA256(_ body: Data) -> String { Data(SHA256Hasher.hash(Array(body))).base64EncodedString() }

    /// Sends one signed request to the bucket (or to `key` in it) and waits for the answer;
    /// error answers become `S3Error`. `checksum`: also send the body's `x-amz-checksum-sha256`.
    func send(_ method: String, key: String? = nil, query: [(String, String)] = [], headers: [(name: String, value: String)] = [],
              body: Data? = nil, checksum: Bool = false) throws -> Response {
        let path = "/" + location.bucket + (key.map { "/" + $0 } ?? "")
        let encodedQuery = SigV4.canonicalQuery(query.map { (name: $0.0, value: $0.1) })
        var base = location.endpoint.absoluteString
        while base.hasSuffix("/") { base.removeLast() }
        guard let url = URL(string: base + SigV4.uriEncode(path, encodeSlash: false) + (encodedQuery.isEmpty ? "" : "?" + encodedQuery)) else {
            throw S3Error.invalidConfiguration("cannot form a request URL")
        }
        var host = location.endpoint.host ?? ""
        if let port = location.endpoint.port { host += ":\(port)" }
        var hasher = SHA256Hasher()
        body?.withUnsafeBytes { hasher.update($0) }
        let digest = hasher.finalize()
        let payloadHash = Hex.encode(digest)
        // No compression: a ranged read must get the stored bytes.
        var sent: [(name: String, value: String)] = [("Host", host), ("Accept-Encoding", "identity")] + headers
        if checksum { sent += [("x-amz-sdk-checksum-algorithm", "SHA256"), ("x-amz-checksum-sha256", Data(digest).base64EncodedString())] }
        let signed = SigV4.sign(SigV4.Request(method: method, path: path, query: query.map { (name: $0.0, value: $0.1) },
                                              headers: sent, payloadHash: payloadHash),
                                credentials: credentials, region: location.region, date: clock())
        var request = URLRequest(url: url)
        request.httpMethod = method
        for (name, value) in sent where name != "Host" { request.setValue(value, forHTTPHeaderField: name) }
        for (name, value) in signed.headers { request.setValue(value, forHTTPHeaderField: name) }
        if let body { request.httpBody = body } else if method == "PUT" || method == "POST" { request.httpBody = Data() }
        // libcurl (under URLSession here) would otherwise ask "Expect: 100-continue" of every body
        // over 1 KiB and wait for the answer: a round trip, or a second, per upload.
        if body != nil { request.setValue("", forHTTPHeaderField: "Expect") }

        let result = Exchange()
        let task = session.dataTask(with: request) { data, response, error in
            result.finish(data: data, response: response as? HTTPURLResponse, error: error)
        }
        task.resume()
        result.wait()
        if let error = result.error { throw Self.unreachable(error) }
        guard let http = result.response else { throw S3Error.unreachable(reason: "no HTTP answer") }
        var responseHeaders: [String: String] = [:]
        for (k, v) in http.allHeaderFields {
            if let k = k as? String, let v = v as? String { responseHeaders[k.lowercased()] = v }
        }
        let data = result.data ?? Data()
        guard (200..<300).contains(http.statusCode) else {
            // The store's own words go into errors and audit reasons: letters, digits and dots only.
            let said = S3XML.parse(data)?.value("Code") ?? ""
            let code = String(said.filter { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == ".") }.prefix(64))
            throw Self.error(status: http.statusCode, code: code, key: key ?? "")
        }
        return Response(status: http.statusCode, headers: responseHeaders, body: data)
    }

    /// Parses an answer body; `what` names the call in the error.
    func xml(_ data: Data, _ what: String) throws -> S3XML {
        guard let doc = S3XML.parse(data) else { throw S3Error.invalidResponse("\(what): not XML") }
        return doc
    }

    static func error(status: Int, code: String, key: String) -> S3Error {
        switch (status, code) {
        // A missing bucket is a wrong address or account, never "this record is missing".
        case (_, "NoSuchBucket"): .invalidConfiguration("the bucket does not exist at this endpoint (or not for these credentials)")
        case (404, _), (_, "NoSuchKey"), (_, "NoSuchUpload"): .notFound(key: key.isEmpty ? code : key)
        case (403, _), (_, "AccessDenied"), (_, "SignatureDoesNotMatch"), (_, "InvalidAccessKeyId"): .accessDenied(code: code.isEmpty ? "HTTP 403" : code)
        default: .server(status: status, code: code)
        }
    }

    /// A transport failure, described without the URL (which would add nothing but the key).
    static func unreachable(_ error: Error) -> S3Error {
        guard let e = error as? URLError else { return .unreachable(reason: "transport error") }
        switch e.code {
        case .timedOut: return .unreachable(reason: "timed out")
        case .cannotConnectToHost: return .unreachable(reason: "connection refused")
        case .cannotFindHost, .dnsLookupFailed: return .unreachable(reason: "host not found")
        case .networkConnectionLost: return .unreachable(reason: "connection lost")
        case .secureConnectionFailed, .serverCertificateUntrusted, .serverCertificateHasBadDate, .serverCertificateNotYetValid,
             .serverCertificateHasUnknownRoot:
            return .unreachable(reason: "TLS failed")
        default: return .unreachable(reason: "URL error \(e.code.rawValue)")
        }
    }

    /// One request's answer, handed from URLSession's queue to the waiting thread.
    private final class Exchange: @unchecked Sendable {
        private let done = DispatchSemaphore(value: 0)
        private(set) var data: Data?
        private(set) var response: HTTPURLResponse?
        private(set) var error: Error?

        func finish(data: Data?, response: HTTPURLResponse?, error: Error?) {
            self.data = data
            self.response = response
            self.error = error
            done.signal()
        }

        func wait() { done.wait() }
    }

    private final class NoRedirects: NSObject, URLSessionTaskDelegate, @unchecked Sendable {
        func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                        newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
            completionHandler(nil)
        }
    }
}
