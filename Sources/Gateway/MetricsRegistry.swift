import Foundation
import Synchronization

/// A small Prometheus registry. Counters and gauges are single atomics (no lock on the hot path);
/// histograms take an uncontended per-metric lock once per observation (once per request, never per byte).
/// Metrics with the same name and different labels form one family in the output.
public final class MetricsRegistry: Sendable {
    private struct Family {
        let name: String
        let help: String
        let type: String
        var members: [(labels: String, metric: any RenderableMetric)]
    }
    private let families = Mutex<[Family]>([])

    public init() {}

    public func counter(_ name: String, help: String, labels: [(String, String)] = []) -> Counter {
        register(name, help, "counter", labels) { Counter() }
    }

    public func gauge(_ name: String, help: String, labels: [(String, String)] = []) -> Gauge {
        register(name, help, "gauge", labels) { Gauge() }
    }

    /// `buckets` are upper bounds in ascending order; `+Inf` is added.
    public func histogram(_ name: String, help: String, buckets: [Double],
                          labels: [(String, String)] = []) -> Histogram {
        register(name, help, "histogram", labels) { Histogram(buckets: buckets) }
    }

    /// Registering the same name and labels twice returns the first metric.
    private func register<M: RenderableMetric>(_ name: String, _ help: String, _ type: String,
                                               _ labels: [(String, String)], make: () -> M) -> M {
        let labelText = labels.map { "\($0.0)=\"\(Self.escape($0.1))\"" }.joined(separator: ",")
        return families.withLock { fams in
            if let i = fams.firstIndex(where: { $0.name == name }) {
                if let existing = fams[i].members.first(where: { $0.labels == labelText })?.metric as? M {
                    return existing
                }
                let m = make()
                fams[i].members.append((labelText, m))
                return m
            }
            let m = make()
            fams.append(Family(name: name, help: help, type: type, members: [(labelText, m)]))
            return m
        }
    }

    /// The Prometheus text exposition format (version 0.0.4).
    public func render() -> String {
        let snapshot = families.withLock { $0 }
        var out = ""
        for f in snapshot {
            out += "# HELP \(f.name) \(f.help)\n# TYPE \(f.name) \(f.type)\n"
            for m in f.members { m.metric.render(name: f.name, labels: m.labels, into: &out) }
        }
        return out
    }

    static func escape(_ s: String) -> String {
        guard s.utf8.contains(where: { $0 == UInt8(ascii: "\\") || $0 == UInt8(ascii: "\"") || $0 == 0x0A }) else { return s }
        return s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }
}

protocol RenderableMetric: AnyObject, Sendable {
    func render(name: String, labels: String, into out: inout String)
}

public final class Counter: RenderableMetric {
    private let value = Atomic<UInt64>(0)
    init() {}
    public func increment(by n: UInt64 = 1) { value.wrappingAdd(n, ordering: .relaxed) }
    public var current: UInt64 { value.load(ordering: .relaxed) }
    func render(name: String, labels: String, into out: inout String) {
        out += labels.isEmpty ? "\(name) \(current)\n" : "\(name){\(labels)} \(current)\n"
    }
}

public final class Gauge: RenderableMetric {
    private let value = Atomic<Int64>(0)
    init() {}
    public func increment(by n: Int64 = 1) { value.wrappingAdd(n, ordering: .relaxed) }
    public func decrement(by n: Int64 = 1) { value.wrappingSubtract(n, ordering: .relaxed) }
    public func set(_ v: Int64) { value.store(v, ordering: .relaxed) }
    public var current: Int64 { value.load(ordering: .relaxed) }
    func render(name: String, labels: String, into out: inout String) {
        out += labels.isEmpty ? "\(name) \(current)\n" : "\(name){\(labels)} \(current)\n"
    }
}

public final class Histogram: RenderableMetric {
    private struct State { var counts: [UInt64]; var sum: Double; var count: UInt64 }
    public let buckets: [Double]
    private let state: Mutex<State>

    init(buckets: [Double]) {
        self.buckets = buckets.sorted()
        state = Mutex(State(counts: [UInt64](repeating: 0, count: buckets.count), sum: 0, count: 0))
    }

    public func observe(_ v: Double) {
        let i = buckets.firstIndex(where: { v <= $0 })
        state.withLock { s in
            if let i { s.counts[i] += 1 }
            s.sum += v
            s.count += 1
        }
    }

    public var count: UInt64 { state.withLock { $0.count } }

    func render(name: String, labels: String, into out: inout String) {
        let s = state.withLock { $0 }
        let sep = labels.isEmpty ? "" : ","
        var cumulative: UInt64 = 0
        for (i, b) in buckets.enumerated() {
            cumulative += s.counts[i]
            out += "\(name)_bucket{\(labels)\(sep)le=\"\(b)\"} \(cumulative)\n"
        }
        out += "\(name)_bucket{\(labels)\(sep)le=\"+Inf\"} \(s.count)\n"
        out += labels.isEmpty ? "\(name)_sum \(s.sum)\n\(name)_count \(s.count)\n"
            : "\(name)_sum{\(labels)} \(s.sum)\n\(name)_count{\(labels)} \(s.count)\n"
    }
}
