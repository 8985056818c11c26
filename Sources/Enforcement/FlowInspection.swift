import Audit
import CustomsCore
import Decision
import Foundation
import Gateway
import Inspection
import Ledger
import Policy
import Synchronization

/// One request on its way out: the people in its target and header fields (inspected before it
/// was planned) and in its body (inspected as it arrives), judged together. The gateway calls
/// `consume` and `verdict` on the connection's queue and never calls `verdict` again before the
/// previous completion ran (`framingFields` too comes before a `verdict`), so the inspector and
/// `head` are confined to that queue; `counted` is shared with
/// completions that run on the ledger's queue, hence the Mutex.
final class FlowInspection: BodyInspection, @unchecked Sendable {
    private let governor: EnforcementGovernor
    private let runtime: PolicyRuntime
    private let flow: FlowContext
    private let country: CountryCode?
    private let recipient: RecipientMatch
    /// The target and header fields, and the trailer fields once a chunked body has ended.
    private var head: RequestInspector.Finding
    /// Nil for a request without a body (the head alone is judged), and once the body was judged whole.
    private var inspector: BodyInspector?
    private let hasBody: Bool
    /// The people this flow has counted so far (a body judged in parts is admitted more than once).
    private let counted = Mutex<[LedgerSubject]>([])

    init(governor: EnforcementGovernor, runtime: PolicyRuntime, flow: FlowContext, country: CountryCode?,
         recipient: RecipientMatch, head: RequestInspector.Finding = .init(), hasBody: Bool = true) {
        self.governor = governor
        self.runtime = runtime
        self.flow = flow
        self.country = country
        self.recipient = recipient
        self.head = head
        self.hasBody = hasBody
        guard hasBody else {
            inspector = nil
            return
        }
        var contentType: String?, contentEncoding: String?
        for (name, value) in flow.requestHeaders {
            if HeaderNames.matches(name, "content-type") { contentType = value }
            if HeaderNames.matches(name, "content-encoding") { contentEncoding = value }
        }
        var config = runtime.inspection
        config.now = flow.startedAt
        inspector = BodyInspector(contentType: contentType, contentEncoding: contentEncoding, configuration: config)
    }

    func consume(_ bytes: UnsafeRawBufferPointer) { inspector?.feed(bytes) }

    /// Chunk extensions and trailer fields are read as header fields are, part of the head's record.
    func framingFields(_ fields: [(name: String, value: String)]) {
        let found = runtime.requestInspector.inspect(path: "", query: "", headers: fields, now: flow.startedAt)
        guard !found.isEmpty else { return }
        head.result = head.isEmpty ? found.result : head.result.merging(found.result, sensitivity: runtime.inspection.sensitivity)
        head.foundIn += found.foundIn.map { place in
            guard place.hasPrefix("header:") else { return place }
            return place == "header:chunk-extension" ? "chunk-extension" : "trailer:" + place.dropFirst(7)
        }
    }

