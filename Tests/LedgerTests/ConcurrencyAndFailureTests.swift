import CustomsCore
import CustomsTestSupport
import Foundation
import Testing
@testable import Ledger

/// Thread-safe tallies for producers (guarded by `lock`).
final class Tally: @unchecked Sendable {
    private let lock = NSLock()
    private var committed: [UInt64] = []
    private var errors: [LedgerError] = []
    private var discarded = 0
    func commit(_ subjects: [UInt64]) { lock.withLock { committed += subjects } }
    func fail(_ e: LedgerError) { lock.withLock { errors.append(e) } }
    func discard() { lock.withLock { discarded += 1 } }
    var snapshot: (committed: [UInt64], errors: [LedgerError], discarded: Int) { lock.withLock { (committed, errors, discarded) } }
}

@Suite struct ConcurrencyAndFailureTests {
    /// Runs `producers` threads, each admitting `batches` batches of fresh subjects and waiting
    /// for each completion before the next (as a flow would).
    func run(_ ledger: SubjectLedger, producers: Int, batches: Int, size: Int, keys: Set<CountKey>,
             time: Date, decide: @escaping @Sendable (CountPreview) -> LedgerOutcome) -> Tally {
        let tally = Tally()
        DispatchQueue.concurrentPerform(iterations: producers) { p in
            for b in 0..<batches {
                let subjects = (0..<size).map { UInt64((p * batches + b) * size + $0) }
                let batch = makeBatch(time, "r\(p % 5)", subjects, keys: keys)
                switch admitAndWait(ledger, batch, decide: decide) {
                case .success(let preview):
                    if decide(preview) == .commit { tally.commit(subjects) } else { tally.discard() }
                case .failure(let e):
                    tally.fail(e)
                }
            }
        }
        return tally
    }

    @Test func concurrentAdmitsCountExactly() throws {
        let folder = try LedgerFolder()
        let ledger = try folder.open()
        defer { ledger.close() }
        let t = instant("2026-04-01T10:00:00+08:00")
        let tally = run(ledger, producers: 16, batches: 40, size: 10, keys: [], time: t) { _ in .commit }
        #expect(tally.snapshot.committed.count == 16 * 40 * 10)
        var keys: Set<CountKey> = [key(.company, .pi, .calendarYear)]
        for r in 0..<5 { keys.insert(key(.recipient("r\(r)"), .pi, .calendarYear)) }
        let counts = ledger.counts(keys, at: t, calendar: cst)
        #expect(counts[key(.company, .pi, .calendarYear)] == 6_400)
        // Producers p and p+5 share recipient r(p % 5): 4, 3, 3, 3, 3 producers.
        #expect((0..<5).map { counts[key(.recipient("r\($0)"), .pi, .calendarYear)] } == [1_600, 1_200, 1_200, 1_200, 1_200])
    }

    @Test func concurrentAdmitsNeverSlipPastALine() throws {
        let folder = try LedgerFolder()
        let ledger = try folder.open()
        defer { ledger.close() }
        let t = instant("2026-04-01T10:00:00+08:00")
        let line = key(.company, .pi, .calendarYear)
        let limit = 1_000
        let tally = run(ledger, producers: 32, batches: 10, size: 7, keys: [line], time: t) { preview in
            (preview[line]?.after ?? Int.max) <= limit ? .commit : .discard
        }
        let (committed, errors, discarded) = tally.snapshot
        #expect(errors.isEmpty)
        let count = ledger.counts([line], at: t, calendar: cst)[line] ?? -1
        #expect(count == committed.count)
        #expect(count <= limit && count > limit - 7)
        #expect(discarded == 32 * 10 - committed.count / 7)
    }

