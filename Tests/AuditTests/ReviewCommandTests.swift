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
