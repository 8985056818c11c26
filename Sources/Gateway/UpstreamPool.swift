import CustomsCore
import Dispatch

/// Idle keep-alive upstream connections of one event loop, keyed by the exact (address, port)
/// connected to. Bounded per key; idle ones expire; stale ones are found at checkout.
/// Confined to the loop's queue (no lock).
final class UpstreamPool {
    struct Key: Hashable { let address: IPAddress; let port: UInt16 }
    private struct Idle { let transport: SocketTransport; let since: DispatchTime }
    private var idle: [Key: [Idle]] = [:]
    private let perKey: Int
    private let idleTimeout: UInt64

    init(perKey: Int, idleTimeout: Double) {
        self.perKey = perKey
        self.idleTimeout = UInt64(idleTimeout * 1e9)
    }

    /// The most recently used live connection for `key`, if any.
    func checkout(_ key: Key) -> SocketTransport? {
        while var list = idle[key], let last = list.popLast() {
            idle[key] = list.isEmpty ? nil : list
            if Socket.isStale(last.transport.fd) { last.transport.close(abort: false); continue }
            return last.transport
        }
        return nil
    }

    func checkin(_ t: SocketTransport, key: Key) {
        // Reading stays on: an idle connection that turns readable was closed by the server
        // (or sent something unasked) and is dropped at once.
        t.onReadable = { [unowned self, unowned t] in self.discard(t, key: key) }
        t.onDrained = nil
        t.resumeReading()
        var list = idle[key] ?? []
        if list.count >= perKey { list.removeFirst().transport.close(abort: false) }
        list.append(Idle(transport: t, since: .now()))
        idle[key] = list
    }

    private func discard(_ t: SocketTransport, key: Key) {
        if var list = idle[key], let i = list.firstIndex(where: { $0.transport === t }) {
            list.remove(at: i)
            idle[key] = list.isEmpty ? nil : list
        }
        t.close(abort: false)
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
