import Decision
import Foundation
import Gateway

/// The answer an application sees when a flow is stopped: `451 Unavailable For Legal Reasons`
/// with who blocked it, the incident to quote, the rule, and a short JSON body saying what to do.
enum BlockResponse {
    static func make(incident: String, rule: String, recipient: String, verdict: Verdict?,
                     reason: String, blockedBy: String?, contact: String?, status: Int = 451) -> SyntheticResponse {
        var body: [String: Any] = [
            "error": status == 451 ? "unavailable_for_legal_reasons" : "service_unavailable",
            "incident": incident, "rule": rule, "recipient": recipient, "reason": reason,
        ]
        if let instrument = verdict?.requiredInstrument { body["missing_approval"] = instrument }
        if let findings = verdict?.approvalFindings, !findings.isEmpty { body["approval_findings"] = findings }
        if let contact { body["contact"] = contact }
        if let blockedBy { body["blocked_by"] = blockedBy }
        let json = (try? JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])) ?? Data("{}".utf8)
        var headers: [(name: String, value: String)] = [
            ("Content-Type", "application/json"),
            ("Customs-Incident", incident),
            ("Customs-Rule", rule),
            ("Cache-Control", "no-store"),
        ]
        if let blockedBy { headers.append(("Link", "<\(blockedBy)>; rel=\"blocked-by\"")) }
        return SyntheticResponse(status: status,
                                 reason: status == 451 ? "Unavailable For Legal Reasons" : "Service Unavailable",
                                 headers: headers, body: [UInt8](json) + [UInt8(ascii: "\n")])
    }
}
