import CSQLite
import CustomsCore
import Foundation
import Testing
@testable import Ledger

/// Ledger files written by earlier versions, and by later ones.
@Suite struct FormatTests {
    /// A format-1 file (a row per sighting), made by hand: subjects in three series at hours on
    /// both sides of 2026-01-01 (UTC+8), some seen more than once (in any row order; the largest
    /// hour wins), some with keys whose high bit is set. Returns each series' expected last-seen hours.
    func makeFormat1(_ path: String) throws -> [Int32: [SubjectKey: UInt32]] {
        let newYear = LedgerClock.hour(instant("2026-01-01T00:00:00+08:00"))
        var expected: [Int32: [SubjectKey: UInt32]] = [:]
        var rows: [String] = []
        var rng = SplitMix64(state: 9)
        for n in 0..<600 {
            let key = n % 5 == 0 ? SubjectKey(hi: UInt64.max - UInt64(n), lo: UInt64.max / 3 + UInt64(n)) : subject(UInt64(n))
            let series = Int32(n % 3)
            for _ in 0..<(1 + Int(rng.next() % 3)) {
                let hour = newYear - 500 + UInt32(rng.next() % 1_000)
                expected[series, default: [:]][key] = max(expected[series]?[key] ?? 0, hour)
                rows.append("(\(series), \(Int64(bitPattern: key.hi)), \(Int64(bitPattern: key.lo)), \(hour))")
            }
        }
        try sql(path, """
            PRAGMA journal_mode = WAL;
            BEGIN;
            CREATE TABLE series(id INTEGER PRIMARY KEY, scope TEXT NOT NULL, category TEXT NOT NULL, UNIQUE(scope, category));
            CREATE TABLE sightings(series INTEGER NOT NULL, hi INTEGER NOT NULL, lo INTEGER NOT NULL, hour INTEGER NOT NULL);
            INSERT INTO series VALUES (0, 'company', 'pi'), (1, 'recipient:acme', 'pi'), (2, 'company', 'sensitive');
            INSERT INTO sightings VALUES \(rows.joined(separator: ", "));
            PRAGMA application_id = \(SQLiteStore.applicationID);
            PRAGMA user_version = 1;
            COMMIT;
            """)
        expected[-1] = [SubjectKey(hi: 0, lo: 0): UInt32(rows.count)]  // the row count, for the caller
        return expected
    }

    let scopes: [Int32: (CountScope, Category)] = [0: (.company, .pi), 1: (.recipient("acme"), .pi), 2: (.company, .sensitive)]

    func check(_ ledger: SQLiteLedger, _ expected: [Int32: [SubjectKey: UInt32]]) {
        let at = instant("2026-06-01T12:00:00+08:00")
        let startOfYear = LedgerClock.hour(instant("2026-01-01T00:00:00+08:00"))
        for (series, (scope, category)) in scopes {
            let seen = expected[series] ?? [:]
            var mismatches = 0
            for (key, hour) in seen where ledger.lastSeen(key, scope: scope, category: category) != Date(timeIntervalSince1970: Double(hour) * 3600) {
                mismatches += 1
            }
            #expect(mismatches == 0, "series \(series)")
            let year = CountKey(scope: scope, category: category, window: .calendarYear)
            let all = CountKey(scope: scope, category: category, window: .unbounded)
            let counts = ledger.counts([year, all], at: at, calendar: cst)
            #expect(counts[all] == seen.count)
            #expect(counts[year] == seen.values.filter { $0 >= startOfYear }.count)
        }
    }

    func userVersion(_ path: String) throws -> Int {
        let store = try SQLiteStore(path: path, options: .init(readOnly: true))
        defer { store.close() }
        return Int(store.format)
    }

    @Test func format1IsMigratedOnOpenWithExactCountsAndHours() throws {
        let folder = try LedgerFolder()
        var expected = try makeFormat1(folder.path)
        let rows = Int(expected.removeValue(forKey: -1)!.values.first!)
        do {
            let store = try SQLiteStore(path: folder.path, options: .init())
            #expect(store.migratedRows == rows)
            store.close()
        }
        #expect(try userVersion(folder.path) == 2)
        // The format-1 table is gone; the blocks hold every row's key.
        #expect(throws: LedgerError.self) { try sql(folder.path, "SELECT count(*) FROM sightings") }
        let ledger = try folder.open()
        #expect(ledger.statistics().logKeys == rows)
        check(ledger, expected)
        // It goes on counting in the new format, and a second open does not migrate again.
        let later = instant("2026-07-01T10:00:00+08:00")
        try commit(ledger, makeBatch(later, "acme", [1, 100_000]))
        ledger.close()
        let store = try SQLiteStore(path: folder.path, options: .init())
        #expect(store.migratedRows == nil)
        store.close()
        let reopened = try folder.open()
        defer { reopened.close() }
        expected[0]![subject(1)] = LedgerClock.hour(later)
        expected[0]![subject(100_000)] = LedgerClock.hour(later)
        expected[1]![subject(1)] = LedgerClock.hour(later)
        expected[1]![subject(100_000)] = LedgerClock.hour(later)
        check(reopened, expected)
    }

