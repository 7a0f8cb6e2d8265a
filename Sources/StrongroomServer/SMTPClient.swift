import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import Vault

/// Where alert emails go: a relay, reached over SMTP with STARTTLS (docs/alerts.md).
struct SMTPRelay: Sendable, Equatable {
    var host: String
    var port: Int
    /// Upgrade the connection with STARTTLS before anything but EHLO. Off only for a relay on
    /// the same machine; credentials are then refused (`ServerConfiguration.validate`).
    var startTLS: Bool
    /// User and password, read from the credentials file; sent only inside TLS.
    var credentials: (user: String, password: String)?
    /// The envelope and header sender.
    var from: String
    /// A CA certificate (PEM) to trust for the relay, instead of the system's roots.
    var caFile: String?

    static func == (a: SMTPRelay, b: SMTPRelay) -> Bool {
        a.host == b.host && a.port == b.port && a.startTLS == b.startTLS && a.from == b.from && a.caFile == b.caFile
            && a.credentials?.user == b.credentials?.user && a.credentials?.password == b.credentials?.password
    }
}

/// Why a message was not sent. Carries the SMTP step and reply code, never an address or text.
enum SMTPError: Error, CustomStringConvertible {
    case refused(step: String, code: Int)
    case malformedReply(step: String)
    case connectionClosed(step: String)
    case timedOut(step: String)
    case invalidAddress

    var description: String {
        switch self {
        case .refused(let step, let code): "the relay answered \(code) to \(step)"
        case .malformedReply(let step): "the relay's reply to \(step) was malformed"
        case .connectionClosed(let step): "the relay closed the connection at \(step)"
        case .timedOut(let step): "the relay did not answer \(step) in time"
        case .invalidAddress: "an address is not a plain mailbox"
        }
    }
}

/// A minimal SMTP client (RFC 5321) over swift-nio: EHLO, STARTTLS (RFC 3207), AUTH PLAIN
/// (RFC 4954) only inside TLS, one message to one recipient, QUIT. One connection per message:
/// alerts are few, and a connection held open is one more thing to fail.
///
///     try await SMTPClient(relay: relay, group: group).send(to: "dsl@school.example", subject: s, body: b)
struct SMTPClient: Sendable {
    let relay: SMTPRelay
    let group: any EventLoopGroup
    var replyTimeout: TimeAmount = .seconds(30)

    /// A mailbox we put in an envelope or header: see `AlertAddress` (no space, angle bracket
    /// or line break, so no address can add a command or a header).
    static func isPlainMailbox(_ address: String) -> Bool { AlertAddress.isValid(address) }

    func send(to recipient: String, subject: String, body: String) async throws {
        guard Self.isPlainMailbox(recipient), Self.isPlainMailbox(relay.from) else { throw SMTPError.invalidAddress }
        let replies = SMTPReplyHandler()
        let channel = try await ClientBootstrap(group: group)
            .connectTimeout(replyTimeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(replies) }
            }
            .connect(host: relay.host, port: relay.port).get()
        do {
            try await converse(channel, replies, to: recipient, subject: subject, body: body)
        } catch {
            try? await channel.close()
            throw error
        }
        try? await channel.close()
    }

    private func converse(_ channel: any Channel, _ replies: SMTPReplyHandler, to recipient: String, subject: String, body: String) async throws {
        try await expect(replies.next(on: channel, timeout: replyTimeout), 220, "the greeting")
        var lines = try await command(channel, replies, "EHLO strongroom", expect: 250)
        if relay.startTLS {
            try await command(channel, replies, "STARTTLS", expect: 220)
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.minimumTLSVersion = .tlsv12
            if let caFile = relay.caFile { tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile)) }
            let context = try NIOSSLContext(configuration: tls)
            let hostname = relay.host.first?.isNumber == true || relay.host.contains(":") ? nil : relay.host
            try await channel.eventLoop.flatSubmit {
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: context, serverHostname: hostname),
                                                                   position: .first)
                }
            }.get()
            lines = try await command(channel, replies, "EHLO strongroom", expect: 250)
        }
        if let credentials = relay.credentials {
            // Never in the clear: validate() refuses credentials without STARTTLS, and this checks again.
            guard relay.startTLS else { throw SMTPError.refused(step: "AUTH", code: 0) }
            let mechanisms = lines.filter { $0.uppercased().hasPrefix("AUTH") }.joined(separator: " ").uppercased()
            if mechanisms.contains("PLAIN") || !mechanisms.contains("LOGIN") {
                let token = Data(("\0" + credentials.user + "\0" + credentials.password).utf8).base64EncodedString()
                try await command(channel, replies, "AUTH PLAIN " + token, expect: 235, step: "AUTH PLAIN")
            } else {
                try await command(channel, replies, "AUTH LOGIN", expect: 334)
                try await command(channel, replies, Data(credentials.user.utf8).base64EncodedString(), expect: 334, step: "AUTH LOGIN user")
                try await command(channel, replies, Data(credentials.password.utf8).base64EncodedString(), expect: 235, step: "AUTH LOGIN password")
            }
        }
        try await command(channel, replies, "MAIL FROM:<\(relay.from)>", expect: 250, step: "MAIL FROM")
        let rcpt = try await send(channel, replies, "RCPT TO:<\(recipient)>")
        guard rcpt.code == 250 || rcpt.code == 251 else { throw SMTPError.refused(step: "RCPT TO", code: rcpt.code) }
        try await command(channel, replies, "DATA", expect: 354)
        try await command(channel, replies, Self.message(from: relay.from, to: recipient, subject: subject, body: body) + ".",
                          expect: 250, step: "the message")
        _ = try? await send(channel, replies, "QUIT")
    }

    /// The message: headers and body with CRLF line ends, and a leading dot doubled (RFC 5321
    /// 4.5.2), ending with CRLF so the lone "." that follows ends the data.
    static func message(from: String, to: String, subject: String, body: String) -> String {
        let date = DateFormatter()
        date.locale = Locale(identifier: "en_US_POSIX")
        date.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        let headers = [
            "From: Strongroom <\(from)>", "To: <\(to)>", "Subject: \(subject)", "Date: \(date.string(from: Date()))",
            "MIME-Version: 1.0", "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: 8bit",
        ]
        let lines = body.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            let trimmed = line.hasSuffix("\r") ? String(line.dropLast()) : String(line)
            return trimmed.hasPrefix(".") ? "." + trimmed : trimmed
        }
        return (headers + [""] + lines).joined(separator: "\r\n") + "\r\n"
    }

    @discardableResult
    private func command(_ channel: any Channel, _ replies: SMTPReplyHandler, _ line: String, expect code: Int,
                         step: String? = nil) async throws -> [String] {
        let reply = try await send(channel, replies, line, step: step)
        try expect(reply, code, step ?? line)
        return reply.lines
    }

    private func send(_ channel: any Channel, _ replies: SMTPReplyHandler, _ line: String, step: String? = nil) async throws -> SMTPReply {
        try await channel.writeAndFlush(ByteBuffer(string: line + "\r\n")).get()
        do { return try await replies.next(on: channel, timeout: replyTimeout) } catch let error as SMTPError {
            throw error.at(step ?? line)
        }
    }

    private func expect(_ reply: SMTPReply, _ code: Int, _ step: String) throws {
        guard reply.code == code else { throw SMTPError.refused(step: step, code: reply.code) }
    }
}

