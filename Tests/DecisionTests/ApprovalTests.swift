import CustomsCore
import Decision
import Foundation
import Policy
import Testing

@Suite struct ApprovalTests {
    /// Company already past 1,000,000 PI: every PI flow needs a security assessment.
    let overLine = ["company/pi": 1_500_000]

    func policy(_ approvals: String, events: String = "") throws -> PolicySnapshot {
        try site("regimes: [cn-2024-provisions]\n\(acme)\napprovals:\n\(approvals)\n\(events)")
    }

    @Test func validOnItsLastDayAndNotTheDayAfter() throws {
        // Provisions Art. 9: 3 years from issue -> last valid day 2025-03-14 (UTC+8).
        let p = try policy("  - {id: SA, kind: security_assessment, recipients: [acme], issued: 2022-03-15}")
        let last = decide(p, at: "2025-03-14 23:59:59", new: [.pi: 1], before: overLine)
        #expect(last.action == .allow && last.approvalUsed == "SA")
        let after = decide(p, at: "2025-03-15", new: [.pi: 1], before: overLine)
        #expect(after.action == .block)
        #expect(after.approvalFindings == ["SA: expired; last valid day was 2025-03-14"])
        // The day rolls over at midnight in UTC+8, not UTC: 2025-03-14T16:00:00Z is already the 15th.
        let utcMidnightMinus = PolicyDate("2025-03-14")!.start(in: .utc).addingTimeInterval(16 * 3600)
        #expect(PolicyDate(utcMidnightMinus, in: .chinaStandardTime).description == "2025-03-15")
    }

    @Test func extensionAddsThreeYears() throws {
        let p = try policy("  - {id: SA, kind: security_assessment, recipients: [acme], issued: 2022-03-15, extended: true}")
        #expect(decide(p, at: "2028-03-14", new: [.pi: 1], before: overLine).action == .allow)
        #expect(decide(p, at: "2028-03-15", new: [.pi: 1], before: overLine).action == .block)
    }

    @Test func explicitValidUntilAndNotYetIssued() throws {
        let p = try policy("  - {id: SA, kind: security_assessment, recipients: [acme], issued: 2025-07-01, valid_until: 2025-12-31}")
        let early = decide(p, at: "2025-06-30", new: [.pi: 1], before: overLine)
        #expect(early.approvalFindings == ["SA: not valid until it is issued on 2025-07-01"])
        #expect(decide(p, at: "2025-12-31", new: [.pi: 1], before: overLine).action == .allow)
        #expect(decide(p, at: "2026-01-01", new: [.pi: 1], before: overLine).action == .block)
    }

    @Test func certificationExistsOnlyFromItsEffectiveDate() throws {
        // PI Outbound Certification Measures (Order No. 20) are in force from 2026-01-01.
        let p = try policy("  - {id: CERT, kind: certification, recipients: [acme], issued: 2025-10-01}")
        let early = decide(p, at: "2025-12-31", new: [.sensitive: 1])
        #expect(early.action == .block && early.approvalFindings == ["CERT: certification approvals exist only from 2026-01-01"])
        #expect(decide(p, at: "2026-01-01", new: [.sensitive: 1]).approvalUsed == "CERT")
    }

    @Test func legalChangeSuspendsApprovalsIssuedBeforeIt() throws {
        let p = try policy("""
          - {id: OLD, kind: security_assessment, recipients: [acme], issued: 2024-01-10}
          - {id: NEW, kind: security_assessment, recipients: [other], issued: 2025-06-01}
        """, events: "events:\n  - {id: us-law, type: legal_change, country: US, date: 2025-05-01}\n")
        #expect(decide(p, at: "2025-04-30", new: [.pi: 1], before: overLine).approvalUsed == "OLD")
        let v = decide(p, at: "2025-05-01", new: [.pi: 1], before: overLine)
        #expect(v.action == .block)
        #expect(v.approvalFindings == ["OLD: suspended by event us-law (legal environment change in US on 2025-05-01; approval issued 2024-01-10)"])
        // Issued after the change: unaffected.
        #expect(decide(p, host: "x.other.com", at: "2025-07-01", new: [.pi: 1], before: overLine).approvalUsed == "NEW")
        // A recipient in another country is unaffected.
        let de = try policy("  - {id: SA, kind: security_assessment, recipients: [\"*\"], issued: 2024-01-10}",
                            events: "events:\n  - {id: us-law, type: legal_change, country: US, date: 2025-05-01}\n")
        #expect(decide(de, host: "api.de-partner.de", country: "DE", at: "2025-06-01", new: [.pi: 1], before: overLine).action == .allow)
    }