    /// A long run of one (series, hour) becomes blocks of at most `maxKeysPerBlock` keys, written
    /// as they fill.
    @Test func migrationSplitsLongRunsIntoFullBlocks() throws {
        let folder = try LedgerFolder()
        let n = 2 * SQLiteStore.maxKeysPerBlock + 5
        try sql(folder.path, """
            BEGIN;
            CREATE TABLE series(id INTEGER PRIMARY KEY, scope TEXT NOT NULL, category TEXT NOT NULL, UNIQUE(scope, category));
            CREATE TABLE sightings(series INTEGER NOT NULL, hi INTEGER NOT NULL, lo INTEGER NOT NULL, hour INTEGER NOT NULL);
            INSERT INTO series VALUES (0, 'company', 'pi'), (1, 'recipient:acme', 'pi');
            WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < \(n))
                INSERT INTO sightings SELECT x % 2, x, -x, 500000 + x / \(n - 2) FROM c;
            PRAGMA application_id = \(SQLiteStore.applicationID);
            PRAGMA user_version = 1;
            COMMIT;
            """)
        let store = try SQLiteStore(path: folder.path, options: .init())
        #expect(store.migratedRows == n)
        let blocks = try store.head(keys: Int.max, through: Int64.max)
        store.close()
        #expect(blocks.reduce(0) { $0 + $1.keys.count } == n)
        #expect(blocks.allSatisfy { $0.keys.count <= SQLiteStore.maxKeysPerBlock })
        // Hour 500000: 4,097 keys in each series, a full block and one more; hour 500001: the
        // last three rows (two in series 1, one in series 0).
        #expect(blocks.map(\.keys.count).sorted() == [1, 1, 1, 2, 4_096, 4_096])
        let ledger = try folder.open()
        defer { ledger.close() }
        let all = key(.company, .pi, .unbounded)
        #expect(ledger.counts([all], at: Date(), calendar: cst)[all] == n / 2)
        #expect(ledger.lastSeen(SubjectKey(hi: 7, lo: UInt64(bitPattern: -7)), scope: .recipient("acme"), category: .pi)
                == Date(timeIntervalSince1970: 500_000 * 3600))
    }

    /// Read-only (`customs ledger counts`) reads a format-1 file as it is and leaves it so.
    @Test func format1OpenedReadOnlyIsReadWithoutMigrating() throws {
        let folder = try LedgerFolder()
        var expected = try makeFormat1(folder.path)
        expected[-1] = nil
        let ledger = try folder.open(.init(readOnly: true))
        check(ledger, expected)
        ledger.close()
        #expect(try userVersion(folder.path) == 1)
        try sql(folder.path, "SELECT count(*) FROM sightings")
    }

    /// A format-1 file the migration cannot read is refused as a format error and left as it was.
    @Test func failedMigrationLeavesTheFormat1FileAsItWas() throws {
        let folder = try LedgerFolder()
        _ = try makeFormat1(folder.path)
        try sql(folder.path, "INSERT INTO sightings VALUES (0, 1, 2, -5)")
        do {
            _ = try folder.open()
            Issue.record("migrated a format-1 file with a negative hour")
        } catch let error as LedgerError {
            #expect(error.kind == .format)
            #expect(error.description.contains("migrate the ledger from format 1 to 2"))
            #expect(error.description.contains("hour -5 out of range"))
        }
        #expect(try userVersion(folder.path) == 1)
        try sql(folder.path, "DELETE FROM sightings WHERE hour < 0")
        #expect(throws: LedgerError.self) { try sql(folder.path, "SELECT count(*) FROM blocks") }
        let ledger = try folder.open()
        defer { ledger.close() }
        #expect(ledger.statistics().entries > 0)
    }

    @Test func newerFormatIsRefusedWithAClearMessage() throws {
        let folder = try LedgerFolder()
        try folder.open().close()
        try sql(folder.path, "PRAGMA user_version = 3")
        for readOnly in [false, true] {
            do {
                _ = try folder.open(.init(readOnly: readOnly))
                Issue.record("opened a format-3 ledger")
            } catch let error as LedgerError {
                #expect(error.kind == .format)
                #expect(error.description == "ledger \(folder.path): open failed: ledger format 3 is newer than this Customs understands (2)")
            }
        }
    }
}
