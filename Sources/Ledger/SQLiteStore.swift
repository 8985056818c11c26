import CSQLite
import CustomsCore
import Foundation

/// The ledger's SQLite file: WAL, `synchronous=FULL` (every commit fsyncs the WAL, so a commit
/// that returned survives kill -9 and power loss).
///
/// Format 2 (`user_version` 2): one append-only log, `blocks(series, hour, count, keys)`. A block
/// says "these subjects were seen in series at hour": `keys` is a BLOB of `count` packed 16-byte
/// subject keys, each the key's `hi` then its `lo`, both little-endian. A commit appends one block
/// per (series, hour) it touches (at most `maxKeysPerBlock` keys each), holding the subjects whose
/// last-seen hour moved forward (appends are the cheapest write SQLite has, and a block costs one
/// row however many people it carries). A subject's last-seen hour in a series is the largest hour
/// among the blocks holding it. The cleaner keeps the log within about two stored keys per
/// (series, subject): it takes blocks off the head, drops the superseded keys and re-appends the
/// rest, so it only ever reads, deletes and appends in rowid order. `series` names the series.
///
/// Format 1 stored one row per sighting in `sightings(series, hi, lo, hour)`; opening such a file
/// for writing migrates it to format 2 in one transaction, and a read-only open reads it as it is.
/// Not thread-safe: SQLiteLedger confines it to its writer queue (hence `@unchecked Sendable`).
final class SQLiteStore: @unchecked Sendable {
    /// One block of the log, with its place in it.
    struct LogBlock: Sendable {
        let rowid: Int64
        let series: Int32
        let hour: UInt32
        let keys: [SubjectKey]
    }

    static let schemaVersion: Int32 = 2
    static let applicationID: Int32 = 0x4355_5354  // "CUST"
    /// Caps a block at 64 KiB of keys, so a cleaning chunk (whole blocks) stays near its size.
    static let maxKeysPerBlock = 4_096
    static let bytesPerKey = 16

    let path: String
    /// The format the file is in: 2, or 1 for a format-1 file opened read-only.
    private(set) var format = SQLiteStore.schemaVersion
    /// Sightings moved from a format-1 file when this open migrated it, else nil.
    private(set) var migratedRows: Int?
    private var db: OpaquePointer?
    private var insertBlock: OpaquePointer?
    private var insertSeries: OpaquePointer?
    private var readHead: OpaquePointer?
    private var deleteHead: OpaquePointer?
    /// Frames in the WAL after the last commit (SQLite's WAL hook tells), where the next one writes.
    private var walFrames = 0
    private var walReserve: WALReserve?
    /// Why the WAL's reserve stopped (the ledger goes on without it), until the ledger asks.
    private var reserveFailure: LedgerError?

    /// Copies the WAL into the file off the writer's path (nil when read-only, or when its
    /// connection could not be opened: then the writer checkpoints at `checkpointFrames` itself).
    private var checkpointer: WALCheckpointer?
    private var checkpointerFailure: LedgerError?
    /// WAL frames at which a background checkpoint is asked for, and at which the writer
    /// checkpoints itself (a steady stream of commits can keep a background checkpoint from
    /// letting the WAL start over; see `WALCheckpointer`).
    private var checkpointFrames = SQLiteStore.checkpointFrames
    private var writerCheckpointFrames = 2 * SQLiteStore.checkpointFrames

    /// The WAL may grow to about 64 MiB before a checkpoint copies it into the file and the next
    /// commit starts it over at the front: fewer, larger checkpoints.
    static let checkpointFrames = 16_384

    struct Options {
        var readOnly = false
        /// Caps the file at this many pages (SQLite `max_page_count`); a commit past it fails
        /// as a full disk would.
        var maxPageCount: Int?
        /// Keep zeroed space ahead of the WAL (`WALReserve`).
        var walReserve = true
        /// WAL frames before a checkpoint is asked for (tests use small ones).
        var checkpointFrames = SQLiteStore.checkpointFrames
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

