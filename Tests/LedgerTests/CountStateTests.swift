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
}
