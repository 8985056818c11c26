import CSQLite
import CustomsCore
import Foundation

/// The ledger's SQLite file: WAL, `synchronous=FULL` (every commit fsyncs the WAL, so a commit
/// that returned survives kill -9 and power loss).
///
/// One append-only log, `sightings`: a row says "subject seen in series at hour", written when a
/// subject's last-seen hour moves forward (appends are the cheapest write SQLite has). A subject's
/// last-seen hour is the largest hour among its rows. The cleaner keeps the log within about two
/// rows per (series, subject): it takes rows off the head, drops the superseded ones and
/// re-appends the rest, so it only ever reads, deletes and appends in rowid order. `series` names the series.
/// Not thread-safe: SQLiteLedger confines it to its writer queue (hence `@unchecked Sendable`).
final class SQLiteStore: @unchecked Sendable {
    /// One row of the log, with its place in it.
    struct LogRow: Sendable {
        let rowid: Int64
        let series: Int32
        let key: SubjectKey
        let hour: UInt32
    }

    static let schemaVersion: Int32 = 1
    static let applicationID: Int32 = 0x4355_5354  // "CUST"

    let path: String
    private var db: OpaquePointer?
    private var insertSighting: OpaquePointer?
    /// `rowsPerInsert` rows in one statement: a row costs SQLite far less as one of a multi-row
    /// VALUES list than as a statement of its own (a group commit writes thousands).
    private var insertSightings: OpaquePointer?
    private static let rowsPerInsert = 32
    private var insertSeries: OpaquePointer?
    private var readHead: OpaquePointer?
    private var deleteHead: OpaquePointer?

    struct Options {
        var readOnly = false
        /// Caps the file at this many pages (SQLite `max_page_count`); a commit past it fails
        /// as a full disk would.
        var maxPageCount: Int?
    }

    init(path: String, options: Options) throws(LedgerError) {
        self.path = path
        let flags = options.readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
        var handle: OpaquePointer?
        let rc = sqlite3_open_v2(path, &handle, flags | SQLITE_OPEN_NOMUTEX, nil)
        db = handle
        if rc != SQLITE_OK {
            let error = failure(.open, "open", rc)
            sqlite3_close_v2(handle)
            db = nil
            throw error
        }
        sqlite3_extended_result_codes(db, 1)
        do {
            try configure(options)
        } catch {
            close()
            throw error
        }
    }

    deinit { close() }

    private func configure(_ options: Options) throws(LedgerError) {
        try exec("PRAGMA busy_timeout = 10000", .open)
        if !options.readOnly {
            let mode = try queryText("PRAGMA journal_mode = WAL", .open)
            guard mode.lowercased() == "wal" else {
                throw LedgerError(kind: .open, path: path, operation: "switch to WAL",
                                  message: "SQLite kept journal mode '\(mode)'")
            }
        }
        try exec("PRAGMA synchronous = FULL", .open)
        // Fewer, larger checkpoints: the WAL may grow to about 64 MiB between them.
        try exec("PRAGMA wal_autocheckpoint = 16384", .open)
        try exec("PRAGMA cache_size = -16384", .open)
        if let pages = options.maxPageCount { try exec("PRAGMA max_page_count = \(pages)", .open) }

        let version = try queryInt("PRAGMA user_version", .format)
        let appID = try queryInt("PRAGMA application_id", .format)
        if version == 0 && appID == 0 {
            guard !options.readOnly else {
                throw LedgerError(kind: .format, path: path, operation: "open", message: "not a Customs ledger (no ledger tables)")
            }
            try exec("""
                BEGIN IMMEDIATE;
                CREATE TABLE IF NOT EXISTS series(
                    id INTEGER PRIMARY KEY, scope TEXT NOT NULL, category TEXT NOT NULL, UNIQUE(scope, category));
                CREATE TABLE IF NOT EXISTS sightings(
                    series INTEGER NOT NULL, hi INTEGER NOT NULL, lo INTEGER NOT NULL, hour INTEGER NOT NULL);
                PRAGMA application_id = \(Self.applicationID);
                PRAGMA user_version = \(Self.schemaVersion);
                COMMIT;
                """, .open)
        } else if appID != Int(Self.applicationID) {
            throw LedgerError(kind: .format, path: path, operation: "open", message: "not a Customs ledger (application id \(appID))")
        } else if version > Int(Self.schemaVersion) {
            throw LedgerError(kind: .format, path: path, operation: "open",
                              message: "ledger format \(version) is newer than this Customs understands (\(Self.schemaVersion))")
        }
        if !options.readOnly {
            insertSighting = try prepare("INSERT INTO sightings(series, hi, lo, hour) VALUES (?, ?, ?, ?)")
            let values = Array(repeating: "(?, ?, ?, ?)", count: Self.rowsPerInsert).joined(separator: ", ")
            insertSightings = try prepare("INSERT INTO sightings(series, hi, lo, hour) VALUES \(values)")
            insertSeries = try prepare("INSERT OR IGNORE INTO series(id, scope, category) VALUES (?, ?, ?)")
            readHead = try prepare("SELECT rowid, series, hi, lo, hour FROM sightings WHERE rowid <= ?1 ORDER BY rowid LIMIT ?2")
            deleteHead = try prepare("DELETE FROM sightings WHERE rowid <= ?1")
        }
    }