    @Test func fullDiskFailsTheBatchAndKeepsMemoryEqualToDisk() throws {
        let folder = try LedgerFolder()
        let t = instant("2026-04-01T10:00:00+08:00")
        var committed: [UInt64] = []
        var memoryCounts: [CountKey: Int] = [:]
        do {
            // 40 pages of 4 KiB: room for a few thousand rows, far fewer than the producers send.
            // Every failed commit logs an error by design; keep the test output readable.
            let ledger = try folder.open(.init(maxPageCount: 40), logLevel: .critical)
            let tally = run(ledger, producers: 8, batches: 40, size: 50, keys: [], time: t) { _ in .commit }
            let snap = tally.snapshot
            committed = snap.committed
            #expect(!snap.errors.isEmpty)
            #expect(!committed.isEmpty)
            for e in snap.errors {
                #expect(e.kind == .write)
                #expect(e.code.map { $0 & 0xFF } == 13)  // SQLITE_FULL
                #expect(e.description.contains(folder.path))
            }
            memoryCounts = ledger.allCounts(at: t, calendar: cst)
            #expect(memoryCounts[key(.company, .pi, .calendarYear)] == committed.count)
            ledger.close()
        }
        let reopened = try folder.open()
        defer { reopened.close() }
        #expect(reopened.allCounts(at: t, calendar: cst) == memoryCounts)
        for s in committed { #expect(reopened.lastSeen(subject(s), scope: .company, category: .pi) != nil) }
    }

    @Test func unusablePathsGiveLedgerErrors() throws {
        let folder = try LedgerFolder()
        // The write-ahead log's path is taken by a directory.
        try FileManager.default.createDirectory(atPath: folder.path + "-wal", withIntermediateDirectories: true)
        #expect(throws: LedgerError.self) { _ = try folder.open() }

        let missing = folder.url.appendingPathComponent("no/such/dir/ledger.sqlite").path
        do {
            _ = try SQLiteLedger(path: missing, logger: .init(label: "t"))
            Issue.record("opened a ledger in a missing directory")
        } catch {
            #expect(error.kind == .open)
            #expect(error.description.contains(missing))
        }

        let notALedger = folder.url.appendingPathComponent("notes.txt").path
        try Data(repeating: 0x41, count: 8_192).write(to: URL(fileURLWithPath: notALedger))
        #expect(throws: LedgerError.self) { _ = try SQLiteLedger(path: notALedger, logger: .init(label: "t")) }

        let absent = folder.url.appendingPathComponent("absent.sqlite").path
        #expect(throws: LedgerError.self) { _ = try SQLiteLedger(path: absent, options: .init(readOnly: true), logger: .init(label: "t")) }
        #expect(!FileManager.default.fileExists(atPath: absent))
    }

    @Test func closedLedgerRefusesCommits() throws {
        let folder = try LedgerFolder()
        let ledger = try folder.open()
        let t = instant("2026-04-01T10:00:00+08:00")
        try commit(ledger, makeBatch(t, "acme", [1]))
        ledger.close()
        ledger.close()
        let result = admitAndWait(ledger, makeBatch(t, "acme", [2]))
        #expect(throws: LedgerError.closed(folder.path)) { try result.get() }
        #expect(throws: LedgerError.self) { _ = try ledger.preview(makeBatch(t, "acme", [2])) }
    }

    @Test func readOnlyLedgerCountsButRefusesCommits() throws {
        let folder = try LedgerFolder()
        let t = instant("2026-04-01T10:00:00+08:00")
        do {
            let ledger = try folder.open()
            try commit(ledger, makeBatch(t, "acme", [1, 2]))
            ledger.close()
        }
        let ro = try folder.open(.init(readOnly: true))
        defer { ro.close() }
        #expect(ro.counts([key(.company, .pi, .unbounded)], at: t, calendar: cst)[key(.company, .pi, .unbounded)] == 2)
        let result = admitAndWait(ro, makeBatch(t, "acme", [3]))
        #expect(throws: LedgerError.self) { try result.get() }
    }
}

/// When a commit fails, its batches leave memory before any of their completions runs, and a
/// completion fires only once its batch is durable.
@Suite struct CompletionOrderTests {
    @Test func completionsSeeTheirBatchCountedOrUndone() throws {
        let folder = try LedgerFolder()
        let t = instant("2026-04-01T10:00:00+08:00")
        let ledger = try folder.open(.init(maxPageCount: 40), logLevel: .critical)
        defer { ledger.close() }
        let wrong = Tally(), failed = Tally(), durable = Tally()
        DispatchQueue.concurrentPerform(iterations: 8) { p in
            for b in 0..<40 {
                let subjects = (0..<50).map { UInt64((p * 40 + b) * 50 + $0) }
                let done = DispatchSemaphore(value: 0)
                ledger.admit(makeBatch(t, "r\(p % 3)", subjects), decide: { _ in (.commit, 0) }) { result in
                    // Runs where the ledger delivers it; asking the ledger from here is allowed.
                    let counted = subjects.filter { ledger.lastSeen(subject($0), scope: .company, category: .pi) != nil }
                    switch result {
                    case .success:
                        durable.commit(subjects)
                        if counted.count != subjects.count { wrong.commit([UInt64(b)]) }
                    case .failure(let e):
                        failed.fail(e)
                        if !counted.isEmpty { wrong.commit([UInt64(b)]) }
                    }
                    done.signal()
                }
                done.wait()
            }
        }
        #expect(!failed.snapshot.errors.isEmpty, "the disk never filled; the test proves nothing")
        #expect(wrong.snapshot.committed.isEmpty)
        // Every batch reported durable is on disk.
        let committed = durable.snapshot.committed
        ledger.close()
        let reopened = try folder.open()
        defer { reopened.close() }
        #expect(committed.filter { reopened.lastSeen(subject($0), scope: .company, category: .pi) == nil }.isEmpty)
        #expect(reopened.counts([key(.company, .pi, .unbounded)], at: t, calendar: cst)[key(.company, .pi, .unbounded)] == committed.count)
    }
}
