import Foundation
import GRDB
import Logging
import NIOCore
import PostgresNIO

/// `CatalogSQL` on one PostgreSQL connection, for the thread that holds it (`PostgresPool`).
/// Calls block: the catalog is synchronous and runs on the server's blocking pool, never on an
/// event loop; the connection's own event loop group is PostgreSQL's alone.
///
/// `?` placeholders become `$1, $2, ...`; values bind as BIGINT, DOUBLE, TEXT or BYTEA (what
/// GRDB's `DatabaseValue` holds), and result cells come back as GRDB `Row`s keyed by column
/// name, so records decode exactly as they do from SQLite.
final class PostgresSQL: CatalogSQL {
    let connection: PostgresConnection
    private let logger: Logger
    private var savepoints = 0

    init(connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    @discardableResult
    func execute(_ sql: String, _ arguments: SQLArguments) throws -> Int {
        try run(sql, arguments).metadata.rows ?? 0
    }

    func rows(_ sql: String, _ arguments: SQLArguments) throws -> [Row] {
        try run(sql, arguments).rows.map(Self.row)
    }

    func forEachRow(_ sql: String, _ arguments: SQLArguments, _ body: (Row) throws -> Void) throws {
        for row in try run(sql, arguments).rows { try body(Self.row(row)) }
    }

    func savepoint<T>(_ body: () throws -> T) throws -> T {
        savepoints += 1
        let name = "strongroom_\(savepoints)"
        defer { savepoints -= 1 }
        try execute("SAVEPOINT \(name)")
        do {
            let value = try body()
            try execute("RELEASE SAVEPOINT \(name)")
            return value
        } catch {
            try execute("ROLLBACK TO SAVEPOINT \(name)")
            try execute("RELEASE SAVEPOINT \(name)")
            throw error
        }
    }

    /// Statements without placeholders or results, one at a time (PostgreSQL's extended
    /// protocol takes one statement per query): schema migrations.
    func executeScript(_ script: String) throws {
        for statement in Self.statements(script) { try execute(statement) }
    }

    private func run(_ sql: String, _ arguments: SQLArguments) throws -> PostgresQueryResult {
        var bindings = PostgresBindings(capacity: arguments.count)
        for argument in arguments {
            switch argument?.databaseValue.storage {
            case nil, .null?: bindings.appendNull()
            case .int64(let value)?: bindings.append(value)
            case .double(let value)?: bindings.append(value)
            case .string(let value)?: bindings.append(value)
            case .blob(let value)?: bindings.append(ByteBuffer(bytes: value))
            }
        }
        let query = PostgresQuery(unsafeSQL: Self.numbered(sql), binds: bindings)
        // PostgresNIO never answers a query written to a connection that has already closed (a
        // database restart): such a connection is refused here, and any answer that takes longer
        // than `answerTimeout` is given up on, the connection then dropped by the pool.
        guard !connection.isClosed else { throw StorageError.databaseUnavailable("the connection was closed") }
        return try Self.answer(connection.query(query, logger: logger), on: connection.eventLoop, within: answerTimeout).wait()
    }

    /// How long a statement's answer may take before the connection is taken to be dead.
    static let answerTimeout: TimeAmount = .seconds(60)
    /// This connection's: longer for work that may rightly take long (a schema migration).
    var answerTimeout = PostgresSQL.answerTimeout

    /// `future`, or a failure once `timeout` has passed without it.
    static func answer<T: Sendable>(_ future: EventLoopFuture<T>, on loop: any EventLoop, within timeout: TimeAmount) -> EventLoopFuture<T> {
        let promise = loop.makePromise(of: T.self)
        let settled = Settled()
        let deadline = loop.scheduleTask(in: timeout) {
            if settled.first() {
                promise.fail(StorageError.databaseUnavailable("no answer within \(timeout.nanoseconds / 1_000_000_000) s"))
            }
        }
        future.whenComplete { result in
            deadline.cancel()
            if settled.first() { promise.completeWith(result) }
        }
        return promise.futureResult
    }

    /// True for the first caller only: the answer or the deadline, whichever comes first.
    private final class Settled: @unchecked Sendable {
        private let lock = NSLock()
        private var done = false
        func first() -> Bool {
            lock.withLock {
                defer { done = true }
                return !done
            }
        }
    }

    /// `?` outside quotes becomes `$1`, `$2`, ... in order.
    static func numbered(_ sql: String) -> String {
        guard sql.contains("?") else { return sql }
        var out = ""
        out.reserveCapacity(sql.utf8.count + 16)
        var n = 0
        var quote: Character?
        for c in sql {
            if let open = quote {
                if c == open { quote = nil }
                out.append(c)
            } else if c == "'" || c == "\"" {
                quote = c
                out.append(c)
            } else if c == "?" {
                n += 1
                out += "$\(n)"
            } else {
                out.append(c)
            }
        }
        return out
    }

    /// A script's statements, split at `;` outside quotes and `$$` bodies, without `--` comments.
    static func statements(_ script: String) -> [String] {
        var out: [String] = []
        var current = ""
        var inQuote = false
        var inBody = false
        for line in script.split(separator: "\n", omittingEmptySubsequences: false) {
            var previous: Character = " "
            for c in line {
                if c == "-" && previous == "-" && !inQuote && !inBody {
                    current.removeLast()  // the first dash; the rest of the line is a comment
                    break
                }
                current.append(c)
                if c == "'" && !inBody { inQuote.toggle() }
                if c == "$" && previous == "$" && !inQuote { inBody.toggle() }
                if c == ";" && !inQuote && !inBody {
                    let statement = current.trimmingCharacters(in: .whitespacesAndNewlines)
                    if statement.count > 1 { out.append(statement) }
                    current = ""
                }
                previous = c
            }
            current.append("\n")
        }
        let rest = current.trimmingCharacters(in: .whitespacesAndNewlines)
        if !rest.isEmpty { out.append(rest) }
        return out
    }

    /// A result row as a GRDB row, each cell as the `DatabaseValue` SQLite would have given.
    static func row(_ row: PostgresRow) throws -> Row {
        var columns: [String: (any DatabaseValueConvertible)?] = [:]
        for cell in row {
            columns[cell.columnName] = try value(cell)
        }
        return Row(columns)
    }

    private static func value(_ cell: PostgresCell) throws -> DatabaseValue {
        guard cell.bytes != nil else { return .null }
        switch cell.dataType {
        case .int2, .int4, .int8: return try cell.decode(Int64.self).databaseValue
        case .bool: return (try cell.decode(Bool.self) ? 1 : 0).databaseValue
        case .float4, .float8: return try cell.decode(Double.self).databaseValue
        case .bytea: return Data(try cell.decode(ByteBuffer.self).readableBytesView).databaseValue
        case .numeric:
            // Sums of BIGINT columns: whole numbers as SQLite gives them.
            let decimal = try cell.decode(Decimal.self)
            var rounded = decimal
            var source = decimal
            NSDecimalRound(&rounded, &source, 0, .plain)
            if rounded == decimal, let whole = Int64(exactly: NSDecimalNumber(decimal: decimal).int64Value),
               Decimal(whole) == decimal {
                return whole.databaseValue
            }
            return NSDecimalNumber(decimal: decimal).doubleValue.databaseValue
        default: return try cell.decode(String.self).databaseValue
        }
    }
}
