import CSQLite
import CustomsCore
import Foundation
import Testing
@testable import Ledger

@Suite struct CountStateTests {
    let company = CountKey(scope: .company, category: .pi, window: .unbounded)
    let year = CountKey(scope: .company, category: .pi, window: .calendarYear)

    func counts(_ state: inout CountState, at: Date) -> [Int] {
        [state.count(company, at: at, calendar: cst), state.count(year, at: at, calendar: cst)]
    }

    @Test func undoRestoresTablesAndHistogramsInReverse() {
        var state = CountState()
        let old = instant("2025-06-01T10:00:00+08:00"), now = instant("2026-02-01T10:00:00+08:00")
        _ = state.apply(makeBatch(old, "acme", [1, 2, 3]))
        let a = state.apply(makeBatch(now, "acme", [2, 3, 4]))       // moves 2 and 3, adds 4
        let b = state.apply(makeBatch(now, "globex", [4, 5]))        // globex series is new
        #expect(a.count == 6 && b.count == 3)                        // company + recipient; 4 known to company
        #expect(counts(&state, at: now) == [5, 4])
        state.undo(b)
        state.undo(a)
        #expect(counts(&state, at: now) == [3, 0])
        #expect(state.lastSeen(subject(2), in: SeriesKey(scope: .company, category: .pi)) == LedgerClock.hour(old))
        #expect(state.lastSeen(subject(4), in: SeriesKey(scope: .company, category: .pi)) == nil)
        #expect(state.lastSeen(subject(4), in: SeriesKey(scope: .recipient("globex"), category: .pi)) == nil)
        // Counting again after the undo gives the same result as the first time.
        let again = state.apply(makeBatch(now, "acme", [2, 3, 4]))
        #expect(again.count == a.count)
        #expect(counts(&state, at: now) == [4, 3])
    }

    /// A category's company series shares its table with the first recipient series; a second
    /// recipient gets a table of its own. Counts, hours and undo are the same either way.
    @Test func companyAndFirstRecipientShareATable() {
        var state = CountState()
        let now = instant("2026-02-01T10:00:00+08:00")
        let a = state.apply(makeBatch(now, "acme", [1, 2, 3]))
        let companySeries = SeriesKey(scope: .company, category: .pi)
        let acme = SeriesKey(scope: .recipient("acme"), category: .pi), globex = SeriesKey(scope: .recipient("globex"), category: .pi)
        let c = state.series[Int(state.id(of: companySeries)!)], r = state.series[Int(state.id(of: acme)!)]
        #expect(c.table == r.table && c.lane != r.lane)
        #expect(state.tables.count == 1)
        let g = state.apply(makeBatch(now, "globex", [3, 4]))
        let gs = state.series[Int(state.id(of: globex)!)]
        #expect(gs.table != c.table && state.tables.count == 2)
        #expect([companySeries, acme, globex].map { state.entries(of: state.series[Int(state.id(of: $0)!)]) } == [4, 3, 2])
        #expect(state.subjectEntries == 9)
        #expect(state.lastSeen(subject(4), in: acme) == nil && state.lastSeen(subject(4), in: companySeries) == LedgerClock.hour(now))
        state.undo(g)
        state.undo(a)
        #expect(state.subjectEntries == 0 && state.tables.allSatisfy { $0.count == 0 })
        #expect(state.apply(makeBatch(now, "acme", [1, 2, 3])).count == a.count)
    }

    @Test func liveKeysKeepTheDurableHourBehindPendingBatches() {
        var state = CountState()
        let t10 = Date(timeIntervalSince1970: 10 * 3600), t12 = Date(timeIntervalSince1970: 12 * 3600)
        _ = state.apply(makeBatch(Date(timeIntervalSince1970: 5 * 3600), "acme", [1, 2]))
        _ = state.apply(makeBatch(t10, "acme", [1]))
        let companyID = state.id(of: SeriesKey(scope: .company, category: .pi))!
        let blocks = [
            // Subject 1 at hour 5 is superseded by hour 10; subject 2 at hour 5 is still the latest.
            SQLiteStore.LogBlock(rowid: 1, series: companyID, hour: 5, keys: [subject(1), subject(2)]),
            SQLiteStore.LogBlock(rowid: 2, series: companyID, hour: 10, keys: [subject(1)]),  // latest durable
        ]
        func live(_ pending: [BatchChanges]) -> [String] {
            state.liveKeys(blocks, pending: pending).flatMap { b in b.keys.map { "\(b.rowid):\($0.lo)@\(b.hour)" } }
        }
        #expect(live([]) == ["1:2@5", "2:1@10"])
        // Subject 1 moves to hour 12 in memory, not yet stored: its hour-10 key must survive.
        let pending = state.apply(makeBatch(t12, "acme", [1]))
        #expect(live([pending]) == ["1:2@5", "2:1@10"])
        // Without the pending overlay the hour-10 key would look superseded.
        #expect(state.lastSeen(subject(1), in: SeriesKey(scope: .company, category: .pi)) == 12)
        // A block left with no live key is dropped whole.
        #expect(state.liveKeys([blocks[0].with(keys: [subject(1)])], pending: []).isEmpty)
    }

