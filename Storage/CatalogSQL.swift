import Foundation
import GRDB

/// A statement's arguments: values GRDB can store (String, Int64, Int, Data, Bool...) or nil.
typealias SQLArguments = [(any DatabaseValueConvertible)?]

/// The SQL a catalog operation runs, on either engine: an SQLite connection (GRDB's `Database`)
/// or a PostgreSQL connection inside its transaction (`PostgresSQL`). The catalog's operations
/// are written once against this (`RelationalCatalog`), so both engines give the same answers
/// and keep the same rules.
///
/// Statements use `?` placeholders and SQL both engines read alike (docs/storage-postgres.md,
/// "One SQL for two engines"): `ON CONFLICT ... DO UPDATE` for upserts, `COALESCE`, `||`, no
/// engine functions. Rows come back as GRDB `Row`s read **by column name** (a PostgreSQL row
/// has no column order here), and records decode from them as they always have.
protocol CatalogSQL: AnyObject {
    /// Runs a statement; returns how many rows it inserted, changed or deleted.
    @discardableResult
    func execute(_ sql: String, _ arguments: SQLArguments) throws -> Int
    /// Every row of a query.
    func rows(_ sql: String, _ arguments: SQLArguments) throws -> [Row]
    /// Each row of a query in turn, without holding them all (where the engine can stream).
    func forEachRow(_ sql: String, _ arguments: SQLArguments, _ body: (Row) throws -> Void) throws
    /// Runs `body` in a savepoint: undone alone if it throws, the transaction going on.
    func savepoint<T>(_ body: () throws -> T) throws -> T
}

extension CatalogSQL {
    @discardableResult
    func execute(_ sql: String) throws -> Int { try execute(sql, []) }

    /// The first row, or nil. The query should say `LIMIT 1` when it may match more.
    func row(_ sql: String, _ arguments: SQLArguments = []) throws -> Row? {
        var first: Row?
        try forEachRow(sql, arguments) { if first == nil { first = $0.copy() } }
        return first
    }

    /// The first column of the first row, or nil (no row, or NULL).
    func value<T: DatabaseValueConvertible>(_ type: T.Type, _ sql: String, _ arguments: SQLArguments = []) throws -> T? {
        guard let row = try row(sql, arguments), let name = row.columnNames.first else { return nil }
        return row[name]
    }

    /// The first column of every row (NULLs skipped).
    func values<T: DatabaseValueConvertible>(_ type: T.Type, _ sql: String, _ arguments: SQLArguments = []) throws -> [T] {
        var out: [T] = []
        try forEachRow(sql, arguments) { row in
            if let name = row.columnNames.first, let value: T = row[name] { out.append(value) }
        }
        return out
    }

    /// Whether the query returns a row.
    func exists(_ sql: String, _ arguments: SQLArguments = []) throws -> Bool {
        try row(sql, arguments) != nil
    }

    func fetchOne<R: FetchableRecord>(_ type: R.Type, _ sql: String, _ arguments: SQLArguments = []) throws -> R? {
        try row(sql, arguments).map { try R(row: $0) }
    }

    func fetchAll<R: FetchableRecord>(_ type: R.Type, _ sql: String, _ arguments: SQLArguments = []) throws -> [R] {
        var out: [R] = []
        try forEachRow(sql, arguments) { out.append(try R(row: $0)) }
        return out
    }

