import Foundation
import Storage

/// A request refused before anyone was known: no bearer token, an unknown or revoked one, a
/// download or receipt link that does not exist. Each such refusal is free for whoever sends
/// it, so over HTTP its audit is coalesced per source (docs/audit.md, "Refusals of unknown
/// callers"): the first from a source in a window is an event at once, the rest are counted,
/// and one event per source and window says how many.
public enum AnonymousRefusal: Sendable, Hashable, CaseIterable {
    case noToken, unknownToken, wrongMetricsToken
    case unknownLink, malformedLink
    case unknownReceiptLink, malformedReceiptLink
    /// A transfer package link that does not exist, or a receipt for no transfer of this vault.
    case unknownTransferLink, malformedTransferLink, unknownTransferReceipt, unverifiedTransferReceipt
    /// A sign-in or step-up with a wrong name, passphrase, code or passkey.
    case failedSignIn
    /// An enrolment link that does not exist, was used or has expired.
    case unusableEnrolment
    /// A state change with a session cookie but without the CSRF token or a same-origin Origin.
    case crossSite

    /// The audit action, as the same refusal has when it is audited at once.
    public var action: AuditAction {
        switch self {
        case .noToken, .unknownToken, .wrongMetricsToken: .authenticate
        case .unknownLink, .malformedLink: .bundleDownload
        case .unknownReceiptLink, .malformedReceiptLink: .bundleReceipt
        case .unknownTransferLink, .malformedTransferLink: .transferDownload
        case .unknownTransferReceipt, .unverifiedTransferReceipt: .transferReceipt
        case .failedSignIn: .signInFailed
        case .unusableEnrolment: .enrol
        case .crossSite: .csrf
        }
    }

    public var reason: String {
        switch self {
        case .noToken: "no bearer token"
        case .unknownToken: "unknown or revoked token"
        case .wrongMetricsToken: "no valid metrics token"
        case .unknownLink, .unknownReceiptLink, .unknownTransferLink: "unknown link"
        case .malformedLink, .malformedReceiptLink, .malformedTransferLink: "malformed link"
        case .unknownTransferReceipt: "a receipt for no transfer of this vault"
        case .unverifiedTransferReceipt: "a receipt not signed by the receiving school's pinned key, or for another package"
        case .failedSignIn: "wrong name, passphrase, code or passkey"
        case .unusableEnrolment: "unknown, used or expired enrolment link"
        case .crossSite: "no CSRF token or another origin"
        }
    }

    /// What the counted requests were, in a window's summary.
    static func requests(_ action: AuditAction) -> String {
        switch action {
        case .authenticate: "requests without a valid token"
        case .bundleDownload: "downloads of an unknown link"
        case .signInFailed: "failed sign-ins"
        case .enrol: "uses of an unusable enrolment link"
        case .csrf: "cross-site requests"
        case .transferDownload: "downloads of an unknown transfer link"
        case .transferReceipt: "receipts refused (no such transfer, wrong key or another package)"
        default: "receipts for an unknown link"
        }
    }
}

/// The open windows of anonymous refusals, per source and action, in bounded memory: at most
/// `maxSources` keys are tracked; a refusal from a source beyond them is counted under one
/// "other sources" key per action. Windows that ended wait in `due` (also bounded, the same
/// way) until their summaries are written. The clock is injected.
final class AnonymousRefusalTally: @unchecked Sendable {
    struct Key: Hashable {
        var source: String
        var action: AuditAction
    }

    struct Window: Equatable {
        var start: Date
        /// Refusals after the first (which was written at once), by kind.
        var counts: [AnonymousRefusal: Int] = [:]
        var total: Int { counts.values.reduce(0, +) }

        mutating func merge(_ other: Window) {
            start = min(start, other.start)
            for (kind, n) in other.counts { counts[kind, default: 0] += n }
        }
    }

    /// Every refusal names one of these: fixed words, never a request's bytes.
    static let otherSources = "other sources"
    /// Longest source kept (an IPv6 address with a prefix length fits).
    static let sourceLength = 64

    let clock: @Sendable () -> Date
    let window: TimeInterval
    let maxSources: Int
    private let lock = NSLock()
    private var open: [Key: Window] = [:]
    private var due: [Key: Window] = [:]

