import Foundation
import Testing
import CustomsTestSupport
@testable import Audit

func sampleRecord(_ i: Int, time: Date = Date(timeIntervalSince1970: 1_795_000_000), action: String = "block",
                  recipient: String = "acme-us") -> AuditRecord {
    AuditRecord(time: time.addingTimeInterval(Double(i)), incident: IncidentID.make(at: time), flow: "f\(i)",
                action: action, rule: "cn-2024-provisions/pi>=100000/scc", regime: "cn-2024-provisions",
                requiredInstrument: "scc_or_certification", approvalFindings: ["scc-1: expired on 2026-01-01"],
                reason: "company total would reach 100,001 people without a standard contract",
                clientAddress: "10.0.0.\(i % 250)", clientName: "billing", method: "POST", host: "api.acme.com",
                path: "/v1/upload", destination: "127.0.0.2", country: "US", recipient: recipient,
                subjectsNew: ["pi": 50, "sensitive": i % 3],
                counts: ["company/pi/calendar_year": .init(before: 99_990, after: 100_040)],
                masked: ["****123X"])
}

@Suite struct AuditLogTests {
    @Test func chainHoldsAndSurvivesReopen() throws {
        let dir = try TestPaths.temporaryDirectory("audit")
        let path = dir.appendingPathComponent("audit.jsonl").path
        do {
            let log = try AuditLog(path: path)
            for i in 0..<20 { try log.appendAndWait(sampleRecord(i)) }
            log.close()
        }
        let log2 = try AuditLog(path: path)
        for i in 20..<25 { try log2.appendAndWait(sampleRecord(i)) }
        log2.close()
        #expect(AuditLogReader.verify(logPath: path) == .intact(records: 25, files: 1))
        let entries = try AuditLogReader.entries(logPath: path)
        #expect(entries.count == 25)
        #expect(entries[24].record.flow == "f24")
        #expect(entries[3].record.counts["company/pi/calendar_year"] == .init(before: 99_990, after: 100_040))
    }

    @Test func concurrentAppendsAllLandInOneChain() throws {
        let dir = try TestPaths.temporaryDirectory("audit")
        let path = dir.appendingPathComponent("audit.jsonl").path
        let log = try AuditLog(path: path)
        let group = DispatchGroup()
        let failures = Counter()
        for i in 0..<200 {
            group.enter()
            log.append(sampleRecord(i)) { r in
                if case .failure = r { failures.increment() }
                group.leave()
            }
        }
        group.wait()
        #expect(failures.value == 0)
        #expect(AuditLogReader.verify(logPath: path) == .intact(records: 200, files: 1))
    }

    @Test(arguments: ["edit", "delete", "swap", "truncate"])
    func tamperingIsDetectedAtTheRightLine(kind: String) throws {
        let dir = try TestPaths.temporaryDirectory("audit")
        let path = dir.appendingPathComponent("audit.jsonl").path
        let log = try AuditLog(path: path)
        for i in 0..<10 { try log.appendAndWait(sampleRecord(i)) }
        log.close()
        var lines = try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map(String.init)
        var expectedLine = 0
        switch kind {
        case "edit":
            // One byte: 50 new subjects become 51 on line 5.
            lines[4] = lines[4].replacingOccurrences(of: "\"pi\":50", with: "\"pi\":51")
            expectedLine = 5
        case "delete":
            lines.remove(at: 6); expectedLine = 7
        case "swap":
            lines.swapAt(2, 3); expectedLine = 3
        default:
            lines[9] = String(lines[9].prefix(40)); expectedLine = 10
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: path, atomically: false, encoding: .utf8)
        guard case .broken(_, let line, let reason) = AuditLogReader.verify(logPath: path) else {
            Issue.record("tampering (\(kind)) not detected"); return
        }
        #expect(line == expectedLine, "\(reason)")
    }

    @Test func rotatesBySizeAndByDayWithOneChain() throws {
        let dir = try TestPaths.temporaryDirectory("audit")
        let path = dir.appendingPathComponent("audit.jsonl").path
        let log = try AuditLog(path: path, options: .init(maxFileBytes: 4096, rotateDaily: true))
        let day1 = Date(timeIntervalSince1970: 1_795_000_000)
        for i in 0..<12 { try log.appendAndWait(sampleRecord(i, time: day1)) }
        let day2 = day1.addingTimeInterval(86_400)
        try log.appendAndWait(sampleRecord(0, time: day2))
        log.close()
        let files = AuditLogFiles.chain(for: path)
        #expect(files.count >= 3, "\(files)")
        #expect(files.last == path)
        // The newest file holds only the day-2 record.
        let current = try String(contentsOfFile: path, encoding: .utf8)
        #expect(current.split(separator: "\n").count == 1)
        #expect(AuditLogReader.verify(logPath: path) == .intact(records: 13, files: files.count))
        // Deleting a whole rotated file breaks the chain at the next file's first line.
        try FileManager.default.removeItem(atPath: files[1])
        guard case .broken(let file, 1, _) = AuditLogReader.verify(logPath: path) else {
            Issue.record("a deleted rotated file went unnoticed"); return
        }
        #expect(file == files[2])
    }