    /// Inserts `rows` (each its values in the order of `columns`) into `table`, as many rows per
    /// statement as `valuesPerStatement` allows: a round trip per batch, not per row.
    func insertRows(into table: String, columns: [String], _ rows: [SQLArguments]) throws {
        guard !rows.isEmpty else { return }
        let perBatch = max(1, valuesPerStatement / columns.count)
        let names = columns.map { "\"" + $0.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
        let head = "INSERT INTO \(table) (\(names.joined(separator: ", "))) VALUES "
        let row = "(" + placeholders(columns.count) + ")"
        var start = 0
        while start < rows.count {
            let batch = rows[start..<min(rows.count, start + perBatch)]
            try execute(head + Array(repeating: row, count: batch.count).joined(separator: ", "), batch.flatMap { $0 })
            start += batch.count
        }
    }

    /// Inserts records' rows (of one type), batched as `insertRows` does.
    func insertAll<R: EncodableRecord & TableRecord>(_ records: [R]) throws {
        guard let first = records.first else { return }
        let columns = try first.databaseDictionary.keys.sorted()
        let rows: [SQLArguments] = try records.map { record in
            let values = try record.databaseDictionary
            return columns.map { values[$0] ?? nil }
        }
        try insertRows(into: R.databaseTableName, columns: columns, rows)
    }

    /// Inserts a record's row: every column its encoding names.
    func insert<R: EncodableRecord & TableRecord>(_ record: R) throws {
        let columns = try record.databaseDictionary.sorted { $0.key < $1.key }
        let names = columns.map { "\"\($0.key)\"" }.joined(separator: ", ")
        let marks = Array(repeating: "?", count: columns.count).joined(separator: ", ")
        try execute("INSERT INTO \(R.databaseTableName) (\(names)) VALUES (\(marks))", columns.map { $0.value })
    }

    /// Replaces a record's row, found by its key columns; returns how many rows changed (0 or 1).
    @discardableResult
    func update<R: EncodableRecord & TableRecord>(_ record: R, key: String...) throws -> Int {
        let columns = try record.databaseDictionary
        let keys = Set(key)
        let set = columns.filter { !keys.contains($0.key) }.sorted { $0.key < $1.key }
        let assignments = set.map { "\"\($0.key)\" = ?" }.joined(separator: ", ")
        let condition = key.map { "\"\($0)\" = ?" }.joined(separator: " AND ")
        let keyValues: SQLArguments = key.map { columns[$0] }
        return try execute("UPDATE \(R.databaseTableName) SET \(assignments) WHERE \(condition)", set.map { $0.value } + keyValues)
    }
}

/// The most values one batched statement binds: well inside SQLite's limit (32,766) and
/// PostgreSQL's (65,535).
let valuesPerStatement = 4000

extension Array {
    /// The array in consecutive pieces of at most `size` (for `IN (...)` lists).
    func chunked(into size: Int) -> [[Element]] {
        stride(from: 0, to: count, by: Swift.max(1, size)).map { Array(self[$0..<Swift.min(count, $0 + size)]) }
    }
}

/// `?, ?, ?` for an `IN (...)` list of `count` values (at least one).
func placeholders(_ count: Int) -> String {
    Array(repeating: "?", count: max(count, 1)).joined(separator: ", ")
}

/// SQLite through GRDB: statements are prepared once per connection and cached, but for the
/// batched ones (`IN` lists, multi-row inserts), whose text changes with the batch's size and
/// would fill the cache with shapes seldom used again.
extension Database: CatalogSQL {
    private func statement(_ sql: String, _ arguments: SQLArguments) throws -> Statement {
        arguments.count <= 32 ? try cachedStatement(sql: sql) : try makeStatement(sql: sql)
    }

    @discardableResult
    func execute(_ sql: String, _ arguments: SQLArguments) throws -> Int {
        try statement(sql, arguments).execute(arguments: StatementArguments(arguments))
        return changesCount
    }

    func rows(_ sql: String, _ arguments: SQLArguments) throws -> [Row] {
        try Row.fetchAll(statement(sql, arguments), arguments: StatementArguments(arguments))
    }

    func forEachRow(_ sql: String, _ arguments: SQLArguments, _ body: (Row) throws -> Void) throws {
        let cursor = try Row.fetchCursor(statement(sql, arguments), arguments: StatementArguments(arguments))
        while let row = try cursor.next() { try body(row) }
    }

    func savepoint<T>(_ body: () throws -> T) throws -> T {
        var value: T?
        try inSavepoint {
            value = try body()
            return .commit
        }
        return value!
    }
}
