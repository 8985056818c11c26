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

    @Test func liveRowsKeepTheDurableHourBehindPendingBatches() {
        var state = CountState()
        let t10 = Date(timeIntervalSince1970: 10 * 3600), t12 = Date(timeIntervalSince1970: 12 * 3600)
        _ = state.apply(makeBatch(Date(timeIntervalSince1970: 5 * 3600), "acme", [1, 2]))
        _ = state.apply(makeBatch(t10, "acme", [1]))
        let companyID = state.id(of: SeriesKey(scope: .company, category: .pi))!
        let rows = [
            SQLiteStore.LogRow(rowid: 1, series: companyID, key: subject(1), hour: 5),   // superseded by hour 10
            SQLiteStore.LogRow(rowid: 2, series: companyID, key: subject(2), hour: 5),   // still the latest
            SQLiteStore.LogRow(rowid: 3, series: companyID, key: subject(1), hour: 10),  // latest durable
        ]
        #expect(state.liveRows(rows, pending: []).map(\.rowid) == [2, 3])
        // Subject 1 moves to hour 12 in memory, not yet stored: its hour-10 row must survive.
        let pending = state.apply(makeBatch(t12, "acme", [1]))
        #expect(state.liveRows(rows, pending: [pending]).map(\.rowid) == [2, 3])
        // Without the pending overlay the hour-10 row would look superseded.
        #expect(state.lastSeen(subject(1), in: SeriesKey(scope: .company, category: .pi)) == 12)
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
}

@Suite struct SQLiteStoreTests {
    /// Rows go in through multi-row statements and one by one for the rest: all of them, in order.
    @Test func writeKeepsEveryRowInOrder() throws {
        let folder = try LedgerFolder()
        let store = try SQLiteStore(path: folder.path, options: .init())
        defer { store.close() }
        try store.write(series: [(id: 0, key: SeriesKey(scope: .company, category: .pi))], changes: [])
        #expect(try store.logExtent() == nil)
        for total in [1, 31, 32, 33, 70] {
            let changes = (0..<total).map { n in
                SightingChange(series: 0, key: subject(UInt64(1_000 * total + n)), old: nil, new: UInt32(n))
            }
            // Split across batches the way a group commit does.
            let batches = stride(from: 0, to: total, by: 9).map { Array(changes[$0..<min($0 + 9, total)]) }
            try store.write(series: [], changes: batches)
            let extent = try #require(try store.logExtent())
            let rows = try store.head(limit: 10_000, through: extent.last).suffix(total)
            #expect(rows.map(\.key) == changes.map(\.key), "\(total) rows")
            #expect(rows.map(\.hour) == changes.map(\.new), "\(total) rows")
        }
    }
}