    /// A batch's changes come out as one run per series, all at the batch's hour, new keys marked.
    @Test func applyGroupsChangesIntoRunsPerSeries() {
        var state = CountState()
        let t = instant("2026-02-01T10:00:00+08:00")
        _ = state.apply(makeBatch(t.addingTimeInterval(-7_200), "acme", [1]))
        let changes = state.apply(makeBatch(t, "acme", [1, 2, 3], categories: [.pi, .sensitive]))
        let company = state.id(of: SeriesKey(scope: .company, category: .pi))!
        let acme = state.id(of: SeriesKey(scope: .recipient("acme"), category: .pi))!
        #expect(changes.runs.count == 4)
        #expect(changes.runs.allSatisfy { $0.hour == LedgerClock.hour(t) && $0.range.count == 3 })
        #expect(Set(changes.runs.map(\.series)).count == 4)
        #expect(Set(changes.runs.map(\.series)).isSuperset(of: [company, acme]))
        var moved: [UInt64: UInt32?] = [:]
        changes.forEach { series, key, old, _ in if series == company { moved[key.lo] = old } }
        #expect(moved == [1: LedgerClock.hour(t) - 2, 2: nil, 3: nil])
    }

    /// What a preview says a batch adds is what counting it adds, for every counter, with
    /// subjects in mixed categories, recipients and windows, revisits and new people.
    @Test func previewMatchesWhatApplyCounts() {
        var state = CountState()
        var rng = SplitMix64(state: 3)
        let categories: [Category] = [.pi, .sensitive, "us_health"]
        let windows: [CountingWindow] = [.calendarYear, .rolling12Months, .unbounded]
        let recipients = ["acme", "globex", "initech"]
        var keys: Set<CountKey> = []
        for c in categories {
            for w in windows {
                keys.insert(CountKey(scope: .company, category: c, window: w))
                for r in recipients { keys.insert(CountKey(scope: .recipient(r), category: c, window: w)) }
            }
        }
        var time = instant("2025-03-01T10:00:00+08:00")
        for round in 0..<60 {
            time = time.addingTimeInterval(Double(rng.next() % (24 * 40)) * 3600)
            let recipient = recipients[Int(rng.next() % 3)]
            let subjects = (0..<(5 + Int(rng.next() % 40))).map { _ in
                // Draw from a small population so people come back, in one to three categories.
                LedgerSubject(key: subject(rng.next() % 300), categories: 1 + rng.next() % 7)
            }
            // Distinct keys, as the ledger expects.
            var unique: [UInt64: LedgerSubject] = [:]
            for s in subjects { unique[s.key.lo] = s }
            let batch = LedgerBatch(time: time, recipient: recipient, categories: round % 2 == 0 ? categories : categories.reversed(),
                                    subjects: Array(unique.values), keys: keys, calendar: cst)
            var before: [CountKey: Int] = [:]
            for k in keys { before[k] = state.count(k, at: time, calendar: cst) }
            let preview = state.preview(batch)
            _ = state.apply(batch)
            for k in keys {
                #expect(preview[k]?.before == before[k], "round \(round) \(k)")
                #expect(state.count(k, at: time, calendar: cst) == preview[k]?.after, "round \(round) \(k)")
            }
        }
    }

