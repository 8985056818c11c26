import CustomsCore
import Foundation
import Testing
@testable import Ledger

@Suite struct CountingTests {
    @Test func distinctSubjectsAcrossRecipients() throws {
        let folder = try LedgerFolder()
        let ledger = try folder.open()
        defer { ledger.close() }
        let t = instant("2026-03-01T10:00:00+08:00")
        try commit(ledger, makeBatch(t, "acme", [1, 2, 3]))
        try commit(ledger, makeBatch(t, "acme", [1, 2]))      // same people again
        try commit(ledger, makeBatch(t, "globex", [2, 3, 4]))  // two known, one new
        let keys: Set<CountKey> = [key(.company, .pi, .calendarYear), key(.recipient("acme"), .pi, .calendarYear),
                                   key(.recipient("globex"), .pi, .calendarYear), key(.company, .sensitive, .calendarYear)]
        let counts = ledger.counts(keys, at: t, calendar: cst)
        #expect(counts[key(.company, .pi, .calendarYear)] == 4)
        #expect(counts[key(.recipient("acme"), .pi, .calendarYear)] == 3)
        #expect(counts[key(.recipient("globex"), .pi, .calendarYear)] == 3)
        #expect(counts[key(.company, .sensitive, .calendarYear)] == 0)
        #expect(ledger.allKeys().count == 3 * CountingWindow.allCases.count)
    }

    @Test func previewReportsBeforeAndAfterPerKey() throws {
        let folder = try LedgerFolder()
        let ledger = try folder.open()
        defer { ledger.close() }
        let t = instant("2026-05-01T09:00:00+08:00")
        try commit(ledger, makeBatch(t, "acme", [1, 2], categories: [.pi, .sensitive]))
        let keys: Set<CountKey> = [key(.company, .pi, .calendarYear), key(.company, .sensitive, .calendarYear),
                                   key(.recipient("acme"), .pi, .calendarYear), key(.recipient("globex"), .pi, .calendarYear),
                                   key(.recipient("other"), .pi, .calendarYear)]
        let preview = try ledger.preview(makeBatch(t, "globex", [2, 3, 4], keys: keys))
        #expect(preview[key(.company, .pi, .calendarYear)] == CountChange(before: 2, after: 4))
        #expect(preview[key(.company, .sensitive, .calendarYear)] == CountChange(before: 2, after: 2))
        #expect(preview[key(.recipient("acme"), .pi, .calendarYear)] == CountChange(before: 2, after: 2))
        #expect(preview[key(.recipient("globex"), .pi, .calendarYear)] == CountChange(before: 0, after: 3))
        #expect(preview[key(.recipient("other"), .pi, .calendarYear)] == CountChange(before: 0, after: 0))
        // A preview changes nothing.
        #expect(ledger.counts([key(.company, .pi, .calendarYear)], at: t, calendar: cst)[key(.company, .pi, .calendarYear)] == 2)
    }

    @Test func discardCommitsNothing() throws {
        let folder = try LedgerFolder()
        let t = instant("2026-05-01T09:00:00+08:00")
        do {
            let ledger = try folder.open()
            let k = key(.company, .pi, .unbounded)
            let result = admitAndWait(ledger, makeBatch(t, "acme", [1, 2, 3], keys: [k])) { _ in .discard }
            #expect(try result.get()[k] == CountChange(before: 0, after: 3))
            #expect(ledger.counts([k], at: t, calendar: cst)[k] == 0)
            #expect(ledger.allKeys().isEmpty)
            ledger.close()
        }
        let reopened = try folder.open()
        defer { reopened.close() }
        #expect(reopened.allKeys().isEmpty)
    }

    @Test func windowBoundariesInUTCPlus8() throws {
        let folder = try LedgerFolder()
        let ledger = try folder.open()
        defer { ledger.close() }
        // Last seen one minute before 2026 begins in Beijing (15:59 UTC on 31 December).
        try commit(ledger, makeBatch(instant("2025-12-31T23:59:00+08:00"), "acme", [1]))
        // The first instant of 2026 in Beijing.
        try commit(ledger, makeBatch(instant("2026-01-01T00:00:00+08:00"), "acme", [2]))
        // Rolling 12 months at 2026-03-01: the window opens 2025-03-01T00:00+08:00.
        try commit(ledger, makeBatch(instant("2025-03-01T00:00:00+08:00"), "acme", [3]))
        try commit(ledger, makeBatch(instant("2025-02-28T23:00:00+08:00"), "acme", [4]))
        // Before the previous year began.
        try commit(ledger, makeBatch(instant("2024-12-31T23:00:00+08:00"), "acme", [5]))

        func count(_ window: CountingWindow, _ at: String) -> Int? {
            let k = key(.recipient("acme"), .pi, window)
            return ledger.counts([k], at: instant(at), calendar: cst)[k]
        }
        #expect(count(.calendarYear, "2026-03-01T12:00:00+08:00") == 1)       // only subject 2
        #expect(count(.sincePreviousYear, "2026-03-01T12:00:00+08:00") == 4)  // 1, 2, 3, 4
        #expect(count(.rolling12Months, "2026-03-01T12:00:00+08:00") == 3)    // 1, 2, 3
        #expect(count(.unbounded, "2026-03-01T12:00:00+08:00") == 5)
        // Just before midnight in Beijing, 2025 is still the current year.
        #expect(count(.calendarYear, "2025-12-31T23:59:59+08:00") == 4)       // 1, 3, 4 and 2 (seen "later")
        // In UTC both midnight-Beijing subjects fall in 2025: the calendar passed in decides.
        let utcKey = key(.recipient("acme"), .pi, .calendarYear)
        #expect(ledger.counts([utcKey], at: instant("2026-03-01T12:00:00+08:00"), calendar: .utc)[utcKey] == 0)
    }

