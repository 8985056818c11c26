import CustomsCore
import Decision
import Policy
import Testing

/// Each line of every shipped regime, one person either side, from REGULATIONS.md.
@Suite struct ThresholdTests {
    struct Row: Sendable, CustomStringConvertible {
        let regime: String
        let category: Category
        let after: Int
        let action: VerdictAction
        let rule: String
        var description: String { "\(regime) \(category)=\(after)" }
    }

    static let rows: [Row] = [
        // 2024 Provisions Arts. 5(4), 7(2), 8: pi < 100,000 exempt; >= 100,000 SCC; >= 1,000,000 assessment.
        Row(regime: "cn-2024-provisions", category: .pi, after: 99_999, action: .allow, rule: "cn-2024-provisions/below-thresholds"),
        Row(regime: "cn-2024-provisions", category: .pi, after: 100_000, action: .block, rule: "cn-2024-provisions/pi>=100000/scc_or_certification"),
        Row(regime: "cn-2024-provisions", category: .pi, after: 999_999, action: .block, rule: "cn-2024-provisions/pi>=100000/scc_or_certification"),
        Row(regime: "cn-2024-provisions", category: .pi, after: 1_000_000, action: .block, rule: "cn-2024-provisions/pi>=1000000/security_assessment"),
        // Any SPI needs an SCC; >= 10,000 an assessment.
        Row(regime: "cn-2024-provisions", category: .sensitive, after: 1, action: .block, rule: "cn-2024-provisions/sensitive>=1/scc_or_certification"),
        Row(regime: "cn-2024-provisions", category: .sensitive, after: 9_999, action: .block, rule: "cn-2024-provisions/sensitive>=1/scc_or_certification"),
        Row(regime: "cn-2024-provisions", category: .sensitive, after: 10_000, action: .block, rule: "cn-2024-provisions/sensitive>=10000/security_assessment"),
        // 2022 Measures Art. 4(3): 100,000 PI / 10,000 SPI since 1 Jan of the previous year (read as >=).
        Row(regime: "cn-2022-measures", category: .pi, after: 99_999, action: .block, rule: "cn-2022-measures/pi>=1/scc_or_certification"),
        Row(regime: "cn-2022-measures", category: .pi, after: 100_000, action: .block, rule: "cn-2022-measures/pi>=100000/security_assessment"),
        Row(regime: "cn-2022-measures", category: .sensitive, after: 9_999, action: .block, rule: "cn-2022-measures/sensitive>=1/scc_or_certification"),
        Row(regime: "cn-2022-measures", category: .sensitive, after: 10_000, action: .block, rule: "cn-2022-measures/sensitive>=10000/security_assessment"),
        // 2021 draft Art. 4: "超过十万人" (> 100,000) but "一万人以上" (>= 10,000).
        Row(regime: "cn-2021-draft", category: .pi, after: 100_000, action: .allow, rule: "cn-2021-draft/below-thresholds"),
        Row(regime: "cn-2021-draft", category: .pi, after: 100_001, action: .block, rule: "cn-2021-draft/pi>100000/security_assessment"),
        Row(regime: "cn-2021-draft", category: .sensitive, after: 9_999, action: .allow, rule: "cn-2021-draft/below-thresholds"),
        Row(regime: "cn-2021-draft", category: .sensitive, after: 10_000, action: .block, rule: "cn-2021-draft/sensitive>=10000/security_assessment"),
        // 28 CFR 202.205: "more than" N, per counterparty.
        Row(regime: "us-doj-2025-bulk", category: "covered_identifiers", after: 100_000, action: .allow, rule: "us-doj-2025-bulk/below-thresholds"),
        Row(regime: "us-doj-2025-bulk", category: "covered_identifiers", after: 100_001, action: .block, rule: "us-doj-2025-bulk/covered_identifiers>100000/restricted"),
        Row(regime: "us-doj-2025-bulk", category: "precise_geolocation", after: 1_000, action: .allow, rule: "us-doj-2025-bulk/below-thresholds"),
        Row(regime: "us-doj-2025-bulk", category: "precise_geolocation", after: 1_001, action: .block, rule: "us-doj-2025-bulk/precise_geolocation>1000/restricted"),
        Row(regime: "us-doj-2025-bulk", category: "biometric", after: 1_001, action: .block, rule: "us-doj-2025-bulk/biometric>1000/restricted"),
        Row(regime: "us-doj-2025-bulk", category: "health", after: 10_000, action: .allow, rule: "us-doj-2025-bulk/below-thresholds"),
        Row(regime: "us-doj-2025-bulk", category: "health", after: 10_001, action: .block, rule: "us-doj-2025-bulk/health>10000/restricted"),
        Row(regime: "us-doj-2025-bulk", category: "financial", after: 10_001, action: .block, rule: "us-doj-2025-bulk/financial>10000/restricted"),
        Row(regime: "us-doj-2025-bulk", category: "genomic", after: 100, action: .allow, rule: "us-doj-2025-bulk/below-thresholds"),
        Row(regime: "us-doj-2025-bulk", category: "genomic", after: 101, action: .block, rule: "us-doj-2025-bulk/genomic>100/prohibited"),
        Row(regime: "us-doj-2025-bulk", category: "omic", after: 1_001, action: .block, rule: "us-doj-2025-bulk/omic>1000/prohibited"),
    ]

