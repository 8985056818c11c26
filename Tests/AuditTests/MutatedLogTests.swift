import CustomsCore
import Foundation
import Testing
import CustomsTestSupport
@testable import Audit

/// An audit log damaged the ways files get damaged or edited — a byte changed, bytes removed or
/// doubled, a line moved, the file cut — is read without a trap, and `verify` names a broken
/// record at or before the first damaged line (never one after it, never "intact").
@Suite struct MutatedLogTests {
    @Test func damagedLogsAreReportedAtOrBeforeTheDamage() throws {
        let dir = try TestPaths.temporaryDirectory("audit-fuzz")
        let clean = dir.appendingPathComponent("clean.jsonl").path
        let log = try AuditLog(path: clean)
        for i in 0..<40 { try log.appendAndWait(sampleRecord(i, action: i % 2 == 0 ? "block" : "monitor")) }
        log.close()
        #expect(AuditLogReader.verify(logPath: clean) == .intact(records: 40, files: 1))
        let original = Array(try Data(contentsOf: URL(fileURLWithPath: clean)))
        let iterations = FuzzSettings.iterations(default: 300)
        var g = SplitMix64(state: 0x4155_4449_54)
        for i in 0..<iterations {
            var bytes = original
            let at = Int.random(in: 0..<bytes.count, using: &g)
            switch Int.random(in: 0..<5, using: &g) {
            case 0:
                var b = UInt8.random(in: 0...255, using: &g)
                if b == bytes[at] { b ^= 1 }
                bytes[at] = b
            case 1: bytes.removeSubrange(at..<min(bytes.count, at + Int.random(in: 1...30, using: &g)))
            case 2: bytes.insert(contentsOf: bytes[at..<min(bytes.count, at + Int.random(in: 1...30, using: &g))], at: at)
            case 3: bytes.insert(contentsOf: Array(#"\u0000"}{"":[1e999,"#.utf8), at: at)
            default: bytes.removeSubrange(at...)
            }
            // The first line the damage touched (1-based).
            let damagedLine = original[..<at].filter { $0 == UInt8(ascii: "\n") }.count + 1
            let path = dir.appendingPathComponent("damaged-\(i).jsonl").path
            FileManager.default.createFile(atPath: path, contents: Data(bytes))
            defer { try? FileManager.default.removeItem(atPath: path) }
            _ = try? AuditLogReader.entries(logPath: path)
            switch AuditLogReader.verify(logPath: path) {
            case .intact(let records, _):
                // Only a cut exactly at a record's end keeps a (shorter) chain intact.
                #expect(bytes.count < original.count && bytes.last == UInt8(ascii: "\n") && records < 40,
                        "iteration \(i): damage at line \(damagedLine) not found")
            case .broken(_, let line, let reason):
                #expect(line >= 1 && line <= damagedLine + 1, "iteration \(i): damage at line \(damagedLine), reported at \(line): \(reason)")
                #expect(!reason.isEmpty)
            }
        }
    }
}
