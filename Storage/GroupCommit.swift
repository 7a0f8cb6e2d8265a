import Foundation

/// Group commit for the catalog's writer. Concurrent callers queue their work; whoever finds no
/// commit in progress becomes the leader, runs every queued piece of work in one transaction
/// (each in its own savepoint, so one caller's failure does not undo another's) and commits
/// once: one fsync (SQLite's WAL, PostgreSQL's WAL flush) for the whole group. A caller returns
/// only after the transaction holding its work is durable, or with the error that stopped it.
/// This is what lets a busy server write a durable audit event per download without an fsync
/// per event. On PostgreSQL each node groups its own callers; nodes take turns on the log's head.
final class GroupCommit: @unchecked Sendable {
    typealias Transaction = ((any CatalogSQL) throws -> Void) throws -> Void

    private final class Item {
        let work: (any CatalogSQL) throws -> Any
        var result: Result<Any, Error>?
        /// Signalled once: with the result set, or (result still nil) to lead the next group.
        let wake = DispatchSemaphore(value: 0)
        init(_ work: @escaping (any CatalogSQL) throws -> Any) { self.work = work }
    }

    private let lock = NSLock()
    private var queue: [Item] = []
    private var committing = false
    private let transaction: Transaction
    /// Runs once per group, before its first item, inside its transaction.
    private let beginGroup: (any CatalogSQL) throws -> Void
    /// Runs once per group, after every item, inside the same transaction (signs a checkpoint);
    /// what it returns runs once the transaction has committed.
    private let finishGroup: (any CatalogSQL) throws -> (() -> Void)?

    init(
        transaction: @escaping Transaction, beginGroup: @escaping (any CatalogSQL) throws -> Void = { _ in },
        finishGroup: @escaping (any CatalogSQL) throws -> (() -> Void)?
    ) {
        self.transaction = transaction
        self.beginGroup = beginGroup
        self.finishGroup = finishGroup
    }

    /// Each waiter is woken exactly once (no broadcast that wakes every waiting thread): with
    /// its result, or to lead the next group when the leader before it found work queued.
    func run<T>(_ work: @escaping (any CatalogSQL) throws -> T) throws -> T {
        let item = Item { try work($0) }
        lock.lock()
        queue.append(item)
        if committing {
            lock.unlock()
            item.wake.wait()
            if let result = item.result { return try result.get() as! T }
            lock.lock()  // Woken to lead: `committing` stayed true for this thread.
        } else {
            committing = true
        }
        let group = queue
        queue.removeAll()
        lock.unlock()
        commit(group)
        lock.lock()
        let next = queue.first
        if next == nil { committing = false }
        lock.unlock()
        for other in group where other !== item { other.wake.signal() }
        next?.wake.signal()
        return try item.result!.get() as! T
    }

    private func commit(_ group: [Item]) {
        var outcomes: [Result<Any, Error>] = []
        var afterCommit: (() -> Void)?
        do {
            if group.count == 1 {
                // Alone: the transaction itself is the item's boundary; no savepoint needed.
                var value: Any = ()
                try transaction { db in
                    try beginGroup(db)
                    value = try group[0].work(db)
                    afterCommit = try finishGroup(db)
                }
                afterCommit?()
                group[0].result = .success(value)
                return
            }
            try transaction { db in
                afterCommit = nil
                try beginGroup(db)
                outcomes = []
                for item in group {
                    do {
                        outcomes.append(.success(try db.savepoint { try item.work(db) }))
                    } catch {
                        outcomes.append(.failure(error))
                    }
                }
                if outcomes.contains(where: { if case .success = $0 { true } else { false } }) {
                    afterCommit = try finishGroup(db)
                }
            }
            afterCommit?()
            for (item, outcome) in zip(group, outcomes) { item.result = outcome }
        } catch {
            // The transaction did not commit: nothing of the group is durable.
            for item in group { item.result = .failure(error) }
        }
    }
}
