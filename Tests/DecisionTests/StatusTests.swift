import CustomsCore
import Decision
import Foundation
import Policy
import Testing

@Suite struct StatusTests {
    @Test func bandsNextLinesApprovalsAndRenewal() throws {
        let p = try site("""
        regimes: [cn-2024-provisions]
        \(acme)
        approvals:
          - {id: SCC, kind: scc_filing, recipients: [acme], issued: 2024-01-01}
          - {id: SA, kind: security_assessment, recipients: [acme], issued: 2022-09-01}
        """)
        let counts: [CountKey: Int] = [
            CountKey(scope: .company, category: .pi, window: .calendarYear): 120_000,
            CountKey(scope: .company, category: .sensitive, window: .calendarYear): 12_000,
            CountKey(scope: .recipient("acme"), category: .pi, window: .calendarYear): 50_000,
        ]
        // SA expires 2025-08-31; 60 working days earlier (weekends skipped) is 2025-06-09.
        let lines = ComplianceStatus.report(policy: p, counts: counts, now: cst("2025-06-10"))
        let pi = try #require(lines.first { $0.key == CountKey(scope: .company, category: .pi, window: .calendarYear) })
        #expect(pi.band == ">=100000,<1000000" && pi.instrument == "scc_or_certification")
        #expect(pi.nextLine == 1_000_000 && pi.distance == 880_000 && pi.approval == "SCC")
        let spi = try #require(lines.first { $0.key == CountKey(scope: .company, category: .sensitive, window: .calendarYear) })
        #expect(spi.instrument == "security_assessment" && spi.approval == "SA")
        #expect(spi.approvalExpires?.description == "2025-08-31")
        #expect(spi.renewalOpens?.description == "2025-06-09")
        #expect(spi.renewalWindowOpen)
        #expect(spi.nextLine == nil)
        let before = ComplianceStatus.report(policy: p, counts: counts, now: cst("2025-06-06"))
        #expect(before.first { $0.key == spi.key }?.renewalWindowOpen == false)
        let rec = try #require(lines.first { $0.key == CountKey(scope: .recipient("acme"), category: .pi, window: .calendarYear) })
        #expect(!rec.ladderApplies && rec.count == 50_000)
        let table = ComplianceStatus.renderTable(lines)
        #expect(table.contains("open since 2025-06-09"))
        let json = ComplianceStatus.renderJSON(lines)
        #expect(json.contains("\"renewal_opens\" : \"2025-06-09\""))
    }

    @Test func missingApprovalIsFlagged() throws {
        let p = try site("regimes: [cn-2024-provisions]\n")
        let lines = ComplianceStatus.report(policy: p, counts: [CountKey(scope: .company, category: .sensitive, window: .calendarYear): 3], now: cst("2025-01-02"))
        #expect(lines.first { $0.key.category == .sensitive }?.missingApproval == true)
        #expect(ComplianceStatus.renderTable(lines).contains("MISSING"))
    }

    @Test func workingDaysSkipWeekends() {
        // 2025-06-09 is a Monday; one working day earlier is Friday 2025-06-06.
        #expect(PolicyDate("2025-06-09")!.subtracting(workingDays: 1).description == "2025-06-06")
        #expect(PolicyDate("2025-06-07")!.isWeekend && !PolicyDate("2025-06-06")!.isWeekend)
        #expect(PolicyDate("2024-02-29")!.adding(years: 1).description == "2025-02-28")
        #expect(PolicyDate(dayNumber: PolicyDate("1999-12-31")!.dayNumber).description == "1999-12-31")
    }
}
