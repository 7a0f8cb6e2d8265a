import Foundation
import GRDB

/// Copies a whole catalog from one engine to another (`CatalogSQL` on each side): moving an
/// embedded store into PostgreSQL, and a backup's snapshot of a PostgreSQL catalog into an
/// embedded database file (docs/storage-postgres.md, "Moving an embedded store").
///
/// Every table is copied but the engines' own bookkeeping (their migration lists) and
/// `key_files`, which holds the key store and the deletion ledger and is moved as files. The
/// tables and their columns are read from each side's own catalog of tables, never from a list
/// kept here: the two sides must hold the same tables with the same columns, or the copy is
/// refused before anything is written (a store of another Strongroom version would otherwise
/// lose a column silently). Columns an engine computes itself (PostgreSQL's `records.rowid`)
/// are left to it.
///
/// The caller runs it inside one read of the source (`RelationalCatalog.read`), so the copy is
/// one moment of the store, and one write of the target, so it lands whole or not at all.
enum CatalogCopy {
    /// Tables that are not the catalog's: each engine's list of applied migrations, the key
    /// store's files (PostgreSQL only; moved byte for byte on their own), and the nodes' shared
    /// sign-in state (PostgreSQL only: challenges of a few minutes and counts of wrong guesses,
    /// kept in memory by a single embedded process).
    static let excluded: Set<String> = ["grdb_migrations", "strongroom_migrations", "key_files",
                                        "sign_in_challenges", "sign_in_failures"]

    /// Tables a new catalog starts with rows in (`create` writes the vault id and the empty
    /// audit head): replaced by the source's, once the vault ids are seen to match.
    static let seeded: Set<String> = ["vault", "audit_head"]

    /// Tables other tables refer to, copied before the rest (`bundle_items.bundle` references
    /// `bundles.id`: the schema's one foreign key).
    static let parentsFirst = ["bundles"]

    /// Rows read per query from PostgreSQL, whose client holds a whole result in memory.
    static let pageSize = 2000

    /// Copies every catalog table of `source` into `target`; returns each table's row count.
    /// `target` must hold no rows but those its `create` wrote, for the same vault.
    static func copy(from source: any CatalogSQL, to target: any CatalogSQL) throws -> [String: Int] {
        let tables = try columns(source)
        let targetTables = try columns(target)
        try requireSameShape(tables, targetTables)
        let sourceVault = try source.value(String.self, "SELECT value FROM vault WHERE key = 'vault_id'")
        let targetVault = try target.value(String.self, "SELECT value FROM vault WHERE key = 'vault_id'")
        guard let sourceVault, sourceVault == targetVault else {
            throw StorageError.database("the catalog copy's target was created for another vault than its source")
        }
        let order = parentsFirst.filter { tables[$0] != nil } + tables.keys.filter { !parentsFirst.contains($0) }.sorted()
        for table in order where !seeded.contains(table) {
            if try target.exists("SELECT 1 FROM \(quoted(table)) LIMIT 1") {
                throw StorageError.database("the catalog copy's target already holds rows in \(table); refusing to mix two stores")
            }
        }
        for table in seeded where tables[table] != nil {
            try target.execute("DELETE FROM \(quoted(table))")
        }
        var counts: [String: Int] = [:]
        for table in order {
            let names = tables[table]!
            var copied = 0
            var batch: [SQLArguments] = []
            func flush() throws {
                try target.insertRows(into: quoted(table), columns: names, batch)
                copied += batch.count
                batch.removeAll(keepingCapacity: true)
            }
            try forEachRow(of: table, columns: names, in: source) { row in
                batch.append(names.map { row[$0] as DatabaseValue })
                if batch.count * names.count >= valuesPerStatement { try flush() }
            }
            try flush()
            let inSource = try source.value(Int64.self, "SELECT count(*) AS n FROM \(quoted(table))") ?? -1
            let inTarget = try target.value(Int64.self, "SELECT count(*) AS n FROM \(quoted(table))") ?? -1
            guard Int64(copied) == inSource, inTarget == inSource else {
                throw StorageError.database("the catalog copy of \(table) is incomplete: \(inSource) rows in the source, \(copied) read, \(inTarget) in the target")
            }
            counts[table] = copied
        }
        return counts
    }

