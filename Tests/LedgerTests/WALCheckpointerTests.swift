import CustomsCore
import CustomsTestSupport
import Foundation
import Testing
@testable import Ledger

/// Checkpoints off the writer's path (`WALCheckpointer`): they happen, they keep the WAL short,
/// and everything committed is in the ledger after a reopen.
@Suite struct WALCheckpointerTests {
    func size(_ path: String) -> Int {
        (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? -1
    }

    @Test func backgroundCheckpointsKeepTheWALShortAndLoseNothing() throws {
        let folder = try LedgerFolder()
        let at = instant("2026-06-30T12:00:00+08:00")
        let frames = 32
        var before: [CountKey: Int] = [:]
        var largestWAL = 0
        do {
            // No reserve, so the WAL's size is what SQLite wrote.
            let ledger = try folder.open(.init(walReserve: false, gatherMicroseconds: 0, checkpointFrames: frames))
            let fileBefore = size(folder.path)
            for n in 0..<300 {
                try commit(ledger, makeBatch(at, "r\(n % 2)", (0..<40).map { UInt64(n * 40 + $0) }))
                largestWAL = max(largestWAL, size(folder.path + "-wal"))
            }
            let stats = ledger.statistics()
            #expect(stats.backgroundCheckpoints > 0, "no checkpoint ran off the writer's path")
            #expect(size(folder.path) > fileBefore, "checkpoints copied pages into the ledger file")
            before = ledger.allCounts(at: at, calendar: cst)
            ledger.close()
        }
        // The writer checkpoints itself at twice `frames`, so the WAL never gets much past that
        // (a commit here is a few pages; 4,096-byte pages plus 24-byte frame headers).
        #expect(largestWAL < (2 * frames + 16) * 4_120 + 32, "WAL reached \(largestWAL) bytes")
        let reopened = try folder.open()
        defer { reopened.close() }
        #expect(reopened.allCounts(at: at, calendar: cst) == before)
        #expect(reopened.statistics().entries == 300 * 40 + 2 * 150 * 40)
    }
}
