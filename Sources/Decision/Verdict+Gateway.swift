/// Verdicts the gateway itself reaches without the ladder (the ledger could not count, a body
/// over the hold limit where the site blocks those): same shape, so they are logged and
/// answered like any other.
extension Verdict {
    public static func gatewayBlock(rule: String, reason: String) -> Verdict {
        Verdict(action: .block, rule: rule, regime: nil, requiredInstrument: nil, approvalUsed: nil,
                approvalFindings: [], exemption: nil, countsFlow: false, counts: [:], reason: reason, considered: [])
    }
}
