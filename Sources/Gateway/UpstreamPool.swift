import CustomsCore
import Dispatch

/// Idle keep-alive upstream connections of one event loop, keyed by the exact (address, port)
/// connected to. Bounded per key; idle ones expire; stale ones are found at checkout.
/// Confined to the loop's queue (no lock).
final class UpstreamPool {
    struct Key: Hashable { let address: IPAddress; let port: UInt16 }
    private struct Idle { let transport: SocketTransport; let since: DispatchTime }
    private var idle: [Key: [Idle]] = [:]
    private var labels: [Key: String] = [:]
    private let perKey: Int
    private let idleTimeout: UInt64

    init(perKey: Int, idleTimeout: Double) {
        self.perKey = perKey
        self.idleTimeout = UInt64(idleTimeout * 1e9)
    }

    /// The most recently used idle connection for `key`, if any. Closed ones were already dropped
    /// by their readable event; one closed in the last instant is caught by the idempotent retry.
    func checkout(_ key: Key) -> SocketTransport? {
        // Mutated in place: a copy out of the dictionary and back would duplicate the array each time.
        guard let last = idle[key]?.popLast() else { return nil }
        if idle[key]?.isEmpty == true { idle[key] = nil }
        return last.transport
    }

    func checkin(_ t: SocketTransport, key: Key) {
        // Reading stays on: an idle connection that turns readable was closed by the server
        // (or sent something unasked) and is dropped at once.
        t.onReadable = { [unowned self, unowned t] in self.discard(t, key: key) }
        t.onDrained = nil
        t.resumeReading()
        idle[key, default: []].append(Idle(transport: t, since: .now()))
        if let count = idle[key]?.count, count > perKey, let oldest = idle[key]?.removeFirst() {
            oldest.transport.close(abort: false)
        }
    }

    private func discard(_ t: SocketTransport, key: Key) {
        if let i = idle[key]?.firstIndex(where: { $0.transport === t }) {
            idle[key]?.remove(at: i)
            if idle[key]?.isEmpty == true { idle[key] = nil }
        }
        t.close(abort: false)
    }

    /// "address:port" of `key` as the access log writes it, formatted once per key rather than per request.
    func label(_ key: Key) -> String {
        if let text = labels[key] { return text }
        if labels.count >= 4096 { labels.removeAll(keepingCapacity: true) }
        let text = key.address.withPort(key.port)
        labels[key] = text
        return text
    }

    func evictExpired(now: DispatchTime) {
        for (key, list) in idle {
            let keep = list.filter { now.uptimeNanoseconds - $0.since.uptimeNanoseconds < idleTimeout }
            if keep.count == list.count { continue }
            for i in list where now.uptimeNanoseconds - i.since.uptimeNanoseconds >= idleTimeout {
                i.transport.close(abort: false)
            }
            idle[key] = keep.isEmpty ? nil : keep
        }
    }

    func closeAll() {
        for list in idle.values { for i in list { i.transport.close(abort: false) } }
        idle.removeAll()
    }
}
