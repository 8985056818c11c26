import CustomsCore
import Decision
import Gateway
import Synchronization

/// What the compliance side adds to /metrics. Per-recipient gauges are kept only for recipients
/// named in the site file, so the label set stays bounded whatever hosts flows go to.
final class EnforcementMetrics: Sendable {
    private let registry: MetricsRegistry
    private let recipients: Mutex<Set<String>>
    private let auditFailures: Counter
    private let reloadOK: Counter
    private let reloadFailed: Counter
    private let tunnelUp: Counter
    private let tunnelDown: Counter
    /// Metrics already registered, by what names them: every verdict touches a few, and asking the
    /// registry each time built and escaped label text per verdict (7 % of a busy gateway's CPU).
    private let verdictCounters = Mutex<[VerdictLabel: Counter]>([:])
    private let distinctGauges = Mutex<[CountKey: Gauge]>([:])
    private let countedCounters = Mutex<[Category: Counter]>([:])
    private struct VerdictLabel: Hashable { let action: VerdictAction; let rule: String }

    init(registry: MetricsRegistry, recipients: Set<String>) {
        self.registry = registry
        self.recipients = Mutex(recipients)
        auditFailures = registry.counter("customs_audit_write_failures_total", help: "Audit records that could not be written.")
        reloadOK = registry.counter("customs_policy_reloads_total", help: "Policy reloads by outcome.", labels: [("outcome", "success")])
        reloadFailed = registry.counter("customs_policy_reloads_total", help: "Policy reloads by outcome.", labels: [("outcome", "failure")])
        tunnelUp = registry.counter("customs_outside_tunnel_bytes_total", help: "Bytes through uninspected tunnels to the outside.",
                                    labels: [("direction", "up")])
        tunnelDown = registry.counter("customs_outside_tunnel_bytes_total", help: "Bytes through uninspected tunnels to the outside.",
                                      labels: [("direction", "down")])
    }

    func trackRecipients(_ ids: Set<String>) { recipients.withLock { $0 = ids } }

    func verdict(_ v: Verdict) {
        Self.cached(verdictCounters, VerdictLabel(action: v.action, rule: v.rule)) {
            registry.counter("customs_verdicts_total", help: "Verdicts by action and rule.",
                             labels: [("action", v.action.rawValue), ("rule", v.rule)])
        }.increment()
        guard v.countsFlow else { return }
        let known = recipients.withLock { $0 }
        for (key, change) in v.counts {
            switch key.scope {
            case .company: break
            case .recipient(let id): guard known.contains(id) else { continue }
            }
            distinct(key).set(Int64(change.after))
        }
    }

    /// Sets the per-recipient and company gauges from ledger counts (at start and after reload).
    func seed(_ counts: [CountKey: Int]) {
        let known = recipients.withLock { $0 }
        for (key, n) in counts {
            if case .recipient(let id) = key.scope, !known.contains(id) { continue }
            distinct(key).set(Int64(n))
        }
    }

    private func distinct(_ key: CountKey) -> Gauge {
        Self.cached(distinctGauges, key) { registerDistinct(key) }
    }

    /// The metric kept under `key`, registered by `make` the first time it is asked for.
    private static func cached<K: Hashable & Sendable, M: Sendable>(_ cache: borrowing Mutex<[K: M]>, _ key: K,
                                                                    _ make: () -> M) -> M {
        cache.withLock { metrics in
            if let m = metrics[key] { return m }
            let m = make()
            metrics[key] = m
            return m
        }
    }

    private func registerDistinct(_ key: CountKey) -> Gauge {
        let scope: String
        switch key.scope {
        case .company: scope = "company"
        case .recipient(let id): scope = id
        }
        return registry.gauge("customs_distinct_subjects", help: "Distinct people counted, by recipient (or company), category and window.",
                              labels: [("recipient", scope), ("category", key.category.name), ("window", key.window.rawValue)])
    }

    func counted(_ byCategory: [Category: Int]) {
        for (c, n) in byCategory {
            Self.cached(countedCounters, c) {
                registry.counter("customs_subjects_counted_total", help: "Subjects in flows that went out, by category.",
                                 labels: [("category", c.name)])
            }.increment(by: UInt64(n))
        }
    }

    func tunnelBytes(recipient: String, up: UInt64, down: UInt64) {
        tunnelUp.increment(by: up)
        tunnelDown.increment(by: down)
    }

    func auditFailure() { auditFailures.increment() }
    func reload(ok: Bool) { (ok ? reloadOK : reloadFailed).increment() }
}
