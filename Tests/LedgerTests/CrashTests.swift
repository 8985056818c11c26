import CustomsCore
import CustomsTestSupport
import Foundation
import Testing
@testable import Ledger

@Suite struct CrashTests {
    /// Runs `customs ledger drill` (which prints `durable n` after batch n's completion fired),
    /// SIGKILLs it at random moments, and checks every reported batch survived the kill.
    @Test func killNineLosesNoReportedBatch() throws {
        let binary = TestPaths.customsBinary.path
        #expect(FileManager.default.isExecutableFile(atPath: binary), "build the customs binary first: \(binary)")
        let folder = try LedgerFolder()
        var generator = SystemRandomNumberGenerator()
        var reported = Set<Int>()
        let size = 20, perRun = 200_000
        for run in 0..<4 {
            let child = try BackgroundProcess(binary, [
                "ledger", "drill", "--db", folder.path, "--first", String(run * perRun), "--batches", String(perRun),
                "--producers", "16", "--size", String(size),
                // Small merges, so some kills land in the middle of one.
                "--log-merge-threshold", "3000",
            ])
            // Wait until it has made some progress, then kill it mid-flight at a random moment.
            let deadline = Date().addingTimeInterval(20)
            while !child.output.contains("durable") && Date() < deadline { usleep(5_000) }
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
}