    func verdict(final: Bool, completion: @escaping @Sendable (BodyVerdict) -> Void) {
        if !final && runtime.overHoldLimit == .block {
            let v = Verdict.gatewayBlock(rule: "site/body-over-hold-limit",
                                     reason: "the body is larger than the hold limit and the site blocks such bodies")
            block(v, facts: facts(.uninspectable("body over the hold limit")), result: nil, completion: completion)
            return
        }
        guard hasBody else {
            admit(head.result, foundIn: head.foundIn, judgedAgain: false, completion: completion)
            return
        }
        guard let inspector else {
            // The gateway asks for one final verdict per body; should it ask again, nothing is sent unjudged.
            let v = Verdict.gatewayBlock(rule: "customs/body-judged-twice", reason: "the body was already judged")
            block(v, facts: facts(.uninspectable("body already judged")), result: nil, completion: completion)
            return
        }
        let body = final ? inspector.finish() : inspector.partialResult()
        // The inspector's per-body state goes back to the shared pool now, not when the flow ends:
        // a flow can wait a while for the ledger, and with more flows waiting than the pool holds,
        // every body would otherwise have built its tables afresh.
        if final { self.inspector = nil }
        if let why = body.uninspectable {
            guard !head.isEmpty || !body.subjects.isEmpty else {
                judgeWithoutCounting(facts(.uninspectable(why)), result: body, completion: completion)
                return
            }
            // The body goes out unread only if the site allows that; the people in the target and
            // header fields go out with it, and so do those read in the body before the fault:
            // all of them are counted (a lower bound of the body's people, never none).
            let opaque = Decide.verdict(facts(.uninspectable(why)), policy: runtime.policy, counts: [:])
            if opaque.action == .block {
                governor.metrics.verdict(opaque)
                block(opaque, facts: facts(.uninspectable(why)), result: body, foundIn: head.foundIn, completion: completion)
                return
            }
            if opaque.action == .monitor {
                governor.metrics.verdict(opaque)
                governor.record(opaque, flow: flow, facts: facts(.uninspectable(why)), result: body, runtime: runtime,
                                foundIn: head.foundIn, loggedPath: head.redactedPath) { _ in }
            }
            if body.subjects.isEmpty {
                admit(head.result, foundIn: head.foundIn, judgedAgain: !final, completion: completion)
            } else {
                let seen = head.isEmpty ? body : body.merging(head.result, sensitivity: runtime.inspection.sensitivity)
                admit(seen, foundIn: head.foundIn + Self.inBody, judgedAgain: !final, completion: completion)
            }
            return
        }
        let result = head.isEmpty ? body : body.merging(head.result, sensitivity: runtime.inspection.sensitivity)
        let foundIn = body.subjects.isEmpty ? head.foundIn : head.foundIn.isEmpty ? Self.inBody : head.foundIn + Self.inBody
        admit(result, foundIn: foundIn, judgedAgain: !final, completion: completion)
    }

    /// Where the people were found when only the body had them: one array for every such flow.
    private static let inBody = ["body"]

    /// Counts the people not yet counted for this flow and judges it: ledger, then decision.
    /// `judgedAgain`: more of the body follows (over the hold limit), so who was counted is kept.
    private func admit(_ result: InspectionResult, foundIn: [String], judgedAgain: Bool,
                       completion: @escaping @Sendable (BodyVerdict) -> Void) {
        let masks = runtime.categoryMasks
        // Only a body judged in parts (over the hold limit) comes here twice: the set of people
        // counted by its earlier parts is built only then.
        let already = counted.withLock { $0 }
        let skip = already.isEmpty ? Set<SubjectKey>() : Set(already.lazy.map(\.key))
        var found: [LedgerSubject] = []
        found.reserveCapacity(result.subjects.count)
        // People per category: counted on the stack, then a dictionary sized for the categories present.
        let counts: [Category: Int] = withUnsafeTemporaryAllocation(of: Int.self, capacity: masks.categories.count) { perCategory in
            perCategory.initialize(repeating: 0)
            for s in result.subjects where skip.isEmpty || !skip.contains(s.key) {
                let mask = masks.mask(kinds: s.kinds, sensitive: s.isSensitive)
                found.append(LedgerSubject(key: s.key, categories: mask))
                var bits = mask
                while bits != 0 {
                    perCategory[bits.trailingZeroBitCount] += 1
                    bits &= bits - 1
                }
            }
            var byCategory = [Category: Int](minimumCapacity: perCategory.reduce(0) { $0 + ($1 > 0 ? 1 : 0) })
            for (i, n) in perCategory.enumerated() where n > 0 { byCategory[masks.categories[i]] = n }
            return byCategory
        }
        let subjects = found
        if subjects.isEmpty {
            // No person in the body (or none not already counted for this flow): nothing to decide.
            completion(.forward)
            return
        }
        let facts = facts(.subjects(newByCategory: counts))
        let batch = LedgerBatch(time: flow.startedAt, recipient: recipient.id, categories: masks.categories, subjects: subjects,
                                keys: runtime.countKeys(forRecipient: recipient.id), calendar: runtime.calendar)
        // The runtime, not its policy: capturing the snapshot struct retained each of its fields.
        let runtime = self.runtime
        governor.ledger.admit(batch, decide: { preview in
            let v = Decide.verdict(facts, policy: runtime.policy, counts: preview, trace: false)
            return (v.countsFlow ? .commit : .discard, v)
        }, completion: { [self] outcome in
            switch outcome {
            case .failure(let error):
                // Could not count: fail closed. Nothing goes out uncounted.
                governor.logger.error("ledger refused a batch; blocking the flow", metadata: [
                    "flow": "\(flow.flowID)", "error": "\(error)"])
                let v = Verdict.gatewayBlock(rule: "customs/ledger-unavailable",
                                         reason: "the ledger could not record this flow (\(error.kind.rawValue)); it was not sent")
                block(v, facts: facts, result: result, foundIn: foundIn, status: 503, completion: completion)
            case .success(let v):
                governor.metrics.verdict(v)
                if v.countsFlow {
                    if judgedAgain { counted.withLock { $0.append(contentsOf: subjects) } }
                    governor.metrics.counted(counts)
                }
                settle(v, facts: facts, result: result, foundIn: foundIn, completion: completion)
            }
        })
    }