    func close() {
        sqlite3_finalize(insertSighting)
        sqlite3_finalize(insertSightings)
        sqlite3_finalize(insertSeries)
        sqlite3_finalize(readHead)
        sqlite3_finalize(deleteHead)
        insertSighting = nil
        insertSightings = nil
        insertSeries = nil
        readHead = nil
        deleteHead = nil
        if let db { sqlite3_close_v2(db) }
        db = nil
    }

    // MARK: Reading back

    /// The stored series, in id order.
    func loadSeries() throws(LedgerError) -> [(id: Int32, key: SeriesKey)] {
        let stmt = try prepare("SELECT id, scope, category FROM series ORDER BY id")
        defer { sqlite3_finalize(stmt) }
        var result: [(Int32, SeriesKey)] = []
        while true {
            let rc = sqlite3_step(stmt)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw failure(.read, "read series", rc) }
            let id = sqlite3_column_int(stmt, 0)
            let scope = String(cString: sqlite3_column_text(stmt, 1))
            let category = String(cString: sqlite3_column_text(stmt, 2))
            guard let key = SeriesKey(scopeText: scope, category: category), Int(id) == result.count else {
                throw LedgerError(kind: .format, path: path, operation: "read series",
                                  message: "series \(id) ('\(scope)', '\(category)') is malformed or out of sequence")
            }
            result.append((id, key))
        }
        return result
    }

    /// Streams every stored sighting (a subject may appear more than once; the largest hour wins).
    /// Returns how many rows there were.
    @discardableResult
    func load(_ body: (Int32, SubjectKey, UInt32) throws(LedgerError) -> Void) throws(LedgerError) -> Int {
        try stream("SELECT series, hi, lo, hour FROM sightings", body)
    }

    private func stream(_ sql: String, _ body: (Int32, SubjectKey, UInt32) throws(LedgerError) -> Void) throws(LedgerError) -> Int {
        let stmt = try prepare(sql)
        defer { sqlite3_finalize(stmt) }
        var rows = 0
        while true {
            let rc = sqlite3_step(stmt)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw failure(.read, "read sightings", rc) }
            let key = SubjectKey(hi: UInt64(bitPattern: sqlite3_column_int64(stmt, 1)),
                                 lo: UInt64(bitPattern: sqlite3_column_int64(stmt, 2)))
            let hour = sqlite3_column_int64(stmt, 3)
            guard hour >= 0 && hour <= Int64(SubjectTable.maxHour) else {
                throw LedgerError(kind: .format, path: path, operation: "read sightings", message: "hour \(hour) out of range")
            }
            try body(sqlite3_column_int(stmt, 0), key, UInt32(hour))
            rows += 1
        }
        return rows
    }

    /// The log's first and last rowid (rowids only grow: rows are appended at the tail and only
    /// ever removed from the head), or nil when it is empty.
    func logExtent() throws(LedgerError) -> (first: Int64, last: Int64)? {
        // Two subqueries: SQLite answers a lone min() or max() from the b-tree's ends, but
        // scans the whole table for both in one SELECT.
        let stmt = try prepare("SELECT (SELECT min(rowid) FROM sightings), (SELECT max(rowid) FROM sightings)")
        defer { sqlite3_finalize(stmt) }
        let rc = sqlite3_step(stmt)
        guard rc == SQLITE_ROW else { throw failure(.read, "measure the log", rc) }
        if sqlite3_column_type(stmt, 0) == SQLITE_NULL { return nil }
        return (sqlite3_column_int64(stmt, 0), sqlite3_column_int64(stmt, 1))
    }

    /// Up to `limit` rows from the head of the log, none past `through`.
    func head(limit: Int, through: Int64) throws(LedgerError) -> [LogRow] {
        sqlite3_bind_int64(readHead, 1, through)
        sqlite3_bind_int64(readHead, 2, Int64(limit))
        defer { sqlite3_reset(readHead) }
        var rows: [LogRow] = []
        rows.reserveCapacity(limit)
        while true {
            let rc = sqlite3_step(readHead)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw failure(.read, "read the log head", rc) }
            let hour = sqlite3_column_int64(readHead, 4)
            guard hour >= 0 && hour <= Int64(SubjectTable.maxHour) else {
                throw LedgerError(kind: .format, path: path, operation: "read the log head", message: "hour \(hour) out of range")
            }
            rows.append(LogRow(rowid: sqlite3_column_int64(readHead, 0), series: sqlite3_column_int(readHead, 1),
                               key: SubjectKey(hi: UInt64(bitPattern: sqlite3_column_int64(readHead, 2)),
                                               lo: UInt64(bitPattern: sqlite3_column_int64(readHead, 3))),
                               hour: UInt32(hour)))
        }
        return rows
    }

    // MARK: Writing

    /// Writes new series and the changes of many batches in one transaction and one fsync.
    /// On failure the transaction is rolled back: nothing of it is stored.
    func write(series: [(id: Int32, key: SeriesKey)], changes: [[SightingChange]]) throws(LedgerError) {
        try exec("BEGIN IMMEDIATE", .write)
        do throws(LedgerError) {
            for s in series {
                sqlite3_bind_int(insertSeries, 1, s.id)
                bindText(insertSeries, 2, s.key.scopeText)
                bindText(insertSeries, 3, s.key.category.name)
                try step(insertSeries, "record series")
            }
            let rows = changes.reduce(0) { $0 + $1.count }
            try insert(changes.lazy.joined().map { ($0.series, $0.key, $0.new) }, count: rows)
            try exec("COMMIT", .write)
        } catch {
            if sqlite3_get_autocommit(db) == 0 { sqlite3_exec(db, "ROLLBACK", nil, nil, nil) }
            throw error
        }
    }

    /// Removes the log's head up to `through` and re-appends `live`, in one transaction.
    func replaceHead(through: Int64, keeping live: [LogRow]) throws(LedgerError) {
        try exec("BEGIN IMMEDIATE", .write)
        do throws(LedgerError) {
            sqlite3_bind_int64(deleteHead, 1, through)
            try step(deleteHead, "trim the log")
            try insert(live.lazy.map { ($0.series, $0.key, $0.hour) }, count: live.count)
            try exec("COMMIT", .write)
        } catch {
            if sqlite3_get_autocommit(db) == 0 { sqlite3_exec(db, "ROLLBACK", nil, nil, nil) }
            throw error
        }
    }

    /// Appends `count` rows in order: whole groups through the multi-row statement, the rest one by one.
    private func insert<Rows: Sequence>(_ rows: Rows, count: Int) throws(LedgerError)
    where Rows.Element == (Int32, SubjectKey, UInt32) {
        let grouped = count - count % Self.rowsPerInsert
        var n = 0
        for (series, key, hour) in rows {
            if n < grouped {
                let slot = Int32(n % Self.rowsPerInsert)
                bind(insertSightings, from: slot * 4 + 1, series: series, key: key, hour: hour)
                if slot == Int32(Self.rowsPerInsert - 1) { try step(insertSightings, "record sightings") }
            } else {
                bind(insertSighting, from: 1, series: series, key: key, hour: hour)
                try step(insertSighting, "record sighting")
            }
            n += 1
        }
        precondition(n == count, "row count out of step with the rows")
    }

    private func bind(_ stmt: OpaquePointer?, from index: Int32, series: Int32, key: SubjectKey, hour: UInt32) {
        sqlite3_bind_int(stmt, index, series)
        sqlite3_bind_int64(stmt, index + 1, Int64(bitPattern: key.hi))
        sqlite3_bind_int64(stmt, index + 2, Int64(bitPattern: key.lo))
        sqlite3_bind_int64(stmt, index + 3, Int64(hour))
    }

    // MARK: SQLite plumbing

    private func step(_ stmt: OpaquePointer?, _ operation: String) throws(LedgerError) {
        let rc = sqlite3_step(stmt)
        sqlite3_reset(stmt)
        guard rc == SQLITE_DONE else { throw failure(.write, operation, rc) }
    }

    private func bindText(_ stmt: OpaquePointer?, _ index: Int32, _ text: String) {
        // SQLITE_TRANSIENT: SQLite copies the bytes before the Swift string goes away.
        sqlite3_bind_text(stmt, index, text, -1, unsafeBitCast(-1, to: sqlite3_destructor_type.self))
    }

    private func prepare(_ sql: String) throws(LedgerError) -> OpaquePointer? {
        var stmt: OpaquePointer?
        let rc = sqlite3_prepare_v3(db, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil)
        guard rc == SQLITE_OK else { throw failure(.open, "prepare '\(sql)'", rc) }
        return stmt
    }

    private func exec(_ sql: String, _ kind: LedgerError.Kind) throws(LedgerError) {
        let rc = sqlite3_exec(db, sql, nil, nil, nil)
        guard rc == SQLITE_OK else { throw failure(kind, sql.split(separator: "\n").first.map(String.init) ?? sql, rc) }
    }

    private func queryText(_ sql: String, _ kind: LedgerError.Kind) throws(LedgerError) -> String {
        let stmt = try prepare(sql)
        defer { sqlite3_finalize(stmt) }
        let rc = sqlite3_step(stmt)
        guard rc == SQLITE_ROW, let text = sqlite3_column_text(stmt, 0) else { throw failure(kind, sql, rc) }
        return String(cString: text)
    }

    private func queryInt(_ sql: String, _ kind: LedgerError.Kind) throws(LedgerError) -> Int {
        let stmt = try prepare(sql)
        defer { sqlite3_finalize(stmt) }
        let rc = sqlite3_step(stmt)
        guard rc == SQLITE_ROW else { throw failure(kind, sql, rc) }
        return Int(sqlite3_column_int64(stmt, 0))
    }

    private func failure(_ kind: LedgerError.Kind, _ operation: String, _ rc: Int32) -> LedgerError {
        let message = db.flatMap { sqlite3_errmsg($0) }.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(rc))
        return LedgerError(kind: kind, path: path, operation: operation, message: message, code: sqlite3_extended_errcode(db) != 0 ? sqlite3_extended_errcode(db) : rc)
    }
}