    /// Admitting in one pass answers with the preview `preview` gives and leaves the counts
    /// `apply` leaves when committed, and leaves them untouched when the answer is to discard.
    @Test func admitInOnePassMatchesPreviewThenApply() {
        var twoPass = CountState(), onePass = CountState()
        var rng = SplitMix64(state: 17)
        let categories: [Category] = [.pi, .sensitive]
        let recipients = ["acme", "globex"]
        var keys: Set<CountKey> = []
        for c in categories {
            for w in [CountingWindow.calendarYear, .rolling12Months, .unbounded] {
                keys.insert(CountKey(scope: .company, category: c, window: w))
                for r in recipients { keys.insert(CountKey(scope: .recipient(r), category: c, window: w)) }
            }
        }
        var time = instant("2025-11-20T10:00:00+08:00")
        for round in 0..<80 {
            time = time.addingTimeInterval(Double(rng.next() % (24 * 20)) * 3600)
            var unique: [UInt64: LedgerSubject] = [:]
            for _ in 0..<(1 + Int(rng.next() % 30)) {
                let s = LedgerSubject(key: subject(rng.next() % 200), categories: 1 + rng.next() % 3)
                unique[s.key.lo] = s
            }
            let batch = LedgerBatch(time: time, recipient: recipients[Int(rng.next() % 2)], categories: categories,
                                    subjects: Array(unique.values), keys: keys, calendar: cst)
            let commit = rng.next() % 3 != 0
            let expected = twoPass.preview(batch)
            if commit { _ = twoPass.apply(batch) }
            var seen: CountPreview?
            let (outcome, _, changes) = onePass.admit(batch) { preview -> (LedgerOutcome, Int) in
                seen = preview
                return (commit ? .commit : .discard, 0)
            }
            #expect(outcome == (commit ? .commit : .discard))
            #expect(seen == expected, "round \(round)")
            if !commit { #expect(changes.isEmpty, "round \(round)") }
            for k in keys {
                #expect(onePass.count(k, at: time, calendar: cst) == twoPass.count(k, at: time, calendar: cst), "round \(round) \(k)")
            }
        }
        for n in 0..<200 {
            for c in categories {
                let series = SeriesKey(scope: .company, category: c)
                #expect(onePass.lastSeen(subject(UInt64(n)), in: series) == twoPass.lastSeen(subject(UInt64(n)), in: series))
            }
        }
    }
}

@Suite struct SQLiteStoreTests {
    /// A transaction's keys go in as one block per (series, hour), across all its batches and in
    /// order; a block longer than the cap is split.
    @Test func writeGroupsKeysIntoBlocksPerSeriesAndHour() throws {
        let folder = try LedgerFolder()
        let store = try SQLiteStore(path: folder.path, options: .init())
        defer { store.close() }
        var state = CountState()
        let t = instant("2026-02-01T10:00:00+08:00")
        let batches = [
            state.apply(makeBatch(t, "acme", [1, 2, 3])),
            state.apply(makeBatch(t, "globex", [4, 5])),
            state.apply(makeBatch(t.addingTimeInterval(3_600), "acme", [6])),
        ]
        let written = try store.write(series: state.unpersistedSeries(), changes: batches)
        // company@h: 1-5, acme@h: 1-3, globex@h: 4-5, company@h+1: 6, acme@h+1: 6.
        #expect(written == 5)
        let extent = try #require(try store.logExtent())
        let blocks = try store.head(keys: 1_000, through: extent.last)
        let company = try #require(state.id(of: SeriesKey(scope: .company, category: .pi)))
        #expect(blocks.map(\.keys.count) == [5, 3, 2, 1, 1])
        #expect(blocks[0].series == company && blocks[0].hour == LedgerClock.hour(t))
        #expect(blocks[0].keys == [1, 2, 3, 4, 5].map { subject($0) })
        #expect(blocks[3].series == company && blocks[3].hour == LedgerClock.hour(t) + 1)
        // `head` stops at whole blocks once it holds the keys asked for.
        #expect(try store.head(keys: 6, through: extent.last).count == 2)

        let many = (0..<(SQLiteStore.maxKeysPerBlock + 10)).map { UInt64(1_000 + $0) }
        let big = try store.write(series: [], changes: [state.apply(makeBatch(t, "acme", many))])
        #expect(big == 4)  // company and acme, each split in two
        var loaded: [UInt64] = []
        let (keys, rows) = try store.load { series, key, _ in if series == company { loaded.append(key.lo) } }
        #expect(keys == 5 + 3 + 2 + 1 + 1 + 2 * many.count && rows == 9)
        #expect(loaded.suffix(many.count) == many[...])
    }

    /// A block whose BLOB does not hold 16 bytes per key is refused as a format error naming it.
    @Test func malformedBlockIsAFormatError() throws {
        let folder = try LedgerFolder()
        try commit(try folder.open(), makeBatch(instant("2026-02-01T10:00:00+08:00"), "acme", [1, 2]))
        try sql(folder.path, "INSERT INTO blocks(rowid, series, hour, count, keys) VALUES (77, 0, 5, 3, x'00112233')")
        #expect(throws: LedgerError.self) { _ = try folder.open() }
        // A count so large that 16 bytes per key overflows is malformed too, not a crash.
        try sql(folder.path, "UPDATE blocks SET count = 4611686018427387905, keys = x'' WHERE rowid = 77")
        do {
            _ = try folder.open()
            Issue.record("opened a ledger with a malformed block")
        } catch let error as LedgerError {
            #expect(error.kind == .format)
            #expect(error.description.contains("block 77"))
            #expect(error.description.contains(folder.path))
        }
    }
}

/// Runs SQL on a ledger file behind the ledger's back (to forge old or broken files).
func sql(_ path: String, _ text: String) throws {
    var db: OpaquePointer?
    defer { sqlite3_close(db) }
    guard sqlite3_open(path, &db) == SQLITE_OK else { throw LedgerError(kind: .open, path: path, operation: "test open", message: "") }
    // A ledger the test let go of may still be closing on its writer queue (its last checkpoint
    // holds the lock for a moment): wait for it as the ledger itself would.
    sqlite3_busy_timeout(db, 10_000)
    var message: UnsafeMutablePointer<CChar>?
    guard sqlite3_exec(db, text, nil, nil, &message) == SQLITE_OK else {
        let text = message.map { String(cString: $0) } ?? "?"
        sqlite3_free(message)
        throw LedgerError(kind: .write, path: path, operation: "test SQL", message: text)
    }
}

extension SQLiteStore.LogBlock {
    func with(keys: [SubjectKey]) -> Self { .init(rowid: rowid, series: series, hour: hour, keys: keys) }
}