    private static let createBlocks = """
        CREATE TABLE blocks(
            series INTEGER NOT NULL, hour INTEGER NOT NULL, count INTEGER NOT NULL, keys BLOB NOT NULL)
        """

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
        if !options.readOnly {
            // The hook stands in for `PRAGMA wal_autocheckpoint` (which would replace it) and also
            // tells where the next commit writes, for the WAL's reserve.
            checkpointFrames = options.checkpointFrames
            writerCheckpointFrames = 2 * options.checkpointFrames
            sqlite3_wal_hook(db, { context, db, name, frames in
                let store = Unmanaged<SQLiteStore>.fromOpaque(context!).takeUnretainedValue()
                store.walFrames = Int(frames)
                if let checkpointer = store.checkpointer, Int(frames) < store.writerCheckpointFrames {
                    if Int(frames) >= store.checkpointFrames { checkpointer.request() }
                } else if Int(frames) >= store.checkpointFrames {
                    // PASSIVE: if the background one is copying, this returns at once.
                    sqlite3_wal_checkpoint(db, name)
                }
                return SQLITE_OK
            }, Unmanaged.passUnretained(self).toOpaque())
            var persist: Int32 = 1
            sqlite3_file_control(db, "main", SQLITE_FCNTL_PERSIST_WAL, &persist)
        }
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
                \(Self.createBlocks);
                PRAGMA application_id = \(Self.applicationID);
                PRAGMA user_version = \(Self.schemaVersion);
                COMMIT;
                """, .open)
        } else if appID != Int(Self.applicationID) {
            throw LedgerError(kind: .format, path: path, operation: "open", message: "not a Customs ledger (application id \(appID))")
        } else if version > Int(Self.schemaVersion) {
            throw LedgerError(kind: .format, path: path, operation: "open",
                              message: "ledger format \(version) is newer than this Customs understands (\(Self.schemaVersion))")
        } else if version < 1 {
            throw LedgerError(kind: .format, path: path, operation: "open", message: "ledger format \(version) is not one Customs wrote")
        } else if version == 1 {
            if options.readOnly {
                format = 1
            } else {
                migratedRows = try migrateFromFormat1()
            }
        }
        if !options.readOnly {
            insertBlock = try prepare("INSERT INTO blocks(series, hour, count, keys) VALUES (?, ?, ?, ?)")
            insertSeries = try prepare("INSERT OR IGNORE INTO series(id, scope, category) VALUES (?, ?, ?)")
            readHead = try prepare("SELECT rowid, series, hour, count, keys FROM blocks WHERE rowid <= ?1 ORDER BY rowid")
            deleteHead = try prepare("DELETE FROM blocks WHERE rowid <= ?1")
            if options.walReserve, let wal = sqlite3_filename_wal(sqlite3_db_filename(db, "main")) {
                do throws(LedgerError) {
                    walReserve = try WALReserve(path: String(cString: wal), pageSize: try queryInt("PRAGMA page_size", .open),
                                                framesBeforeCheckpoint: writerCheckpointFrames)
                } catch {
                    reserveFailure = error
                }
            }
            do throws(LedgerError) {
                checkpointer = try WALCheckpointer(path: path)
            } catch {
                checkpointerFailure = error
            }
        }
    }

    /// Why checkpoints could not run in the background, once: the checkpoint connection did not
    /// open, or the last background checkpoint failed (nil if neither).
    func takeCheckpointFailure() -> LedgerError? {
        if let error = checkpointerFailure {
            checkpointerFailure = nil
            return error
        }
        return checkpointer?.takeFailure()
    }

    /// Checkpoints finished in the background since open.
    var backgroundCheckpoints: Int { checkpointer?.checkpoints ?? 0 }

    /// Why the WAL's reserve stopped, once (nil if it did not).
    func takeReserveFailure() -> LedgerError? {
        defer { reserveFailure = nil }
        return reserveFailure
    }

    /// Inside a write transaction, before it writes: keeps zeroed blocks ahead of the WAL (see
    /// `WALReserve`). A failure only ends the reserve; commits go on growing the file as before.
    private func reserveWAL() {
        guard walReserve != nil else { return }
        do throws(LedgerError) {
            try walReserve!.ensure(frames: walFrames)
        } catch {
            walReserve!.close()
            walReserve = nil
            reserveFailure = error
        }
    }

    /// Rewrites a format-1 log (a row per sighting) as blocks, in one transaction: a crash
    /// midway leaves the format-1 file as it was. A block goes in as soon as it is full, so
    /// memory holds only the partly filled ones. Returns how many rows it moved.
    private func migrateFromFormat1() throws(LedgerError) -> Int {
        try exec("BEGIN IMMEDIATE", .write)
        do throws(LedgerError) {
            // Another process may have migrated it between the version check and the lock.
            guard try queryInt("PRAGMA user_version", .format) == 1 else {
                try exec("COMMIT", .write)
                return 0
            }
            try exec(Self.createBlocks, .write)
            let insert = try prepare("INSERT INTO blocks(series, hour, count, keys) VALUES (?, ?, ?, ?)")
            defer { sqlite3_finalize(insert) }
            var builder = BlockBuilder()
            let rows = try streamFormat1 { (series, key, hour) throws(LedgerError) in
                builder.append(series: series, hour: hour, keys: CollectionOfOne(key))
                if let full = builder.takeLast(ifAtLeast: Self.maxKeysPerBlock) { try append([full], with: insert) }
            }
            try append(builder.blocks, with: insert)
            try exec("DROP TABLE sightings", .write)
            try exec("PRAGMA user_version = \(Self.schemaVersion)", .write)
            try exec("COMMIT", .write)
            return rows
        } catch {
            if sqlite3_get_autocommit(db) == 0 { sqlite3_exec(db, "ROLLBACK", nil, nil, nil) }
            throw LedgerError(kind: error.kind, path: path, operation: "migrate the ledger from format 1 to 2",
                              message: error.message, code: error.code)
        }
    }

    func close() {
        sqlite3_finalize(insertBlock)
        sqlite3_finalize(insertSeries)
        sqlite3_finalize(readHead)
        sqlite3_finalize(deleteHead)
        walReserve?.close()
        walReserve = nil
        checkpointer?.close()
        checkpointer = nil
        insertBlock = nil
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
    /// Returns how many there were and how many blocks (format-1 rows) held them.
    @discardableResult
    func load(_ body: (Int32, SubjectKey, UInt32) throws(LedgerError) -> Void) throws(LedgerError) -> (keys: Int, blocks: Int) {
        if format == 1 {
            let rows = try streamFormat1(body)
            return (rows, rows)
        }
        let stmt = try prepare("SELECT rowid, series, hour, count, keys FROM blocks")
        defer { sqlite3_finalize(stmt) }
        var sightings = 0, blocks = 0
        while true {
            let rc = sqlite3_step(stmt)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw failure(.read, "read the log", rc) }
            let (series, hour, keys) = try block(stmt, "read the log")
            for n in 0..<keys.count { try body(series, keys[n], hour) }
            sightings += keys.count
            blocks += 1
        }
        return (sightings, blocks)
    }

    /// The current row of a `SELECT rowid, series, hour, count, keys` statement, checked.
    private func block(_ stmt: OpaquePointer?, _ operation: String) throws(LedgerError) -> (Int32, UInt32, PackedKeys) {
        let rowid = sqlite3_column_int64(stmt, 0)
        let hour = sqlite3_column_int64(stmt, 2)
        guard hour >= 0 && hour <= Int64(SubjectTable.maxHour) else {
            throw LedgerError(kind: .format, path: path, operation: operation, message: "block \(rowid): hour \(hour) out of range")
        }
        let count = sqlite3_column_int64(stmt, 3)
        let type = sqlite3_column_type(stmt, 4)
        // Ask for the bytes before their length: SQLite may convert the value to produce them.
        let bytes = sqlite3_column_blob(stmt, 4)
        let length = Int64(sqlite3_column_bytes(stmt, 4))
        guard type == SQLITE_BLOB, length % Int64(Self.bytesPerKey) == 0, length / Int64(Self.bytesPerKey) == count else {
            throw LedgerError(kind: .format, path: path, operation: operation,
                              message: "block \(rowid) is malformed: \(type == SQLITE_BLOB ? "\(length) bytes" : "not a BLOB") for \(count) keys of \(Self.bytesPerKey) bytes")
        }
        let keys = PackedKeys(UnsafeRawBufferPointer(start: bytes, count: Int(length)))
        return (sqlite3_column_int(stmt, 1), UInt32(hour), keys)
    }

    private func streamFormat1(_ body: (Int32, SubjectKey, UInt32) throws(LedgerError) -> Void) throws(LedgerError) -> Int {
        let stmt = try prepare("SELECT rowid, series, hi, lo, hour FROM sightings ORDER BY rowid")
        defer { sqlite3_finalize(stmt) }
        var rows = 0
        while true {
            let rc = sqlite3_step(stmt)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw failure(.read, "read sightings", rc) }
            let key = SubjectKey(hi: UInt64(bitPattern: sqlite3_column_int64(stmt, 2)),
                                 lo: UInt64(bitPattern: sqlite3_column_int64(stmt, 3)))
            let hour = sqlite3_column_int64(stmt, 4)
            guard hour >= 0 && hour <= Int64(SubjectTable.maxHour) else {
                throw LedgerError(kind: .format, path: path, operation: "read sightings",
                                  message: "row \(sqlite3_column_int64(stmt, 0)): hour \(hour) out of range")
            }
            try body(sqlite3_column_int(stmt, 1), key, UInt32(hour))
            rows += 1
        }
        return rows
    }

    /// The log's first and last rowid (rowids only grow: blocks are appended at the tail and only
    /// ever removed from the head), or nil when it is empty.
    func logExtent() throws(LedgerError) -> (first: Int64, last: Int64)? {
        // Two subqueries: SQLite answers a lone min() or max() from the b-tree's ends, but
        // scans the whole table for both in one SELECT.
        let stmt = try prepare("SELECT (SELECT min(rowid) FROM blocks), (SELECT max(rowid) FROM blocks)")
        defer { sqlite3_finalize(stmt) }
        let rc = sqlite3_step(stmt)
        guard rc == SQLITE_ROW else { throw failure(.read, "measure the log", rc) }
        if sqlite3_column_type(stmt, 0) == SQLITE_NULL { return nil }
        return (sqlite3_column_int64(stmt, 0), sqlite3_column_int64(stmt, 1))
    }

    /// Whole blocks from the head of the log, none past `through`, until they hold at least
    /// `keys` keys (or the log ends).
    func head(keys limit: Int, through: Int64) throws(LedgerError) -> [LogBlock] {
        sqlite3_bind_int64(readHead, 1, through)
        defer { sqlite3_reset(readHead) }
        var blocks: [LogBlock] = []
        var keys = 0
        while keys < limit {
            let rc = sqlite3_step(readHead)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw failure(.read, "read the log head", rc) }
            let (series, hour, packed) = try block(readHead, "read the log head")
            blocks.append(LogBlock(rowid: sqlite3_column_int64(readHead, 0), series: series, hour: hour,
                                   keys: (0..<packed.count).map { packed[$0] }))
            keys += packed.count
        }
        return blocks
    }

    // MARK: Writing

    /// Writes new series and the changes of many batches in one transaction and one fsync: one
    /// block per (series, hour) across all of them. On failure the transaction is rolled back:
    /// nothing of it is stored. Returns how many blocks it appended.
    @discardableResult
    func write(series: [(id: Int32, key: SeriesKey)], changes: [BatchChanges]) throws(LedgerError) -> Int {
        var builder = BlockBuilder()
        for batch in changes {
            for run in batch.runs { builder.append(series: run.series, hour: run.hour, keys: batch.keys[run.range]) }
        }
        try exec("BEGIN IMMEDIATE", .write)
        reserveWAL()
        do throws(LedgerError) {
            for s in series {
                sqlite3_bind_int(insertSeries, 1, s.id)
                bindText(insertSeries, 2, s.key.scopeText)
                bindText(insertSeries, 3, s.key.category.name)
                try step(insertSeries, "record series")
            }
            let blocks = try append(builder.blocks, with: insertBlock)
            try exec("COMMIT", .write)
            return blocks
        } catch {
            if sqlite3_get_autocommit(db) == 0 { sqlite3_exec(db, "ROLLBACK", nil, nil, nil) }
            throw error
        }
    }

    /// Removes the log's head up to `through` and re-appends the `live` keys (merged into one block
    /// per (series, hour)), in one transaction. Returns how many blocks it appended.
    @discardableResult
    func replaceHead(through: Int64, keeping live: [LogBlock]) throws(LedgerError) -> Int {
        var builder = BlockBuilder()
        for block in live { builder.append(series: block.series, hour: block.hour, keys: block.keys) }
        try exec("BEGIN IMMEDIATE", .write)
        reserveWAL()
        do throws(LedgerError) {
            sqlite3_bind_int64(deleteHead, 1, through)
            try step(deleteHead, "trim the log")
            let blocks = try append(builder.blocks, with: insertBlock)
            try exec("COMMIT", .write)
            return blocks
        } catch {
            if sqlite3_get_autocommit(db) == 0 { sqlite3_exec(db, "ROLLBACK", nil, nil, nil) }
            throw error
        }
    }

    /// Inserts `blocks` in order, splitting any longer than `maxKeysPerBlock`.
    @discardableResult
    private func append(_ blocks: [BlockBuilder.Block], with stmt: OpaquePointer?) throws(LedgerError) -> Int {
        var rows = 0
        for block in blocks {
            let count = block.bytes.count / Self.bytesPerKey
            for start in stride(from: 0, to: count, by: Self.maxKeysPerBlock) {
                let n = min(Self.maxKeysPerBlock, count - start)
                sqlite3_bind_int(stmt, 1, block.series)
                sqlite3_bind_int64(stmt, 2, Int64(block.hour))
                sqlite3_bind_int64(stmt, 3, Int64(n))
                // SQLITE_STATIC: SQLite reads the bytes in place during the step (copying them into the page).
                let rc = block.bytes.withUnsafeBytes { raw in
                    sqlite3_bind_blob(stmt, 4, raw.baseAddress! + start * Self.bytesPerKey, Int32(n * Self.bytesPerKey), nil)
                    let rc = sqlite3_step(stmt)
                    sqlite3_reset(stmt)
                    sqlite3_clear_bindings(stmt)
                    return rc
                }
                guard rc == SQLITE_DONE else { throw failure(.write, "record sightings", rc) }
                rows += 1
            }
        }
        return rows
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

/// Keys packed 16 bytes each (`hi` then `lo`, little-endian), read in place.
struct PackedKeys {
    let bytes: UnsafeRawBufferPointer
    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }
    var count: Int { bytes.count / SQLiteStore.bytesPerKey }
    subscript(n: Int) -> SubjectKey {
        let o = n * SQLiteStore.bytesPerKey
        return SubjectKey(hi: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: o, as: UInt64.self)),
                          lo: UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: o + 8, as: UInt64.self)))
    }
}

/// Gathers keys into one packed block per (series, hour), in order of first appearance.
struct BlockBuilder {
    struct Block {
        let series: Int32
        let hour: UInt32
        var bytes: [UInt8] = []
    }

    private(set) var blocks: [Block] = []
    private var index: [UInt64: Int] = [:]
    /// The block appended to last: runs of one (series, hour) usually follow each other.
    private var last = -1

    /// Takes the keys of the block appended to last out of the builder if it holds at least
    /// `keys` of them (the builder starts that (series, hour) afresh).
    mutating func takeLast(ifAtLeast keys: Int) -> Block? {
        guard last >= 0, blocks[last].bytes.count >= keys * SQLiteStore.bytesPerKey else { return nil }
        let full = blocks[last]
        blocks[last].bytes = []
        return full
    }

    mutating func append<Keys: Collection<SubjectKey>>(series: Int32, hour: UInt32, keys: Keys) {
        if keys.isEmpty { return }
        let b: Int
        if last >= 0 && blocks[last].series == series && blocks[last].hour == hour {
            b = last
        } else {
            let slot = UInt64(UInt32(bitPattern: series)) << 32 | UInt64(hour)
            if let found = index[slot] {
                b = found
            } else {
                b = blocks.count
                blocks.append(Block(series: series, hour: hour))
                index[slot] = b
            }
            last = b
        }
        let start = blocks[b].bytes.count
        blocks[b].bytes.append(contentsOf: repeatElement(0, count: keys.count * SQLiteStore.bytesPerKey))
        blocks[b].bytes.withUnsafeMutableBytes { raw in
            var o = start
            for key in keys {
                raw.storeBytes(of: key.hi.littleEndian, toByteOffset: o, as: UInt64.self)
                raw.storeBytes(of: key.lo.littleEndian, toByteOffset: o + 8, as: UInt64.self)
                o += SQLiteStore.bytesPerKey
            }
        }
    }
}
