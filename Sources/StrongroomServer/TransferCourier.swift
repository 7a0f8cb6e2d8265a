import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The receiving vault's two outgoing requests (docs/transfers.md): fetching a package from the
/// sender's link, and posting the signed receipt back. Only https, or http to this machine (tests,
/// a vault behind a proxy on the same host); bodies are capped; nothing of a reply is echoed.
public enum TransferCourier {
    public enum Failure: Error, CustomStringConvertible {
        case unusableURL
        case unreachable
        case refused(status: Int)
        case tooLarge(limit: Int)

        public var description: String {
            switch self {
            case .unusableURL: "the address must be https://… (or http:// to this machine)"
            case .unreachable: "the other vault did not answer"
            case .refused(let status): status == 410 || status == 404 ? "the link no longer works (it expired, was used up, or the file was received)" : "the other vault refused the request"
            case .tooLarge(let limit): "the answer is larger than \(limit >> 20) MiB"
            }
        }
    }

    /// The URL, if it is one this vault may call.
    static func allowed(_ text: String) -> URL? {
        guard let url = URL(string: text), let components = URLComponents(url: url, resolvingAgainstBaseURL: false),
              let scheme = components.scheme?.lowercased(), let host = components.host?.lowercased(), !host.isEmpty,
              components.user == nil, components.password == nil else { return nil }
        if scheme == "https" { return url }
        if scheme == "http", ["localhost", "127.0.0.1", "[::1]", "::1"].contains(host) { return url }
        return nil
    }

    /// GETs a package link; refuses (and stops reading) past `limit` bytes.
    public static func fetch(_ link: String, limit: Int, timeout: TimeInterval = 120) async throws -> [UInt8] {
        guard let url = allowed(link) else { throw Failure.unusableURL }
        var request = URLRequest(url: url, timeoutInterval: timeout)
        request.httpMethod = "GET"
        let (data, status) = try await send(request, limit: limit)
        guard status == 200 else { throw Failure.refused(status: status) }
        return Array(data)
    }

    /// POSTs a signed receipt to the sender; true when it answered 200.
    public static func deliver(receipt: [UInt8], to link: String, timeout: TimeInterval = 15) async -> Bool {
        guard let url = allowed(link) else { return false }
        var request = URLRequest(url: url, timeoutInterval: timeout)
        request.httpMethod = "POST"
        request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        request.httpBody = Data(receipt)
        guard let (_, status) = try? await send(request) else { return false }
        return status == 200
    }

    private static func send(_ request: URLRequest, limit: Int = 1 << 20) async throws -> (Data, Int) {
        try await withCheckedThrowingContinuation { continuation in
            let collector = Collector(limit: limit, continuation: continuation)
            let session = URLSession(configuration: .ephemeral, delegate: collector, delegateQueue: nil)
            session.dataTask(with: request).resume()
            session.finishTasksAndInvalidate()
        }
    }

    /// Gathers a reply's body, cancelling the request once it passes the limit.
    private final class Collector: NSObject, URLSessionDataDelegate, @unchecked Sendable {
        let limit: Int
        var data = Data()
        var failure: Failure?
        var continuation: CheckedContinuation<(Data, Int), Error>?

        init(limit: Int, continuation: CheckedContinuation<(Data, Int), Error>) {
            self.limit = limit
            self.continuation = continuation
        }

        func urlSession(_ session: URLSession, dataTask: URLSessionDataTask, didReceive chunk: Data) {
            guard failure == nil else { return }
            if data.count + chunk.count > limit {
                failure = .tooLarge(limit: limit)
                data = Data()
                dataTask.cancel()
                return
            }
            data.append(chunk)
        }

        /// No redirects: the address a DSL or a signed manifest gave is the only one called.
        func urlSession(_ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
                        newRequest request: URLRequest, completionHandler: @escaping (URLRequest?) -> Void) {
            completionHandler(nil)
        }

        func urlSession(_ session: URLSession, task: URLSessionTask, didCompleteWithError error: Error?) {
            guard let continuation else { return }
            self.continuation = nil
            if let failure { return continuation.resume(throwing: failure) }
            if error != nil { return continuation.resume(throwing: Failure.unreachable) }
            continuation.resume(returning: (data, (task.response as? HTTPURLResponse)?.statusCode ?? 0))
        }
    }
}