/// One reply: its code and the text of each line (after the code and separator).
struct SMTPReply: Sendable {
    let code: Int
    let lines: [String]
}

extension SMTPError {
    /// The same error, naming the step (a command's first word only: never an argument).
    func at(_ step: String) -> SMTPError {
        let name = String(step.split(separator: " ").prefix(step.hasPrefix("MAIL") || step.hasPrefix("RCPT") ? 2 : 1)
            .joined(separator: " ").prefix(while: { $0 != ":" }))
        switch self {
        case .malformedReply: return .malformedReply(step: name)
        case .connectionClosed: return .connectionClosed(step: name)
        case .timedOut: return .timedOut(step: name)
        default: return self
        }
    }
}

/// Reads the relay's replies line by line and hands out each complete one (a multi-line reply
/// ends at the line with a space after its code). Replies are kept in order for whoever asks.
final class SMTPReplyHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer

    // Touched only on the channel's event loop.
    private var partial: [UInt8] = []
    private var lines: [String] = []
    private var ready: [Result<SMTPReply, SMTPError>] = []
    private var waiting: [EventLoopPromise<SMTPReply>] = []
    private var closed = false

    /// Longest reply line accepted: RFC 5321 says 512; a relay sending more is not one.
    static let maxLine = 4096

    func next(on channel: any Channel, timeout: TimeAmount) async throws -> SMTPReply {
        let loop = channel.eventLoop
        let promise = loop.makePromise(of: SMTPReply.self)
        loop.execute {
            if !self.ready.isEmpty {
                promise.completeWith(self.ready.removeFirst().mapError { $0 as any Error })
            } else if self.closed {
                promise.fail(SMTPError.connectionClosed(step: ""))
            } else {
                self.waiting.append(promise)
                loop.scheduleTask(in: timeout) {
                    guard let index = self.waiting.firstIndex(where: { $0.futureResult === promise.futureResult }) else { return }
                    self.waiting.remove(at: index)
                    promise.fail(SMTPError.timedOut(step: ""))
                    channel.close(promise: nil)
                }
            }
        }
        return try await promise.futureResult.get()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        guard let bytes = buffer.readBytes(length: buffer.readableBytes) else { return }
        for byte in bytes {
            if byte == UInt8(ascii: "\n") {
                if partial.last == UInt8(ascii: "\r") { partial.removeLast() }
                line(String(decoding: partial, as: UTF8.self))
                partial.removeAll(keepingCapacity: true)
            } else {
                partial.append(byte)
                if partial.count > Self.maxLine {
                    deliver(.failure(.malformedReply(step: "")))
                    context.close(promise: nil)
                    return
                }
            }
        }
    }

    private func line(_ text: String) {
        let digits = text.prefix(3)
        guard digits.count == 3, let code = Int(digits), (200...599).contains(code) else {
            return deliver(.failure(.malformedReply(step: "")))
        }
        let separator = text.dropFirst(3).first
        lines.append(String(text.dropFirst(4)))
        if separator == "-" { return }
        let reply = SMTPReply(code: code, lines: lines)
        lines.removeAll()
        deliver(.success(reply))
    }

    private func deliver(_ result: Result<SMTPReply, SMTPError>) {
        if waiting.isEmpty { ready.append(result) } else { waiting.removeFirst().completeWith(result.mapError { $0 as any Error }) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        for promise in waiting { promise.fail(SMTPError.connectionClosed(step: "")) }
        waiting.removeAll()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
