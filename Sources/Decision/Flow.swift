import CustomsCore
import Foundation
import Policy

/// What the inspector made of a flow's content.
public enum FlowContent: Sendable {
    /// Categories the flow carries, each with how many of its people the ledger has not seen yet
    /// (0 when it carries only known people: the category is still carried).
    case subjects(newByCategory: [Category: Int])
    /// The body could not be read (why: encrypted, unknown encoding, over the hold limit…).
    case uninspectable(String)
    /// A tunnel to the outside that was not intercepted.
    case tunnel
}

/// Everything the decision needs to know about one flow.
public struct FlowFacts: Sendable {
    public var time: Date
    public var clientAddress: IPAddress?
    public var clientName: String?
    public var user: String?
    public var method: String
    public var host: String
    public var path: String
    public var destination: IPAddress?
    public var country: CountryCode?
    public var recipient: RecipientMatch
    public var content: FlowContent

    public init(time: Date, clientAddress: IPAddress? = nil, clientName: String? = nil, user: String? = nil,
                method: String = "POST", host: String, path: String = "/", destination: IPAddress? = nil,
                country: CountryCode?, recipient: RecipientMatch, content: FlowContent) {
        self.time = time; self.clientAddress = clientAddress; self.clientName = clientName; self.user = user
        self.method = method; self.host = host; self.path = path; self.destination = destination
        self.country = country; self.recipient = recipient; self.content = content
    }
}

public enum VerdictAction: String, Sendable, Comparable {
    case allow, monitor, block

    var severity: Int {
        switch self { case .allow: 0; case .monitor: 1; case .block: 2 }
    }
    public static func < (a: VerdictAction, b: VerdictAction) -> Bool { a.severity < b.severity }
}

/// One rule the decision looked at, and what came of it. Kept structured so building a verdict
/// costs no string formatting; `description` formats it for `explain` and the audit log.
public struct RuleTrace: Sendable, CustomStringConvertible {
    public enum Outcome: String, Sendable {
        /// The rule does not apply to this flow (not outside for the regime, not in force, no category).
        case notApplicable = "not-applicable"
        /// The count is below every line of the column.
        case below
        /// The column's band needs an instrument and a valid approval covers it.
        case covered
        /// The column's band needs an instrument and nothing valid covers it.
        case missing
        /// A site exemption matched.
        case exempt
        /// A site-level rule (stop order, uninspectable body, tunnel) decided.
        case decided
    }

    public let rule: String
    public let outcome: Outcome
    public let key: CountKey?
    public let change: CountChange?
    public let instrument: String?
    /// The approval that covers the column (outcome `covered`).
    public let approval: String?
    public let note: String

    public init(rule: String, outcome: Outcome, key: CountKey? = nil, change: CountChange? = nil,
                instrument: String? = nil, approval: String? = nil, note: String = "") {
        self.rule = rule; self.outcome = outcome; self.key = key; self.change = change
        self.instrument = instrument; self.approval = approval; self.note = note
    }

    public var description: String {
        var s = "\(outcome.rawValue): \(rule)"
        if let k = key { s += " [\(k)]" }
        if let c = change { s += " \(c.before) -> \(c.after)" }
        if let i = instrument { s += " needs \(i)" }
        if let a = approval { s += " — approval \(a)" }
        if !note.isEmpty { s += " — \(note)" }
        return s
    }
}

public struct Verdict: Sendable {
    public var action: VerdictAction
    /// Stable id of the deciding rule, e.g. `cn-2024-provisions/sensitive>=1/scc_or_certification`.
    public var rule: String
    public var regime: String?
    public var requiredInstrument: String?
    public var approvalUsed: String?
    /// Why each candidate approval was not valid.
    public var approvalFindings: [String]
    public var exemption: String?
    /// Whether the flow's subjects are committed to the ledger.
    public var countsFlow: Bool
    public var counts: CountPreview
    public var reason: String
    public var considered: [RuleTrace]

    /// Multi-line report for `customs policy explain`.
    public func explanation() -> String {
        var lines = ["verdict: \(action.rawValue)", "rule: \(rule)", "reason: \(reason)"]
        if let r = regime { lines.append("regime: \(r)") }
        lines.append("required instrument: \(requiredInstrument ?? "none")")
        lines.append("approval used: \(approvalUsed ?? "none")")
        if let e = exemption { lines.append("exemption: \(e)") }
        lines.append("counts this flow: \(countsFlow ? "yes" : "no")")
        if !approvalFindings.isEmpty {
            lines.append("approvals not valid:")
            lines += approvalFindings.map { "  - \($0)" }
        }
        if !counts.isEmpty {
            lines.append("counts (before -> after):")
            for k in counts.keys.sorted() { lines.append("  \(k): \(counts[k]!.before) -> \(counts[k]!.after)") }
        }
        lines.append("rules considered:")
        lines += considered.map { "  - \($0)" }
        return lines.joined(separator: "\n")
    }
}
