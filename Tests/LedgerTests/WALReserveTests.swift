import CustomsCore
import CustomsTestSupport
import Foundation
import Testing
@testable import Ledger

/// The zeroed space kept ahead of the WAL (`WALReserve`): it is there, it survives closes, and
/// SQLite reads zeros as the end of the log.
@Suite struct WALReserveTests {
    func walSize(_ folder: LedgerFolder) -> Int {
        (try? FileManager.default.attributesOfItem(atPath: folder.path + "-wal")[.size] as? Int) ?? -1
    }

    /// The first commit reserves a step of zeros; the WAL, zeros and all, is kept across a close;
    /// reopening gives the same counts, and commits after it count on.
    @Test func reserveIsKeptAcrossClosesAndCountsSurvive() throws {
        let folder = try LedgerFolder()
        let at = instant("2026-06-30T12:00:00+08:00")
        var before: [CountKey: Int] = [:]
        do {
            let ledger = try folder.open()
            for n in 0..<20 { try commit(ledger, makeBatch(at, "r\(n % 3)", (0..<30).map { UInt64(n * 30 + $0) })) }
            before = ledger.allCounts(at: at, calendar: cst)
            // A few frames of data, then zeros up to the reserve.
            #expect(walSize(folder) >= WALReserve.step)
            ledger.close()
        }
        #expect(walSize(folder) >= WALReserve.step, "the WAL and its reserve outlive the close")
        let reopened = try folder.open()
        defer { reopened.close() }
        #expect(reopened.allCounts(at: at, calendar: cst) == before)
        try commit(reopened, makeBatch(at, "r0", [10_000, 10_001]))
        let company = key(.company, .pi, .calendarYear)
        #expect(reopened.counts([company], at: at, calendar: cst)[company] == 602)
    }

    /// A WAL that is nothing but zeros is an empty log: everything a closed ledger holds is in the
    /// main file by then, so zeroing the whole WAL loses nothing and the ledger opens as it was.
    @Test func allZeroWALReadsAsEmpty() throws {
        let folder = try LedgerFolder()
        let at = instant("2026-06-30T12:00:00+08:00")
        var before: [CountKey: Int] = [:]
        do {
            let ledger = try folder.open()
            for n in 0..<10 { try commit(ledger, makeBatch(at, "acme", (0..<40).map { UInt64(n * 40 + $0) })) }
            before = ledger.allCounts(at: at, calendar: cst)
            ledger.close()
        }
        let size = walSize(folder)
        #expect(size >= WALReserve.step)
        try Data(count: size).write(to: URL(fileURLWithPath: folder.path + "-wal"))
        let reopened = try folder.open()
        defer { reopened.close() }
        #expect(reopened.allCounts(at: at, calendar: cst) == before)
        #expect(reopened.statistics().entries == 800)
    }

    /// Zeros are written only past the file's end: a reserve asked for again with the WAL already
    /// past the frames it would cover leaves the file as it is, and a step never passes the limit.
    @Test func reserveGrowsOnlyPastTheEndUpToTheLimit() throws {
        let folder = try LedgerFolder()
        let path = folder.url.appendingPathComponent("plain-wal").path
        let marker = Data(repeating: 0xAB, count: 1_000)
        try marker.write(to: URL(fileURLWithPath: path))
        var reserve = try WALReserve(path: path, pageSize: 4_096, framesBeforeCheckpoint: 2_000)
        defer { reserve.close() }
        try reserve.ensure(frames: 0)
        var bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(bytes.count == 1_000 + WALReserve.step)
        #expect(bytes.prefix(1_000) == marker, "what was there is left alone")
        #expect(bytes.dropFirst(1_000).allSatisfy { $0 == 0 })
        try reserve.ensure(frames: 10)
        #expect(reserve.end == 1_000 + WALReserve.step, "still more than the headroom ahead of frame 10")
        try reserve.ensure(frames: 1_900)
        bytes = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(bytes.count == reserve.limit && reserve.limit == WALReserve.headerBytes + 2_256 * 4_120)
    }
}
