import Foundation
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import PostgresNIO

/// A bounded set of PostgreSQL connections for blocking callers: each call takes a connection
/// (opening one when none is idle and the bound allows), runs on it alone and gives it back.
/// A connection that failed below SQL (closed by a restart, a broken socket) is dropped, so the
/// next call opens a new one: a database restart costs the calls made while it was away (they
/// fail with `StorageError.databaseUnavailable`), nothing after.
final class PostgresPool: @unchecked Sendable {
    /// Connections at most: a node's blocking pool has as many threads, and group commit uses one.
    static let defaultSize = 16
    /// Idle connections kept open for the next calls; more are closed as they come back, so a
    /// burst does not hold the server's connections for good.
    static let idleKept = 4

    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let configuration: PostgresConnection.Configuration
    /// PostgreSQL's own log lines could hold statement text with ids: none are written.
    private let logger = Logger(label: "strongroom.postgres", factory: { _ in SwiftLogNoOpLogHandler() })
    private let lock = NSLock()
    private var idle: [PostgresConnection] = []
    private var nextID = 0
    private let slots: DispatchSemaphore
    private var closed = false
    let location: PostgresLocation
    /// Marks, in a thread's dictionary, that the thread holds one of this pool's connections.
    private let threadKey = "strongroom.postgres." + UUID().uuidString

    init(location: PostgresLocation, password: String?, size: Int = PostgresPool.defaultSize) throws {
        self.location = location
        var tls = PostgresConnection.Configuration.TLS.disable
        if location.tls {
            do {
                tls = .require(try NIOSSLContext(configuration: .makeClientConfiguration()))
            } catch {
                throw StorageError.database("TLS could not be set up for \(location.description)")
            }
        }
        var configuration = PostgresConnection.Configuration(
            host: location.host, port: location.port, username: location.user, password: password,
            database: location.database, tls: tls)
        configuration.options.connectTimeout = .seconds(5)
        // A write waiting for the log's head lock gives up before the client's answer timeout
        // (`PostgresSQL.answerTimeout`), and a node that stops mid-transaction (frozen, cut off)
        // loses its locks instead of holding every node's writes.
        configuration.options.additionalStartupParameters = [
            ("lock_timeout", "45s"), ("idle_in_transaction_session_timeout", "120s"),
        ]
        self.configuration = configuration
        slots = DispatchSemaphore(value: size)
    }

    deinit {
        close()
    }

    /// Runs `body` on a connection of its own. A call made from inside another's `body` on the
    /// same thread (a read inside a write's work) takes a connection beyond the bound: waiting
    /// for a slot held by its own caller, or by others waiting likewise, would never end.
    func with<T>(_ body: (PostgresSQL) throws -> T) throws -> T {
        let key = threadKey
        let thread = Thread.current.threadDictionary
        let nested = thread[key] != nil
        if !nested {
            slots.wait()
            thread[key] = true
        }
        defer {
            if !nested {
                thread.removeObject(forKey: key)
                slots.signal()
            }
        }
        if lock.withLock({ closed }) { throw StorageError.databaseUnavailable("the catalog was closed") }
        // An idle connection the server closed meanwhile (a restart) is dropped, not used.
        var reused: PostgresConnection?
        while reused == nil, let next = lock.withLock({ idle.popLast() }) {
            if next.isClosed { Self.close(next) } else { reused = next }
        }
        let connection = try reused ?? connect()
        do {
            let value = try body(PostgresSQL(connection: connection, logger: logger))
            giveBack(connection)
            return value
        } catch {
            if Self.isConnectionFailure(error) || connection.isClosed || Self.isNoAnswer(error) {
                Self.close(connection)
                throw StorageError.databaseUnavailable("the connection to \(location.description) was lost")
            }
            giveBack(connection)
            throw error
        }
    }

    /// Runs `body` in a transaction (`BEGIN`, or `begin`): committed when it returns, rolled
    /// back when it throws.
    func transaction<T>(begin: String = "BEGIN", _ body: (PostgresSQL) throws -> T) throws -> T {
        try with { sql in
            try sql.execute(begin)
            let value: T
            do {
                value = try body(sql)
            } catch {
                try sql.execute("ROLLBACK")
                throw error
            }
            try sql.execute("COMMIT")
            return value
        }
    }

    /// Closes the idle connections and the event loop; later calls fail.
    func close() {
        let connections: [PostgresConnection]? = lock.withLock {
            guard !closed else { return nil }
            closed = true
            defer { idle.removeAll() }
            return idle
        }
        guard let connections else { return }
        for connection in connections { try? connection.close().wait() }
        try? group.syncShutdownGracefully()
    }

    private func giveBack(_ connection: PostgresConnection) {
        let keep = lock.withLock { () -> Bool in
            guard !closed, !connection.isClosed, idle.count < Self.idleKept else { return false }
            idle.append(connection)
            return true
        }
        if !keep { Self.close(connection) }
    }

    private func connect() throws -> PostgresConnection {
        let id = lock.withLock { () -> Int in
            nextID += 1
            return nextID
        }
        do {
            return try PostgresConnection.connect(on: group.next(), configuration: configuration, id: id, logger: logger).wait()
        } catch let error as PSQLError where error.code == .server && !Self.isConnectionFailure(error) {
            // Refused by the server itself: a wrong password, an unknown database or role.
            let state = error.serverInfo?[.sqlState] ?? "unknown"
            throw StorageError.database("\(location.description) refused the connection (SQLSTATE \(state)); check the user, the database and PGPASSWORD or ~/.pgpass")
        } catch {
            throw StorageError.databaseUnavailable("\(location.description) did not answer")
        }
    }

    /// Closes a connection this pool no longer keeps, holding it until it is closed (PostgresNIO
    /// requires a connection to be closed before it goes).
    private static func close(_ connection: PostgresConnection) {
        connection.close().whenComplete { _ in withExtendedLifetime(connection) {} }
    }

    /// A statement that got no answer in time (`PostgresSQL.answerTimeout`), or was refused on a
    /// closed connection.
    static func isNoAnswer(_ error: any Error) -> Bool {
        if case StorageError.databaseUnavailable? = error as? StorageError { return true }
        return false
    }

    /// Failures of the connection rather than of a statement.
    static func isConnectionFailure(_ error: any Error) -> Bool {
        guard let error = error as? PSQLError else { return error is ChannelError || error is IOError }
        switch error.code {
        case .server:
            // Administrator shutdown, crash recovery, cannot connect now, too many connections.
            let state = error.serverInfo?[.sqlState] ?? ""
            return state.hasPrefix("57P") || state.hasPrefix("08") || state == "53300"
        case .serverClosedConnection, .clientClosedConnection, .connectionError, .uncleanShutdown:
            return true
        default:
            return false
        }
    }
}
