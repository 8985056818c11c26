import CustomsCore
import CustomsTestSupport
import Foundation
import Testing
@testable import Ledger

@Suite struct CrashTests {
    /// Runs `customs ledger drill` (which prints `durable n` after batch n's completion fired)
    /// `runs` times, SIGKILLing it at a random moment each time; returns the batches reported.
    func drill(_ folder: LedgerFolder, runs: Int, perRun: Int, size: Int, atLeast: Int = 1, extra: [String]) throws -> Set<Int> {
        let binary = TestPaths.customsBinary.path
        #expect(FileManager.default.isExecutableFile(atPath: binary), "build the customs binary first: \(binary)")
        var generator = SystemRandomNumberGenerator()
        var reported = Set<Int>()
        for run in 0..<runs {
            let child = try BackgroundProcess(binary, [
                "ledger", "drill", "--db", folder.path, "--first", String(run * perRun), "--batches", String(perRun),
                "--producers", "16", "--size", String(size),
            ] + extra)
            // Wait until it has made some progress, then kill it mid-flight at a random moment.
            let deadline = Date().addingTimeInterval(30)
            while child.output.components(separatedBy: "durable").count <= atLeast && Date() < deadline { usleep(10_000) }
            usleep(UInt32.random(in: 20_000...300_000, using: &generator))
            child.signal(SIGKILL)
            child.stop()
            let lines = child.output.split(separator: "\n")
            let durable = lines.compactMap { $0.hasPrefix("durable ") ? Int($0.dropFirst(8)) : nil }
            #expect(!durable.isEmpty, "run \(run) reported nothing: \(child.output.prefix(500))")
            #expect(durable.count < perRun, "run \(run) finished before the kill; the drill is too short")
            #expect(!lines.contains { $0.hasPrefix("failed") })
            reported.formUnion(durable)
        }
        return reported
    }

    @Test func killNineLosesNoReportedBatch() throws {
        let folder = try LedgerFolder()
        let size = 20
        let reported = try drill(folder, runs: 4, perRun: 200_000, size: size, extra: [])
        // The kills hit a WAL with zeroed space reserved past its frames: recovery stops at them.
        let wal = try FileManager.default.attributesOfItem(atPath: folder.path + "-wal")[.size] as? Int
        #expect((wal ?? 0) >= WALReserve.step)
        let ledger = try folder.open()
        defer { ledger.close() }
        var missing = 0
        for n in reported {
            for j in 0..<size {
                let key = SubjectKey(hi: UInt64(n), lo: UInt64(j))
                if ledger.lastSeen(key, scope: .company, category: .pi) == nil { missing += 1 }
                if ledger.lastSeen(key, scope: .recipient("r\(n % 4)"), category: .pi) == nil { missing += 1 }
            }
        }
        #expect(missing == 0)
        let company = key(.company, .pi, .unbounded)
        let total = ledger.counts([company], at: Date(), calendar: cst)[company] ?? 0
        #expect(total >= reported.count * size)
        #expect(total % size == 0, "a batch is all or nothing")
    }

    /// Subjects come back hour after hour, so the log fills with superseded rows and is cleaned
    /// while the drill runs: no kill may lose a reported last-seen hour.
    @Test func killNineDuringLogCleaningLosesNoLastSeen() throws {
        let folder = try LedgerFolder()
        let size = 10, revisit = 40
        let reported = try drill(folder, runs: 3, perRun: 200_000, size: size, atLeast: 400,
                                 extra: ["--revisit", String(revisit), "--cleaning-slack", "100"])
        let ledger = try folder.open()
        defer { ledger.close() }
        // The latest reported hour per subject group must be what the ledger holds (or later).
        var latest: [Int: Int] = [:]
        for n in reported { latest[n % revisit] = max(latest[n % revisit] ?? 0, n) }
        let start = 1_767_225_600.0
        var behind = 0
        for (group, n) in latest {
            for j in 0..<size {
                let seen = ledger.lastSeen(SubjectKey(hi: UInt64(group), lo: UInt64(j)), scope: .company, category: .pi)
                if (seen?.timeIntervalSince1970 ?? 0) < start + Double(n) * 3600 { behind += 1 }
            }
        }
        #expect(behind == 0)
        // The log was cleaned: far fewer keys stored than sightings written.
        let stats = ledger.statistics()
        #expect(stats.entries == revisit * size * 2)
        #expect(stats.logKeys < reported.count * size * 2)
    }
}