    @Test(arguments: rows) func boundary(_ row: Row) throws {
        let p = try site("regimes: [\(row.regime)]\n" + acme)
        let us = row.regime.hasPrefix("us-")
        let scope = us ? "recipient" : "company"
        let v = decide(p, host: us ? "api.partner.cn" : "api.acme.com", country: us ? "CN" : "US", at: row.regime == "cn-2022-measures" ? "2023-06-01" : "2025-06-01",
                       new: [row.category: 1], before: ["\(scope)/\(row.category)": row.after - 1])
        #expect(v.action == row.action, "\(v.reason)")
        #expect(v.rule == row.rule)
        #expect(v.countsFlow == (row.action != .block))
        #expect(v.regime == row.regime)
    }

    @Test func chinaCountsTheCompanyTotalAcrossRecipients() throws {
        let p = try site("regimes: [cn-2024-provisions]\n" + acme)
        // This recipient has received few people, but the company total crosses 100,000.
        let v = decide(p, new: [.pi: 10], before: ["company/pi": 99_995, "recipient/pi": 10])
        #expect(v.action == .block)
        #expect(v.rule == "cn-2024-provisions/pi>=100000/scc_or_certification")
    }

    @Test func usCountsPerCounterparty() throws {
        let p = try site("regimes: [us-doj-2025-bulk]\n" + acme)
        // The company total across counterparties is far above the line; this counterparty is not.
        let v = decide(p, host: "api.partner.cn", country: "CN", new: ["health": 1], before: ["company/health": 50_000, "recipient/health": 9_000])
        #expect(v.action == .allow)
        let over = decide(p, host: "api.partner.cn", country: "HK", new: ["health": 1], before: ["recipient/health": 10_000])
        #expect(over.action == .block)
        // Taiwan is not a country of concern; Macau is.
        #expect(decide(p, host: "api.partner.cn", country: "TW", new: ["health": 1], before: ["recipient/health": 10_000]).rule == "site/domestic")
        #expect(decide(p, host: "api.partner.cn", country: "MO", new: ["health": 1], before: ["recipient/health": 10_000]).action == .block)
    }

    @Test func restrictedNeedsCisaControlsAndProhibitedCannotBeApproved() throws {
        let p = try site("""
        regimes: [us-doj-2025-bulk]
        \(acme)
        approvals:
          - {id: CISA-1, kind: cisa_restricted_transaction, recipients: [partner], issued: 2025-04-08}
        """)
        let restricted = decide(p, host: "api.partner.cn", country: "CN", new: ["biometric": 5], before: ["recipient/biometric": 2_000])
        #expect(restricted.action == .allow && restricted.approvalUsed == "CISA-1")
        let omic = decide(p, host: "api.partner.cn", country: "CN", new: ["genomic": 1], before: ["recipient/genomic": 500])
        #expect(omic.action == .block)
        #expect(omic.approvalFindings == ["CISA-1: a cisa_restricted_transaction does not satisfy prohibited"])
    }

    @Test func dataBrokerageTagIsProhibitedAtAnyVolume() throws {
        let p = try site("""
        regimes: [us-doj-2025-bulk]
        recipients:
          - {id: broker, hosts: [data.broker.example], tags: [data_brokerage]}
        """)
        let v = decide(p, host: "data.broker.example", country: "RU", new: ["covered_identifiers": 1])
        #expect(v.action == .block && v.rule == "us-doj-2025-bulk/tag:data_brokerage/prohibited")
    }

    @Test func regimesOutOfForceDoNotApply() throws {
        let p = try site("regimes: [us-doj-2025-bulk]\n" + acme)
        let v = decide(p, host: "api.partner.cn", country: "CN", at: "2025-04-07", new: ["health": 1], before: ["recipient/health": 20_000])
        #expect(v.action == .allow && v.rule == "site/no-regime-applies")
    }
}