    @Test func stopOrderBlocksRegardlessOfCountsAndApprovals() throws {
        let p = try policy("  - {id: SA, kind: security_assessment, recipients: [acme], issued: 2025-01-01}",
                           events: "events:\n  - {id: cac-17, type: stop_order, recipient: acme, date: 2025-05-01}\n")
        #expect(decide(p, at: "2025-04-30", new: [.pi: 1]).action == .allow)
        let v = decide(p, at: "2025-05-01", new: [.pi: 1])
        #expect(v.action == .block && v.rule == "site/stop-order/cac-17" && !v.countsFlow)
        #expect(decide(p, host: "x.other.com", at: "2025-05-01", new: [.pi: 1]).action == .allow)
        let all = try policy("  []", events: "events:\n  - {id: all, type: stop_order, date: 2025-05-01}\n")
        #expect(decide(all, host: "x.other.com", at: "2025-05-02", new: [:], content: .tunnel).rule == "site/stop-order/all")
    }

    @Test func candidateFindings() throws {
        let p = try policy("""
          - {id: WRONG-KIND, kind: scc_filing, recipients: [acme], issued: 2024-01-01}
          - {id: WRONG-CAT, kind: security_assessment, recipients: [acme], categories: [sensitive], issued: 2024-01-01}
          - {id: REVOKED, kind: security_assessment, recipients: [acme], issued: 2024-01-01, status: revoked}
          - {id: CAPPED, kind: security_assessment, recipients: [acme], issued: 2024-01-01, cap: 1000}
          - {id: ELSEWHERE, kind: security_assessment, recipients: [other], issued: 2024-01-01}
        """)
        let v = decide(p, new: [.pi: 1], before: ["company/pi": 1_500_000, "recipient/pi": 1_000])
        #expect(v.action == .block)
        #expect(v.requiredInstrument == "security_assessment")
        #expect(v.approvalFindings == [
            "WRONG-KIND: a scc_filing does not satisfy security_assessment",
            "WRONG-CAT: does not cover category pi",
            "REVOKED: status is revoked",
            "CAPPED: volume cap 1000 exceeded (pi to acme would be 1001)",
        ])
        #expect(v.considered.contains { $0.outcome == .missing && $0.rule == "cn-2024-provisions/pi>=1000000/security_assessment" })
    }

    @Test func flowWithNoNewPeopleStillNeedsTheApproval() throws {
        // Each transfer is a transfer: known people sent while the company is over the line.
        let none = try policy("  []")
        let v = decide(none, new: [.pi: 0], before: ["company/pi": 150_000])
        #expect(v.action == .block && v.rule == "cn-2024-provisions/pi>=100000/scc_or_certification")
        let scc = try policy("  - {id: SCC, kind: scc_filing, recipients: [acme], issued: 2024-01-01}")
        #expect(decide(scc, new: [.pi: 0], before: ["company/pi": 150_000]).action == .allow)
    }

    @Test func sensitiveOnlyFlowIsJudgedOnItsOwnColumn() throws {
        // Company PI is past 1,000,000 but this flow carries only SPI: an SCC suffices (Art. 8).
        let p = try policy("  - {id: SCC, kind: scc_filing, recipients: [acme], issued: 2024-01-01}")
        let v = decide(p, new: [.sensitive: 1], before: ["company/pi": 2_000_000, "company/sensitive": 10])
        #expect(v.action == .allow && v.requiredInstrument == "scc_or_certification" && v.approvalUsed == "SCC")
    }

    @Test func mixedCategoriesTakeTheHighestBand() throws {
        let p = try policy("  - {id: SCC, kind: scc_filing, recipients: [acme], issued: 2024-01-01}")
        let v = decide(p, new: [.pi: 10, .sensitive: 1], before: ["company/pi": 150_000, "company/sensitive": 9_999])
        #expect(v.action == .block)
        #expect(v.rule == "cn-2024-provisions/sensitive>=10000/security_assessment")
        #expect(v.considered.contains { $0.outcome == .covered && $0.rule == "cn-2024-provisions/pi>=100000/scc_or_certification" })
        let below = decide(p, new: [.pi: 10, .sensitive: 1], before: ["company/pi": 150_000, "company/sensitive": 100])
        #expect(below.action == .allow && below.approvalUsed == "SCC")
    }

    @Test func windowRollsOverAtMidnightFirstJanuaryUTCPlus8() throws {
        let cal = CivilCalendar.chinaStandardTime
        let lastSecond = cst("2024-12-31 23:59:59"), firstSecond = cst("2025-01-01")
        #expect(cal.windowStart(.calendarYear, now: lastSecond) == cst("2024-01-01"))
        #expect(cal.windowStart(.calendarYear, now: firstSecond) == cst("2025-01-01"))
        #expect(cal.windowStart(.sincePreviousYear, now: firstSecond) == cst("2024-01-01"))
        // 2024-12-31T16:00:00Z is already 1 January in UTC+8.
        #expect(firstSecond == PolicyDate("2024-12-31")!.start(in: .utc).addingTimeInterval(16 * 3600))
        // The ledger restarts the count; the verdict follows the counts it is given.
        let p = try policy("  []")
        #expect(decide(p, at: "2024-12-31 23:59:59", new: [.pi: 1], before: ["company/pi": 99_999]).action == .block)
        #expect(decide(p, at: "2025-01-01", new: [.pi: 1], before: ["company/pi": 0]).action == .allow)
    }
}

