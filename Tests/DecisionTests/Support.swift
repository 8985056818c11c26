import CustomsCore
import CustomsTestSupport
import Decision
import Foundation
import Policy
import Testing

/// Loads a site written inline; regimes come from the shipped Policies/regimes.
func site(_ yaml: String) throws -> PolicySnapshot {
    let dir = try TestPaths.temporaryDirectory("decision-test")
    defer { try? FileManager.default.removeItem(at: dir) }
    let path = dir.appendingPathComponent("site.yaml").path
    try yaml.write(toFile: path, atomically: true, encoding: .utf8)
    return try PolicySnapshot.load(sitePath: path, regimeDirectories: [TestPaths.packageRoot.appendingPathComponent("Policies/regimes").path])
}

/// An instant given as civil time in UTC+8 (`2025-06-01` or `2025-06-01 23:59:59`).
func cst(_ s: String) -> Date {
    let parts = s.split(separator: " ")
    let day = PolicyDate(String(parts[0]))!
    var secs = 0
    if parts.count > 1 {
        let hms = parts[1].split(separator: ":").map { Int($0)! }
        secs = hms[0] * 3600 + hms[1] * 60 + hms[2]
    }
    return day.start(in: .chinaStandardTime).addingTimeInterval(Double(secs))
}

/// Decides a flow. `before` holds counts before the flow, keyed `company/CAT` or `recipient/CAT`
/// (the flow's recipient); after = before + new for every key the policy uses.
func decide(_ p: PolicySnapshot, host: String = "api.acme.com", country: CountryCode? = "US", at: String = "2025-06-01",
            new: [Category: Int], before: [String: Int] = [:], client: String? = nil, path: String = "/",
            method: String = "POST", content: FlowContent? = nil) -> Verdict {
    let match = p.recipient(host: host, sni: nil, address: nil, country: country)
    var preview: CountPreview = [:]
    for key in p.countKeys(forRecipient: match.id) {
        let scope: String
        if case .company = key.scope { scope = "company" } else { scope = "recipient" }
        let b = before["\(scope)/\(key.category)"] ?? 0
        preview[key] = CountChange(before: b, after: b + (new[key.category] ?? 0))
    }
    let facts = FlowFacts(time: cst(at), clientName: client, method: method, host: host, path: path, country: country,
                          recipient: match, content: content ?? .subjects(newByCategory: new))
    let v = Decide.verdict(facts, policy: p, counts: preview)
    // The gateway asks without the trace: every table-driven case also checks that this changes
    // nothing but `considered`.
    let quick = Decide.verdict(facts, policy: p, counts: preview, trace: false)
    #expect(quick.considered.isEmpty)
    #expect(quick.action == v.action && quick.rule == v.rule && quick.reason == v.reason && quick.regime == v.regime)
    #expect(quick.requiredInstrument == v.requiredInstrument && quick.approvalUsed == v.approvalUsed)
    #expect(quick.approvalFindings == v.approvalFindings && quick.exemption == v.exemption && quick.countsFlow == v.countsFlow)
    return v
}

let acme = """
recipients:
  - {id: acme, hosts: ["*.acme.com"], country: US}
  - {id: other, hosts: ["*.other.com"], country: US}
  - {id: partner, hosts: ["*.partner.cn"]}
"""