    @Test func lastSeenMovesForward() throws {
        let folder = try LedgerFolder()
        let ledger = try folder.open()
        defer { ledger.close() }
        try commit(ledger, makeBatch(instant("2025-06-01T10:00:00+08:00"), "acme", [1, 2]))
        let now = instant("2026-02-01T10:00:00+08:00")
        let cy = key(.company, .pi, .calendarYear), spy = key(.company, .pi, .sincePreviousYear)
        #expect(ledger.counts([cy, spy], at: now, calendar: cst) == [cy: 0, spy: 2])
        let preview = try ledger.preview(makeBatch(now, "globex", [1], keys: [cy, spy]))
        #expect(preview[cy] == CountChange(before: 0, after: 1))
        #expect(preview[spy] == CountChange(before: 2, after: 2))
        try commit(ledger, makeBatch(now, "globex", [1]))
        #expect(ledger.counts([cy, spy], at: now, calendar: cst) == [cy: 1, spy: 2])
        // An older flow never moves last-seen back (company), but moves acme's forward.
        try commit(ledger, makeBatch(instant("2025-07-01T10:00:00+08:00"), "acme", [1]))
        #expect(ledger.counts([cy, spy], at: now, calendar: cst) == [cy: 1, spy: 2])
        #expect(ledger.lastSeen(subject(1), scope: .company, category: .pi) == instant("2026-02-01T02:00:00Z"))
        #expect(ledger.lastSeen(subject(1), scope: .recipient("acme"), category: .pi) == instant("2025-07-01T02:00:00Z"))
        #expect(ledger.lastSeen(subject(9), scope: .company, category: .pi) == nil)
    }

    @Test func restartRestoresCountsExactly() throws {
        let folder = try LedgerFolder()
        let at = instant("2026-06-30T12:00:00+08:00")
        var before: [CountKey: Int] = [:]
        do {
            let ledger = try folder.open()
            for day in 0..<40 {
                let t = instant("2025-06-01T08:00:00+08:00").addingTimeInterval(Double(day) * 86_400 * 10)
                let subjects = (0..<25).map { UInt64(day * 11 + $0) }
                try commit(ledger, makeBatch(t, "r\(day % 3)", subjects,
                                                   categories: day % 2 == 0 ? [.pi] : [.pi, .sensitive]))
            }
            before = ledger.allCounts(at: at, calendar: cst)
            ledger.close()
        }
        #expect(before.values.contains { $0 > 0 })
        let reopened = try folder.open()
        defer { reopened.close() }
        #expect(reopened.allCounts(at: at, calendar: cst) == before)
    }

    @Test func logCleaningKeepsCountsAndShrinksTheFile() throws {
        let folder = try LedgerFolder()
        let at = instant("2026-12-31T12:00:00+08:00")
        let options = SQLiteLedger.Options(cleaningSlack: 1_000, cleaningChunk: 700)
        var before: [CountKey: Int] = [:]
        var logKeys = 0
        do {
            let ledger = try folder.open(options)
            // The same 4,000 subjects seen again every day for five days: 5 stored keys each per series.
            for day in 0..<5 {
                let t = instant("2026-01-01T08:00:00+08:00").addingTimeInterval(Double(day) * 86_400)
                try commit(ledger, makeBatch(t, "acme", Array(0..<4_000)))
            }
            before = ledger.allCounts(at: at, calendar: cst)
            // Cleaning runs while the ledger is idle: 40,000 stored keys come down to at most two
            // per entry plus the slack (a pass drops every superseded key it covers).
            let deadline = Date().addingTimeInterval(30)
            while ledger.statistics().logKeys > 17_000 && Date() < deadline { usleep(10_000) }
            logKeys = ledger.statistics().logKeys
            #expect(logKeys <= 17_000)
            ledger.close()
        }
        let store = try SQLiteStore(path: folder.path, options: .init(readOnly: true))
        let stored = try store.load { _, _, _ in }
        store.close()
        #expect(stored.keys <= logKeys)  // a step in flight at close may have dropped more
        let reopened = try folder.open()
        defer { reopened.close() }
        #expect(reopened.allCounts(at: at, calendar: cst) == before)
        #expect(reopened.lastSeen(subject(7), scope: .company, category: .pi) == instant("2026-01-05T00:00:00Z"))
        // Sightings after cleaning still move last-seen forward.
        try commit(reopened, makeBatch(instant("2026-02-01T08:00:00+08:00"), "acme", [7]))
        #expect(reopened.lastSeen(subject(7), scope: .company, category: .pi) == instant("2026-02-01T00:00:00Z"))
    }
}