@Suite struct OverrideAndModeTests {
    @Test(arguments: ["ciio", "important_data"]) func flagRequiresAssessmentForAnyPI(flag: String) throws {
        let p = try site("regimes: [cn-2024-provisions]\n\(acme)\noperator: {flags: {\(flag): true}}\n")
        let v = decide(p, new: [.pi: 1])
        #expect(v.action == .block && v.rule == "cn-2024-provisions/flag:\(flag)/security_assessment")
        let ok = try site("regimes: [cn-2024-provisions]\n\(acme)\noperator: {flags: {\(flag): true}}\napprovals:\n  - {id: SA, kind: security_assessment, recipients: [acme], issued: 2025-01-01}\n")
        #expect(decide(ok, new: [.pi: 1]).approvalUsed == "SA")
    }

    @Test func largeProcessorFlagUnderTheDraftAndMeasures() throws {
        for regime in ["cn-2021-draft", "cn-2022-measures"] {
            let p = try site("regimes: [\(regime)]\n\(acme)\noperator: {flags: {processes_over_1m: true}}\n")
            #expect(decide(p, new: [.pi: 1]).rule == "\(regime)/flag:processes_over_1m/security_assessment")
        }
        // The 2024 Provisions omit that trigger.
        let p = try site("regimes: [cn-2024-provisions]\n\(acme)\noperator: {flags: {processes_over_1m: true}}\n")
        #expect(decide(p, new: [.pi: 1]).action == .allow)
    }

