import Foundation
import Testing
import CustomsTestSupport
@testable import Audit

/// `customs review` as a person runs it, on a real log written by AuditLog.
@Suite struct ReviewCommandTests {
    func makeLog() throws -> String {
        let dir = try TestPaths.temporaryDirectory("review")
        let path = dir.appendingPathComponent("audit.jsonl").path
        let log = try AuditLog(path: path)
        for i in 0..<5 { try log.appendAndWait(sampleRecord(i, action: i == 4 ? "monitor" : "block")) }
        log.close()
        return path
    }

    @Test func verifyPassesThenFailsAfterAOneByteEdit() throws {
        let path = try makeLog()
        let ok = try runProcess(TestPaths.customsBinary.path, ["review", "--log", path, "--verify"])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(ok.stdout.contains("ok: 5 records"))
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        let target = bytes.firstIndex(of: UInt8(ascii: "P"))!   // "POST" on line 1
        bytes[target] = UInt8(ascii: "G")
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let bad = try runProcess(TestPaths.customsBinary.path, ["review", "--log", path, "--verify"])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("audit.jsonl:1: chain broken"), "\(bad.stderr)")
    }

    /// Retention: the oldest rotated files archived (moved away), the rest verifies from the last
    /// record they held, named by the newest archived file or by its hash.
    @Test func verifiesWhatIsLeftAfterTheOldestFilesAreArchived() throws {
        let dir = try TestPaths.temporaryDirectory("review")
        let path = dir.appendingPathComponent("audit.jsonl").path
        let log = try AuditLog(path: path, options: .init(maxFileBytes: 4096, rotateDaily: false))
        for i in 0..<20 { try log.appendAndWait(sampleRecord(i)) }
        log.close()
        let files = AuditLogFiles.chain(for: path)
        #expect(files.count >= 4, "\(files)")
        let last = try #require(AuditLogReader.lastHash(logPath: path))
        let whole = try runProcess(TestPaths.customsBinary.path, ["review", "--log", path, "--verify"])
        #expect(whole.stdout.contains("ok: 20 records") && whole.stdout.contains("last record's hash \(last)"), "\(whole.stdout)")
        // Archive the two oldest rotated files.
        let vault = try TestPaths.temporaryDirectory("vault")
        let archived = files[0..<2].map { vault.appendingPathComponent(($0 as NSString).lastPathComponent).path }
        for (from, to) in zip(files[0..<2], archived) { try FileManager.default.moveItem(atPath: from, toPath: to) }
        let anchor = try #require(AuditLogReader.lastHash(ofFile: archived[1]))
        let left = try AuditLogReader.entries(logPath: path).count
        #expect(left > 0 && left < 20)
        let plain = try runProcess(TestPaths.customsBinary.path, ["review", "--log", path, "--verify"])
        #expect(plain.status == 1)
        #expect(plain.stderr.contains("older files were moved away"), "\(plain.stderr)")
        for after in [anchor, archived[1]] {
            let anchored = try runProcess(TestPaths.customsBinary.path, ["review", "--log", path, "--verify", "--after", after])
            #expect(anchored.status == 0, "\(anchored.stderr)")
            #expect(anchored.stdout.contains("ok: \(left) records"), "\(anchored.stdout)")
        }
        // The older archived file is not what the files left follow.
        let older = try runProcess(TestPaths.customsBinary.path, ["review", "--log", path, "--verify", "--after", archived[0]])
        #expect(older.status == 1 && older.stderr.contains("records are missing"), "\(older.stderr)")
        let malformed = try runProcess(TestPaths.customsBinary.path, ["review", "--log", path, "--verify", "--after", "xyz"])
        #expect(malformed.status != 0 && malformed.stderr.contains("neither a record's hash"), "\(malformed.stderr)")
    }

    @Test func listsFiltersAndSummarises() throws {
        let path = try makeLog()
        let table = try runProcess(TestPaths.customsBinary.path, ["review", "--log", path, "--action", "block"])
        #expect(table.status == 0, "\(table.stderr)")
        #expect(table.stdout.contains("4 records: block 4"))
        let csv = try runProcess(TestPaths.customsBinary.path, ["review", "--log", path, "--format", "csv"])
        #expect(csv.stdout.split(separator: "\n").count == 6)
        let summary = try runProcess(TestPaths.customsBinary.path, ["review", "--log", path, "--summary", "recipient"])
        #expect(summary.stdout.contains("acme-us"))
        let badTime = try runProcess(TestPaths.customsBinary.path, ["review", "--log", path, "--since", "soon"])
        #expect(badTime.status != 0)
        #expect(badTime.stderr.contains("cannot read 'soon' as a time"))
    }
}
