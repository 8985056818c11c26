import Foundation
import Testing
@testable import Audit

@Suite struct AuditReportTests {
    let records = (0..<6).map { i in
        sampleRecord(i, action: i % 2 == 0 ? "block" : "monitor", recipient: i < 4 ? "acme-us" : "beta-sg")
    }

    @Test func filtersCombine() {
        let f = AuditFilter(recipient: "acme-us", action: "block")
        #expect(records.filter(f.matches).map(\.flow) == ["f0", "f2"])
        let t = AuditFilter(since: records[2].time, until: records[4].time)
        #expect(records.filter(t.matches).map(\.flow) == ["f2", "f3"])
        #expect(records.filter(AuditFilter(rule: "cn-2024-provisions").matches).count == 6)
        #expect(records.filter(AuditFilter(client: "billing").matches).count == 6)
    }

    @Test func tableIsAlignedWithTotals() {
        let t = AuditReport.table(records)
        let lines = t.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines[0].hasPrefix("time"))
        #expect(lines[1].allSatisfy { $0 == "-" || $0 == " " })
        // Every data row starts its second column at the same offset.
        let col = lines[0].range(of: "incident")!.lowerBound.utf16Offset(in: lines[0])
        for row in lines[2..<8] { #expect(row.dropFirst(col).hasPrefix("CUS-")) }
        #expect(t.contains("6 records: block 3, monitor 3"))
        #expect(t.contains("subjects in these flows: pi 300, sensitive 6"))
    }

    @Test func summaryByRecipient() {
        let s = AuditReport.summary(records, by: .recipient)
        let lines = s.split(separator: "\n").map(String.init)
        #expect(lines[0].split(separator: " ", omittingEmptySubsequences: true) == ["recipient", "block", "monitor", "total", "subjects"])
        #expect(lines[2].split(separator: " ", omittingEmptySubsequences: true) == ["acme-us", "2", "2", "4", "203"])
        #expect(lines.last!.split(separator: " ", omittingEmptySubsequences: true) == ["total", "3", "3", "6", "306"])
    }

    @Test func csvAndJSONRoundTrip() throws {
        let csv = AuditReport.csv(records)
        #expect(csv.split(separator: "\n").count == 7)
        #expect(csv.contains("\"company total would reach 100,001 people without a standard contract\""))
        let json = AuditReport.json(records)
        let first = try #require(json.split(separator: "\n").first)
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(first.utf8)) as? [String: Any])
        #expect(obj["incident"] as? String == records[0].incident)
        #expect(obj["prev"] == nil && obj["hash"] == nil)
    }

    @Test func timesFormatAndParse() {
        let d = Date(timeIntervalSince1970: 1_767_196_800.123)
        #expect(AuditTime.format(d) == "2025-12-31T16:00:00.123Z")
        #expect(AuditTime.parse("2025-12-31T16:00:00.123Z")!.timeIntervalSince1970 == 1_767_196_800.123)
        #expect(AuditTime.parse("2026-01-01T00:00:00+08:00")!.timeIntervalSince1970 == 1_767_196_800)
        #expect(AuditTime.parse("2026-01-01") != nil)
        #expect(AuditTime.parse("yesterday") == nil)
        #expect(IncidentID.make(at: d).hasPrefix("CUS-20251231-"))
    }
}