    /// Row counts of every catalog table (what `copy` would copy), in one read.
    static func counts(_ sql: any CatalogSQL) throws -> [String: Int] {
        var counts: [String: Int] = [:]
        for table in try columns(sql).keys {
            counts[table] = Int(try sql.value(Int64.self, "SELECT count(*) AS n FROM \(quoted(table))") ?? 0)
        }
        return counts
    }

    /// Each catalog table's columns (the ones its engine does not compute), from the engine's
    /// own catalog of tables.
    static func columns(_ sql: any CatalogSQL) throws -> [String: [String]] {
        var tables: [String: [String]] = [:]
        if sql is Database {
            let names = try sql.values(String.self, "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
            for table in names where !excluded.contains(table) {
                tables[table] = try sql.values(String.self, "SELECT name FROM pragma_table_info(?)", [table])
            }
        } else {
            let rows = try sql.rows(
                """
                SELECT c.table_name, c.column_name FROM information_schema.columns c
                JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
                WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
                AND c.is_identity = 'NO' AND c.is_generated = 'NEVER'
                ORDER BY c.table_name, c.ordinal_position
                """, [])
            for row in rows {
                let table: String = row["table_name"], column: String = row["column_name"]
                if !excluded.contains(table) { tables[table, default: []].append(column) }
            }
        }
        return tables
    }

    /// Refuses two catalogs whose tables or columns differ, naming the differences (table and
    /// column names only: never a value).
    static func requireSameShape(_ source: [String: [String]], _ target: [String: [String]]) throws {
        var differences: [String] = []
        for table in Set(source.keys).union(target.keys).sorted() {
            guard let from = source[table] else { differences.append("table \(table) only in the target"); continue }
            guard let to = target[table] else { differences.append("table \(table) only in the source"); continue }
            let onlySource = Set(from).subtracting(to).sorted(), onlyTarget = Set(to).subtracting(from).sorted()
            if !onlySource.isEmpty { differences.append("\(table).\(onlySource.joined(separator: ", ")) only in the source") }
            if !onlyTarget.isEmpty { differences.append("\(table).\(onlyTarget.joined(separator: ", ")) only in the target") }
        }
        guard differences.isEmpty else {
            throw StorageError.unsupportedFormat(
                "the two catalogs hold different tables or columns (a store of another Strongroom version?): \(differences.joined(separator: "; "))")
        }
    }

    /// Every row of a table with the named columns. Records come in their row order, which key
    /// rotation pages by; SQLite streams; PostgreSQL is read a page at a time (its client holds
    /// a whole result), by its row number or the row's physical address, both fixed within the
    /// one snapshot the caller's read sees.
    private static func forEachRow(of table: String, columns: [String], in sql: any CatalogSQL, _ body: (Row) throws -> Void) throws {
        let list = columns.map(quoted).joined(separator: ", ")
        if sql is Database {
            try sql.forEachRow("SELECT \(list) FROM \(quoted(table))\(table == "records" ? " ORDER BY rowid" : "")", [], body)
            return
        }
        // Records by their row number (BIGINT), any other table by its rows' addresses (text).
        let byRowNumber = table == "records"
        let key = byRowNumber ? "rowid" : "ctid::text"
        let bound = byRowNumber ? "rowid > ?" : "ctid > ?::tid"
        let order = byRowNumber ? "rowid" : "ctid"
        var after: DatabaseValue?
        while true {
            let rows = try sql.rows(
                "SELECT \(list), \(key) AS strongroom_page_key FROM \(quoted(table))\(after == nil ? "" : " WHERE " + bound) ORDER BY \(order) LIMIT \(pageSize)",
                after.map { [$0] } ?? [])
            for row in rows { try body(row) }
            guard rows.count == pageSize, let last = rows.last else { return }
            after = last["strongroom_page_key"] as DatabaseValue
        }
    }

    static func quoted(_ name: String) -> String { "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\"" }
}

extension RelationalCatalog {
    /// Copies every catalog table into `target` (CatalogCopy): one read of this catalog, one
    /// write of the target. Returns each table's row count.
    public func copyCatalog(into target: RelationalCatalog) throws -> [String: Int] {
        try guarded {
            try read { source in
                try target.guarded { try target.write { try CatalogCopy.copy(from: source, to: $0) } }
            }
        }
    }

    /// Every catalog table's row count, in one consistent read.
    public func tableCounts() throws -> [String: Int] {
        try guarded { try read { try CatalogCopy.counts($0) } }
    }
}