    @Test func incompleteLastLineFromACrashIsDroppedOnOpen() throws {
        let dir = try TestPaths.temporaryDirectory("audit")
        let path = dir.appendingPathComponent("audit.jsonl").path
        let log = try AuditLog(path: path)
        for i in 0..<3 { try log.appendAndWait(sampleRecord(i)) }
        log.close()
        let h = try #require(FileHandle(forWritingAtPath: path))
        h.seekToEndOfFile()
        h.write(Data("{\"time\":\"2026-".utf8))
        try h.close()
        if case .intact = AuditLogReader.verify(logPath: path) { Issue.record("partial line not reported") }
        let reopened = try AuditLog(path: path)
        try reopened.appendAndWait(sampleRecord(3))
        reopened.close()
        #expect(AuditLogReader.verify(logPath: path) == .intact(records: 4, files: 1))
    }

    @Test func aFullDiskFailsTheAppendAndKeepsTheChain() throws {
        let dir = try TestPaths.temporaryDirectory("audit")
        let path = dir.appendingPathComponent("audit.jsonl").path
        try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: "/dev/full")
        let log = try AuditLog(path: path)
        #expect(throws: AuditError.self) { try log.appendAndWait(sampleRecord(0)) }
        #expect(log.head == AuditChain.genesis)
    }

    @Test func recordsNobodyWaitsOnAreWrittenAtOnceAndCompletedByALaterSync() throws {
        let dir = try TestPaths.temporaryDirectory("audit")
        let path = dir.appendingPathComponent("audit.jsonl").path
        let log = try AuditLog(path: path, options: .init(syncDelayMilliseconds: 200))
        let group = DispatchGroup()
        let failures = Counter()
        for i in 0..<10 {
            group.enter()
            log.append(sampleRecord(i), urgent: false) { r in
                if case .failure = r { failures.increment() }
                group.leave()
            }
        }
        // Written at once (a crash of the process would not lose them), before any fsync.
        var lines = 0
        for _ in 0..<200 where lines < 10 {
            lines = (try? String(contentsOfFile: path, encoding: .utf8))?.split(separator: "\n").count ?? 0
            if lines < 10 { usleep(5_000) }
        }
        #expect(lines == 10)
        #expect(group.wait(timeout: .now() + 30) == .success, "the delayed sync completes them")
        #expect(failures.value == 0)
        let lastLine = try #require(try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").last)
        #expect(log.head == AuditChain.unseal(Array(lastLine.utf8))?.hash, "the durable head is the last record")
        #expect(AuditLogReader.verify(logPath: path) == .intact(records: 10, files: 1))
    }

    @Test func aRecordSomeoneWaitsOnIsSyncedWithTheOnesBeforeIt() throws {
        let dir = try TestPaths.temporaryDirectory("audit")
        let path = dir.appendingPathComponent("audit.jsonl").path
        // A delay no test run reaches: only the urgent record's sync can complete the others.
        let log = try AuditLog(path: path, options: .init(syncDelayMilliseconds: 600_000))
        let done = Counter()
        for i in 0..<5 { log.append(sampleRecord(i), urgent: false) { _ in done.increment() } }
        try log.appendAndWait(sampleRecord(5))
        #expect(done.value == 5, "the block's fsync covered the monitor records written before it")
        for i in 6..<9 { log.append(sampleRecord(i), urgent: false) { _ in done.increment() } }
        log.close()
        #expect(done.value == 8, "close makes the rest durable and completes them")
        #expect(AuditLogReader.verify(logPath: path) == .intact(records: 9, files: 1))
    }

    @Test func noRawIdentifiersInRecords() throws {
        let dir = try TestPaths.temporaryDirectory("audit")
        let path = dir.appendingPathComponent("audit.jsonl").path
        let log = try AuditLog(path: path)
        try log.appendAndWait(sampleRecord(1))
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains("****123X"))
        #expect(!text.contains("11010519491231002X"))
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var n = 0
    func increment() { lock.lock(); n += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return n }
}