    init(clock: @escaping @Sendable () -> Date, window: TimeInterval = 60, maxSources: Int = 256) {
        self.clock = clock
        self.window = window
        self.maxSources = maxSources
    }

    /// Counts one refusal. True when it is the first of its window: the caller writes its
    /// event at once (and calls `unwritten` if that fails).
    func note(_ refusal: AnonymousRefusal, source: String) -> (first: Bool, key: Key) {
        let now = clock()
        return lock.withLock {
            var key = Key(source: String(source.prefix(Self.sourceLength)), action: refusal.action)
            if open[key] == nil, open.keys.filter({ $0.source != Self.otherSources }).count >= maxSources {
                key.source = Self.otherSources
            }
            if var current = open[key] {
                if now < current.start + window {
                    current.counts[refusal, default: 0] += 1
                    open[key] = current
                    return (false, key)
                }
                if current.total > 0 { keep(current, key, in: &due) }
            }
            open[key] = Window(start: now)
            return (true, key)
        }
    }

    /// The first refusal's event could not be written: it is counted with the rest instead.
    func unwritten(_ refusal: AnonymousRefusal, key: Key) {
        lock.withLock { open[key]?.counts[refusal, default: 0] += 1 }
    }

    /// Takes the windows that ended (all of them when `all`, at shutdown) with something counted.
    func takeDue(all: Bool) -> [Key: Window] {
        let now = clock()
        return lock.withLock {
            for (key, w) in open where all || now >= w.start + window {
                open[key] = nil
                if w.total > 0 { keep(w, key, in: &due) }
            }
            defer { due = [:] }
            return due
        }
    }

    /// Windows whose summaries could not be written: kept for the next attempt.
    func giveBack(_ windows: [Key: Window]) {
        lock.withLock { for (key, w) in windows { keep(w, key, in: &due) } }
    }

    /// Keys tracked now (open windows and summaries not yet written).
    var trackedKeys: Int { lock.withLock { open.count + due.count } }

    /// Adds `w` to `table`, under "other sources" when the table is full.
    private func keep(_ w: Window, _ key: Key, in table: inout [Key: Window]) {
        var key = key
        if table[key] == nil, table.keys.filter({ $0.source != Self.otherSources }).count >= maxSources {
            key.source = Self.otherSources
        }
        if var existing = table[key] {
            existing.merge(w)
            table[key] = existing
        } else {
            table[key] = w
        }
    }

    /// The event written at once for the first refusal of a window.
    static func firstEntry(_ refusal: AnonymousRefusal, request: String?, key: Key) -> AuditEntry {
        let from = key.source == otherSources ? "one of many sources" : key.source
        return AuditEntry(actor: .anonymous, action: refusal.action, outcome: .denied,
                          reason: "from \(from): " + (request.map { "\($0): " } ?? "") + refusal.reason)
    }

    /// The event that counts a window's refusals after its first.
    static func summaryEntry(_ key: Key, _ w: Window) -> AuditEntry {
        let kinds = AnonymousRefusal.allCases.compactMap { kind in w.counts[kind].map { "\($0) \(kind.reason)" } }
        let since = ISO8601DateFormatter().string(from: w.start)
        return AuditEntry(actor: .anonymous, action: key.action, outcome: .denied,
                          reason: "from \(key.source): \(w.total) more \(AnonymousRefusal.requests(key.action)) since \(since) (\(kinds.joined(separator: ", ")))")
    }
}

extension Vault {
    func recordAnonymousRefusal(_ refusal: AnonymousRefusal, request: String? = nil, from source: String) throws {
        let (first, key) = anonymousRefusals.note(refusal, source: source)
        guard first else { return }
        do {
            try audit(AnonymousRefusalTally.firstEntry(refusal, request: request, key: key))
        } catch {
            anonymousRefusals.unwritten(refusal, key: key)
            throw error
        }
    }

    func flushAnonymousRefusals(all: Bool = false) throws {
        let due = anonymousRefusals.takeDue(all: all)
        guard !due.isEmpty else { return }
        let entries = due.sorted { ($0.key.action.rawValue, $0.key.source) < ($1.key.action.rawValue, $1.key.source) }
            .map { AnonymousRefusalTally.summaryEntry($0.key, $0.value) }
        do {
            _ = try timedAudit { try vaulting { try catalog.append(entries, signer: signer) } }
        } catch {
            anonymousRefusals.giveBack(due)
            throw error
        }
    }
}