    private func judgeWithoutCounting(_ facts: FlowFacts, result: InspectionResult, completion: @escaping @Sendable (BodyVerdict) -> Void) {
        let v = Decide.verdict(facts, policy: runtime.policy, counts: [:], trace: false)
        governor.metrics.verdict(v)
        settle(v, facts: facts, result: result, completion: completion)
    }

    private func settle(_ v: Verdict, facts: FlowFacts, result: InspectionResult?, foundIn: [String] = [],
                        completion: @escaping @Sendable (BodyVerdict) -> Void) {
        switch v.action {
        case .allow:
            if runtime.auditEveryVerdict {
                governor.record(v, flow: flow, facts: facts, result: result, runtime: runtime, foundIn: foundIn,
                                loggedPath: head.redactedPath) { _ in }
            }
            completion(.forward)
        case .monitor:
            governor.record(v, flow: flow, facts: facts, result: result, runtime: runtime, foundIn: foundIn,
                            loggedPath: head.redactedPath) { _ in }
            completion(.forward)
        case .block:
            block(v, facts: facts, result: result, foundIn: foundIn, completion: completion)
        }
    }

    /// A block is answered only once its audit record is durable.
    private func block(_ v: Verdict, facts: FlowFacts, result: InspectionResult?, foundIn: [String] = [], status: Int = 451,
                       completion: @escaping @Sendable (BodyVerdict) -> Void) {
        let response = BlockResponse.make(incident: IncidentID.make(at: flow.startedAt), rule: v.rule,
                                          recipient: recipient.id, verdict: v, reason: v.reason,
                                          blockedBy: runtime.blockedBy, contact: runtime.contact, status: status)
        let incident = response.headers.first { $0.name == "Customs-Incident" }!.value
        // Even if the record could not be written the flow stays blocked.
        governor.record(v, flow: flow, facts: facts, result: result, runtime: runtime, incident: incident,
                        foundIn: foundIn, loggedPath: head.redactedPath) { _ in
            completion(.block(response))
        }
    }

    private func facts(_ content: FlowContent) -> FlowFacts {
        FlowFacts(time: flow.startedAt, clientAddress: flow.client.address, clientName: flow.client.name,
                  user: flow.client.user, method: flow.method, host: flow.host, path: flow.path,
                  destination: flow.destination, country: country, recipient: recipient, content: content)
    }
}
