import Foundation
import Storage

/// A shred request as its school's DSLs, deputies and DPOs see it: the request, and for one still
/// waiting, what its records are now (live or gone, held or not).
public struct ShredRequestEntry: Sendable, Equatable {
    public struct Item: Sendable, Equatable {
        public var id: String
        public var child: String
        public var kind: String
        public var reviewOn: String
        /// An active legal hold covers it: approving the request would void it.
        public var held: Bool
    }

    public var request: ShredRequest
    /// The records the request names that are still live (only while the request is pending).
    public var items: [Item]
    /// When a pending request lapses unapproved.
    public var expiresAtMillis: Int64
    /// When the vault listed it (by its clock).
    public var listedAtMillis: Int64

    /// Whether `principal` is the second person this request waits for, as of its listing.
    public func waits(for principal: Principal) -> Bool { waits(for: principal, nowMillis: listedAtMillis) }

    /// Whether `principal` is the second person this request waits for: pending, not lapsed at
    /// `nowMillis`, made by someone else, of the complementary role, in one of their schools.
    public func waits(for principal: Principal, nowMillis: Int64) -> Bool {
        guard request.state == .pending, nowMillis <= expiresAtMillis, principal.schools.contains(request.school),
              !isOwn(principal), let role = Role(rawValue: request.requestedRole) else { return false }
        return ShredPolicy.complementary(role, principal.role)
    }

    /// Whether `principal` made this request (by account, never by name).
    public func isOwn(_ principal: Principal) -> Bool {
        request.requestedAccount == principal.account
    }
}

extension Vault {
    /// How many requests a listing returns at most, newest first.
    static let shredRequestListLimit = 500

    func shredRequests(school: String?, by caller: Caller) throws -> [ShredRequestEntry] {
        let principal = try requirePrincipal(.shred, caller)
        try requireSchool(.shred, principal, school: school)
        let schools = school.map { [$0] } ?? principal.schools.sorted()
        let requests = try vaulting { try catalog.shredRequests(schools: schools, limit: Self.shredRequestListLimit) }
        let pendingIDs = requests.filter { $0.state == .pending }.flatMap(\.records).filter(RecordID.isValid)
        let live = Dictionary(try liveRecords(ids: pendingIDs).map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let holds = pendingIDs.isEmpty ? [] : try activeHolds(school: nil)
        let lifetime = Int64(ShredPolicy.requestLifetimeDays) * 86_400_000
        let now = nowMillis
        let entries = requests.map { request in
            let items: [ShredRequestEntry.Item] = request.state != .pending ? [] : request.records.compactMap { id in
                guard let r = live[id], r.school == request.school else { return nil }
                return .init(id: r.id, child: r.child, kind: r.kind, reviewOn: r.reviewOn, held: holds.contains { $0.covers(r) })
            }
            return ShredRequestEntry(request: request, items: items, expiresAtMillis: request.requestedAtMillis + lifetime, listedAtMillis: now)
        }
        try audit(AuditEntry(actor: principal.actor, action: .shredList, outcome: .ok, school: school,
                             reason: "\(entries.count) shred requests"))
        return entries
    }

    func withdrawShred(id: String, by caller: Caller) throws -> ShredRequest {
        let principal = try requirePrincipal(.shred, caller)
        let keys = try requireKeys("withdrawing a shred request")
        try requireCapability(.shred, principal, school: nil)
        guard let request = try vaulting({ try catalog.shredRequest(id: id) }), principal.schools.contains(request.school) else {
            try deny(principal, .shred, reason: "no such shred request in the user's schools")
            throw VaultError.notFound(LogText.escape(id))
        }
        func refuse(_ why: String) throws -> Never {
            try audit(AuditEntry(actor: principal.actor, action: .shredWithdraw, outcome: .refused, school: request.school,
                                 reason: "\(request.id): \(why)"))
            throw VaultError.conflict(why)
        }
        // Only the person who asked takes a request back: anyone else who disagrees simply does
        // not approve it, and the request lapses.
        guard request.requestedAccount == principal.account else {
            try refuse("only the person who asked for a shred can withdraw the request")
        }
        guard request.state == .pending else {
            try refuse("shred request \(request.id) is \(request.state.rawValue), not waiting for approval, so it cannot be withdrawn")
        }
        let at = nowMillis
        do {
            try vaulting {
                try catalog.withdrawShredRequest(
                    id: request.id, by: principal.actor.description, atMillis: at,
                    event: AuditEntry(actor: principal.actor, action: .shredWithdraw, outcome: .ok, school: request.school,
                                      reason: "\(request.id): withdrawn by the requester"),
                    signer: try keys.auditSigner())
            }
        } catch VaultError.storage(.lifecycleConflict(let why)) {
            // Approved or withdrawn by another process since it was read.
            try refuse(why)
        }
        var withdrawn = request
        withdrawn.state = .withdrawn
        withdrawn.withdrawnBy = principal.actor.description
        withdrawn.withdrawnAtMillis = at
        return withdrawn
    }
}
