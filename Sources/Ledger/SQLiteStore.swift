import CSQLite
import CustomsCore
import Foundation

/// The ledger's SQLite file: WAL, `synchronous=FULL` (every commit fsyncs the WAL, so a commit
/// that returned survives kill -9 and power loss).
///
/// Commits append to `sightings`, a rowid log of "subject seen in series at hour" rows (appends
/// are the cheapest write SQLite has). `merge` folds the oldest log rows into `subjects`, keyed by
/// (series, subject), keeping the latest hour, a chunk at a time so no commit waits long.
/// A subject's last-seen hour is the largest hour across both tables; `series` names the series.
/// Not thread-safe: SQLiteLedger confines it to its writer queue (hence `@unchecked Sendable`).
final class SQLiteStore: @unchecked Sendable {
    static let schemaVersion: Int32 = 1
    static let applicationID: Int32 = 0x4355_5354  // "CUST"

    let path: String
    private var db: OpaquePointer?
    private var insertSighting: OpaquePointer?
    private var insertSeries: OpaquePointer?
    private var mergeRows: OpaquePointer?
    private var deleteRows: OpaquePointer?

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
                CREATE TABLE IF NOT EXISTS subjects(
                    series INTEGER NOT NULL, hi INTEGER NOT NULL, lo INTEGER NOT NULL, hour INTEGER NOT NULL,
                    PRIMARY KEY(series, hi, lo)) WITHOUT ROWID;
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
            insertSeries = try prepare("INSERT OR IGNORE INTO series(id, scope, category) VALUES (?, ?, ?)")
            // `WHERE` keeps the parser from reading ON CONFLICT as a join constraint.
            mergeRows = try prepare("""
                INSERT INTO subjects(series, hi, lo, hour)
                    SELECT series, hi, lo, hour FROM sightings WHERE rowid <= ?1 ORDER BY rowid
                ON CONFLICT(series, hi, lo) DO UPDATE SET hour = max(hour, excluded.hour)
                """)
            deleteRows = try prepare("DELETE FROM sightings WHERE rowid <= ?1")
        }
    }

    func close() {
        sqlite3_finalize(insertSighting)
        sqlite3_finalize(insertSeries)
        sqlite3_finalize(mergeRows)
        sqlite3_finalize(deleteRows)
        insertSighting = nil
        insertSeries = nil
        mergeRows = nil
        deleteRows = nil
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

    /// Streams every stored (series, subject, hour), merged rows first, then the log (a subject
    /// may appear more than once; the largest hour wins). Returns (merged rows, log rows).
    @discardableResult
    func load(_ body: (Int32, SubjectKey, UInt32) throws(LedgerError) -> Void) throws(LedgerError) -> (merged: Int, log: Int) {
        let merged = try stream("SELECT series, hi, lo, hour FROM subjects", body)
        let log = try stream("SELECT series, hi, lo, hour FROM sightings ORDER BY rowid", body)
        return (merged, log)
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

    /// The log's first rowid and its length (rowids are dense: rows are appended and only
    /// ever removed from the front).
    func logExtent() throws(LedgerError) -> (first: Int64, count: Int) {
        let stmt = try prepare("SELECT min(rowid), max(rowid) FROM sightings")
        defer { sqlite3_finalize(stmt) }
        guard sqlite3_step(stmt) == SQLITE_ROW else { throw failure(.read, "measure the log", sqlite3_errcode(db)) }
        if sqlite3_column_type(stmt, 0) == SQLITE_NULL { return (0, 0) }
        let first = sqlite3_column_int64(stmt, 0), last = sqlite3_column_int64(stmt, 1)
        return (first, Int(last - first + 1))
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
            for batch in changes {
                for c in batch { try insert(series: c.series, key: c.key, hour: c.new) }
            }
            try exec("COMMIT", .write)
        } catch {
            if sqlite3_get_autocommit(db) == 0 { sqlite3_exec(db, "ROLLBACK", nil, nil, nil) }
            throw error
        }
    }

    /// Folds up to `limit` of the oldest log rows into `subjects`, in one transaction.
    /// Returns how many log rows it removed.
    func merge(limit: Int) throws(LedgerError) -> Int {
        let extent = try logExtent()
        guard extent.count > 0 else { return 0 }
        let upTo = extent.first + Int64(min(limit, extent.count)) - 1
        try exec("BEGIN IMMEDIATE", .write)
        do throws(LedgerError) {
            sqlite3_bind_int64(mergeRows, 1, upTo)
            try step(mergeRows, "merge the log")
            sqlite3_bind_int64(deleteRows, 1, upTo)
            try step(deleteRows, "trim the log")
            let removed = Int(sqlite3_changes(db))
            try exec("COMMIT", .write)
            return removed
        } catch {
            if sqlite3_get_autocommit(db) == 0 { sqlite3_exec(db, "ROLLBACK", nil, nil, nil) }
            throw error
        }
    }

    private func insert(series: Int32, key: SubjectKey, hour: UInt32) throws(LedgerError) {
        sqlite3_bind_int(insertSighting, 1, series)
        sqlite3_bind_int64(insertSighting, 2, Int64(bitPattern: key.hi))
        sqlite3_bind_int64(insertSighting, 3, Int64(bitPattern: key.lo))
        sqlite3_bind_int64(insertSighting, 4, Int64(hour))
        try step(insertSighting, "record sighting")
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
