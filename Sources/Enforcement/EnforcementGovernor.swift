import Audit
import CustomsCore
import Decision
import Dispatch
import Foundation
import Gateway
import Inspection
import Ledger
import Logging
import Policy
import Synchronization

/// The gateway's governor: for every flow it locates the destination, and for flows that leave
/// the home territory it inspects the body, asks the ledger and the decision function, counts
/// what goes out, and blocks what may not. Domestic flows pass with no further work.
public final class EnforcementGovernor: FlowGovernor {
    private let runtimeBox: Mutex<PolicyRuntime>
    let ledger: any SubjectLedger
    let audit: AuditLog
    let metrics: EnforcementMetrics
    let logger: Logger

    public init(runtime: PolicyRuntime, ledger: any SubjectLedger, audit: AuditLog,
                metrics: MetricsRegistry, logger: Logger = Logger(label: "customs.enforcement")) {
        self.runtimeBox = Mutex(runtime)
        self.ledger = ledger
        self.audit = audit
        self.metrics = EnforcementMetrics(registry: metrics, recipients: runtime.recipientIDs)
        self.logger = logger
    }

    /// The configuration new flows use.
    public var runtime: PolicyRuntime { runtimeBox.withLock { $0 } }

    /// Swaps in a reloaded configuration; flows already under way finish with the one they began with.
    public func install(_ runtime: PolicyRuntime) {
        runtimeBox.withLock { $0 = runtime }
        metrics.trackRecipients(runtime.recipientIDs)
    }

    /// A plain request's `finished` does nothing, so skipping both for a destination that
    /// `plan` would forward at once changes nothing but the work.
    public func forwardsEveryRequest(to destination: IPAddress) -> Bool {
        runtime.certainlyInside(destination)
    }

    public func plan(for flow: FlowContext) -> FlowPlan {
        let rt = runtime
        if rt.certainlyInside(flow.destination) { return .forward }
        let place = rt.locate(host: flow.host, sni: flow.sni, address: flow.destination)
        guard rt.isOutside(country: place.country, special: place.special) else { return .forward }
        // The target and header fields go out with every request, body or not.
        let head = rt.requestInspector.inspect(path: flow.path, query: flow.query, headers: flow.requestHeaders,
                                               now: flow.startedAt)
        let hasBody = Self.mayCarryBody(flow)
        guard hasBody || !head.isEmpty else { return .forward }
        let inspection = FlowInspection(governor: self, runtime: rt, flow: flow, country: place.country,
                                        recipient: place.recipient, head: head, hasBody: hasBody)
        return .inspect(inspection)
    }

    public func tunnel(for flow: FlowContext) -> TunnelPlan {
        let rt = runtime
        if rt.certainlyInside(flow.destination) { return .splice }
        let place = rt.locate(host: flow.host, sni: flow.sni, address: flow.destination)
        guard rt.isOutside(country: place.country, special: place.special) else { return .splice }
        if flow.interceptable && rt.interceptionEnabled && !rt.isNoIntercept(host: flow.sni ?? flow.host) { return .intercept }
        let facts = FlowFacts(time: flow.startedAt, clientAddress: flow.client.address, clientName: flow.client.name,
                              user: flow.client.user, method: flow.method, host: flow.host, path: flow.path,
                              destination: flow.destination, country: place.country, recipient: place.recipient,
                              content: .tunnel)
        let verdict = Decide.verdict(facts, policy: rt.policy, counts: [:], trace: false)
        metrics.verdict(verdict)
        switch verdict.action {
        case .allow:
            return .splice
        case .monitor:
            record(verdict, flow: flow, facts: facts, result: nil, runtime: rt) { _ in }
            return .splice
        case .block:
            // A block is never answered before its record is durable; the gateway waits for the
            // audit fsync (group-committed with other records) without holding its queue.
            let incident = IncidentID.make(at: flow.startedAt)
            let response = BlockResponse.make(incident: incident, rule: verdict.rule, recipient: place.recipient.id,
                                              verdict: verdict, reason: verdict.reason,
                                              blockedBy: rt.blockedBy, contact: rt.contact)
            return .respondWhenReady(response) { [self] done in
                record(verdict, flow: flow, facts: facts, result: nil, runtime: rt, incident: incident) { _ in done() }
            }
        }
    }