    @Test func exemptionsCountingOrNot() throws {
        let p = try site("""
        regimes: [cn-2024-provisions]
        \(acme)
        exemptions:
          - {id: hr, basis: cross_border_hr, recipients: [acme], path_prefixes: [/hr/], clients: [hr-app], methods: [post]}
          - {id: shop, basis: contract_with_subject, recipients: [other], counts: true}
        """)
        let hr = decide(p, new: [.sensitive: 3], client: "hr-app", path: "/hr/payroll")
        #expect(hr.action == .allow && hr.exemption == "hr" && !hr.countsFlow && hr.rule == "cn-2024-provisions/exemption/cross_border_hr")
        #expect(decide(p, new: [.sensitive: 3], client: "crm", path: "/hr/payroll").action == .block)
        #expect(decide(p, new: [.sensitive: 3], client: "hr-app", path: "/sales").action == .block)
        #expect(decide(p, new: [.sensitive: 3], client: "hr-app", path: "/hr/x", method: "GET").action == .block)
        let shop = decide(p, host: "pay.other.com", new: [.sensitive: 3])
        #expect(shop.action == .allow && shop.exemption == "shop" && shop.countsFlow)
    }

    @Test func monitorModeSiteWideAndPerRule() throws {
        let m = try site("regimes: [cn-2024-provisions]\n\(acme)\nmode: monitor\n")
        let v = decide(m, new: [.sensitive: 1])
        #expect(v.action == .monitor && v.countsFlow && v.reason.contains("would block"))
        let per = try site("""
        regimes: [cn-2024-provisions]
        \(acme)
        mode_overrides:
          - {rule: "cn-2024-provisions/sensitive>=1/*", mode: monitor}
        """)
        #expect(decide(per, new: [.sensitive: 1]).action == .monitor)
        let blocked = decide(per, new: [.sensitive: 1], before: ["company/sensitive": 20_000])
        #expect(blocked.action == .block && !blocked.countsFlow)
    }

    @Test func blockedFlowDoesNotCountAllowedFlowDoes() throws {
        let p = try site("regimes: [cn-2024-provisions]\n\(acme)")
        #expect(!decide(p, new: [.pi: 1], before: ["company/pi": 100_000]).countsFlow)
        #expect(decide(p, new: [.pi: 1], before: ["company/pi": 10]).countsFlow)
    }

    @Test func domesticAndNoPersonalData() throws {
        let p = try site("regimes: [cn-2024-provisions]\n")
        let cn = decide(p, host: "api.example.cn", country: "CN", new: [.sensitive: 5])
        #expect(cn.action == .allow && cn.rule == "site/domestic" && !cn.countsFlow)
        let empty = decide(p, host: "api.example.de", country: "DE", new: [:])
        #expect(empty.action == .allow && empty.rule == "site/no-personal-data")
        #expect(decide(p, host: "api.example.de", country: nil, new: [.sensitive: 1]).action == .block)
    }

    @Test(arguments: [
        ("allow", VerdictAction.allow), ("block", .block), ("require_interception", .block),
    ]) func uninspectableAndTunnelActions(setting: String, expected: VerdictAction) throws {
        let p = try site("regimes: [cn-2024-provisions]\ninspection: {uninspectable: \(setting), tunnels: \(setting)}\n")
        for content in [FlowContent.uninspectable("unknown encoding br"), .tunnel] {
            let v = decide(p, host: "cdn.example.de", country: "DE", new: [:], content: content)
            #expect(v.action == expected)
            #expect(!v.countsFlow)
            if setting == "require_interception" { #expect(v.reason.contains("enable TLS interception")) }
        }
        #expect(decide(p, host: "x.example.de", country: "DE", new: [:], content: .tunnel).rule == "site/tunnel")
    }

    @Test func explanationListsEverything() throws {
        let p = try site("regimes: [cn-2024-provisions]\n\(acme)")
        let text = decide(p, new: [.pi: 1], before: ["company/pi": 99_999]).explanation()
        #expect(text.contains("verdict: block"))
        #expect(text.contains("company/pi/calendar_year: 99999 -> 100000"))
        #expect(text.contains("missing: cn-2024-provisions/pi>=100000/scc_or_certification"))
    }
}
