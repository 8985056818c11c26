import CustomsCore
import CustomsTestSupport
import Foundation
import Testing
@testable import Ledger

/// Commits held back under load for more batches (`Options.gatherMicroseconds`).
@Suite struct GatheringTests {
    /// A lone flow is never held back: with a gathering window far longer than the test may run,
    /// one flow after another still commits at once, each in its own transaction.
    @Test func aLoneFlowNeverWaits() throws {
        let folder = try LedgerFolder()
        let ledger = try folder.open(.init(gatherMicroseconds: 600_000_000, gatherBatches: 1_000))
        defer { ledger.close() }
        let t = instant("2026-04-01T10:00:00+08:00")
        for n in 0..<5 { try commit(ledger, makeBatch(t, "acme", [UInt64(n * 2), UInt64(n * 2 + 1)])) }
        #expect(ledger.statistics().transactions == 5)
        let company = key(.company, .pi, .calendarYear)
        #expect(ledger.counts([company], at: t, calendar: cst)[company] == 10)
    }

    /// Flows arriving together are gathered into fewer commits, and every one of them is counted
    /// and durable: the counts after reopening are exact.
    @Test func concurrentFlowsAreGatheredAndAllDurable() throws {
        let folder = try LedgerFolder()
        let t = instant("2026-04-01T10:00:00+08:00")
        let producers = 8, batches = 30
        let company = key(.company, .pi, .calendarYear)
        do {
            let ledger = try folder.open(.init(gatherMicroseconds: 5_000, gatherBatches: producers))
            let group = DispatchGroup()
            for p in 0..<producers {
                group.enter()
                Thread {
                    for b in 0..<batches {
                        let base = UInt64((p * batches + b) * 3)
                        _ = admitAndWait(ledger, makeBatch(t, "r\(p % 2)", [base, base + 1, base + 2]))
                    }
                    group.leave()
                }.start()
            }
            group.wait()
            let stats = ledger.statistics()
            #expect(stats.transactions < producers * batches, "no two flows shared a commit")
            #expect(ledger.counts([company], at: t, calendar: cst)[company] == producers * batches * 3)
            ledger.close()
        }
        let reopened = try folder.open()
        defer { reopened.close() }
        #expect(reopened.counts([company], at: t, calendar: cst)[company] == producers * batches * 3)
    }
}