    public func finished(_ flow: FlowContext, status: Int, bytesUp: UInt64, bytesDown: UInt64) {
        guard flow.method == "CONNECT" || flow.scheme == "tunnel" else { return }
        let rt = runtime
        let place = rt.locate(host: flow.host, sni: flow.sni, address: flow.destination)
        guard rt.isOutside(country: place.country, special: place.special) else { return }
        metrics.tunnelBytes(recipient: place.recipient.id, up: bytesUp, down: bytesDown)
        logger.info("uninspected tunnel to the outside closed", metadata: [
            "flow": "\(flow.flowID)", "recipient": "\(place.recipient.id)", "host": "\(flow.host)",
            "country": "\(place.country.map(String.init(describing:)) ?? "unknown")",
            "bytes_up": "\(bytesUp)", "bytes_down": "\(bytesDown)",
        ])
    }

    /// Requests that cannot carry a body (no Content-Length or a zero one, no Transfer-Encoding)
    /// have nothing to inspect.
    static func mayCarryBody(_ flow: FlowContext) -> Bool {
        var length: String?
        for (name, value) in flow.requestHeaders {
            if HeaderNames.matches(name, "transfer-encoding") { return true }
            if HeaderNames.matches(name, "content-length") { length = value }
        }
        guard let length else { return false }
        return length.utf8.contains { $0 != 0x20 && $0 != 0x09 && $0 != UInt8(ascii: "0") }
    }

    /// Writes the audit record for a verdict worth keeping and returns its incident id;
    /// `durable` runs once the record is on disk (or failed to get there).
    @discardableResult
    func record(_ verdict: Verdict, flow: FlowContext, facts: FlowFacts, result: InspectionResult?,
                runtime rt: PolicyRuntime, incident: String? = nil, foundIn: [String] = [], loggedPath: String? = nil,
                durable: @escaping @Sendable (Result<Void, AuditError>) -> Void) -> String {
        let incident = incident ?? IncidentID.make(at: flow.startedAt)
        var subjectsNew: [String: Int] = [:]
        if case .subjects(let byCategory) = facts.content {
            for (c, n) in byCategory { subjectsNew[c.name] = n }
        }
        var counts: [String: AuditRecord.CountPair] = [:]
        for (k, v) in verdict.counts { counts[k.description] = .init(before: v.before, after: v.after) }
        var uninspectable: String?
        if case .uninspectable(let why) = facts.content { uninspectable = why }
        if case .tunnel = facts.content { uninspectable = "uninspected tunnel" }
        let rec = AuditRecord(
            time: Date(), incident: incident, flow: flow.flowID, action: verdict.action.rawValue,
            rule: verdict.rule, regime: verdict.regime, requiredInstrument: verdict.requiredInstrument,
            approval: verdict.approvalUsed, approvalFindings: verdict.approvalFindings, exemption: verdict.exemption,
            reason: verdict.reason, clientAddress: flow.client.address.description, clientName: flow.client.name,
            user: flow.client.user, method: flow.method, host: flow.host, path: loggedPath ?? flow.path,
            destination: flow.destination.description, country: facts.country.map(String.init(describing:)),
            recipient: facts.recipient.id, recipientName: facts.recipient.name, subjectsNew: subjectsNew,
            counts: counts, masked: Array((result?.subjects ?? []).prefix(3).map(\.masked)),
            uninspectable: uninspectable, bytes: result?.bytes, foundIn: foundIn)
        // A block's answer waits for its record; a monitor or allow record's flow went ahead.
        audit.append(rec, urgent: verdict.action == .block) { [logger, metrics] r in
            if case .failure(let e) = r {
                metrics.auditFailure()
                logger.error("audit record not written", metadata: ["incident": "\(incident)", "error": "\(e)"])
            }
            durable(r)
        }
        var metadata: Logger.Metadata = [
            "incident": "\(incident)", "rule": "\(verdict.rule)", "recipient": "\(facts.recipient.id)",
            "host": "\(flow.host)", "reason": "\(verdict.reason)",
        ]
        if !foundIn.isEmpty { metadata["found_in"] = .array(foundIn.map { .string($0) }) }
        logger.notice("\(verdict.action.rawValue)", metadata: metadata)
        return incident
    }
}
