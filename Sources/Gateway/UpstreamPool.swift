import CustomsCore
import Dispatch

/// Idle keep-alive upstream connections of one event loop, keyed by the exact (address, port)
/// connected to. Bounded per key; idle ones expire; stale ones are found at checkout.
/// Confined to the loop's queue (no lock).
final class UpstreamPool {
    struct Key: Hashable { let address: IPAddress; let port: UInt16 }

    /// One destination's idle connections and its access-log label. An exchange holds its slot
    /// from connect to release, so a request hashes its key once (not at checkout, checkin and log).
    final class Slot {
        let key: Key
        /// "address:port" as the access log writes it, formatted once per destination.
        let label: String
        fileprivate var idle: [Idle] = []
        /// False once evicted from the table; a checkin puts it back.
        fileprivate var listed = true

        fileprivate init(_ key: Key) {
            self.key = key
            label = key.address.withPort(key.port)
        }
    }

    /// `since` is `CoarseClock.nanoseconds()` at checkin.
    fileprivate struct Idle { let transport: SocketTransport; let since: UInt64 }
    private var slots: [Key: Slot] = [:]
    private let perKey: Int
    private let idleTimeout: UInt64
    /// Destinations without idle connections are forgotten beyond this many.
    static let slotLimit = 4096

    init(perKey: Int, idleTimeout: Double) {
        self.perKey = perKey
        self.idleTimeout = UInt64(idleTimeout * 1e9)
    }

    func slot(for key: Key) -> Slot {
        if let s = slots[key] { return s }
        if slots.count >= Self.slotLimit { forgetEmptySlots() }
        let s = Slot(key)
        slots[key] = s
        return s
    }

    /// The most recently used idle connection of `slot`, if any. Closed ones were already dropped
    /// by their readable event; one closed in the last instant is caught by the idempotent retry.
    func checkout(_ slot: Slot) -> SocketTransport? {
        guard let t = slot.idle.popLast()?.transport else { return nil }
        t.idleSlot = nil
        return t
    }

    func checkin(_ t: SocketTransport, slot held: Slot) {
        // A slot forgotten while its exchange ran may have been replaced by a newer one for the
        // same destination; the connection joins whichever the table lists, so none is orphaned.
        let slot = held.listed ? held : (slots[held.key] ?? relist(held))
        // Reading stays on: an idle connection that turns readable was closed by the server
        // (or sent something unasked) and is dropped at once. The handler is made once per
        // connection (it was an allocation per request) and finds the slot the connection idles in.
        t.idleSlot = slot
        if t.idleWatch == nil {
            t.idleWatch = { [unowned self, unowned t] in
                if let s = t.idleSlot { self.discard(t, slot: s) }
            }
        }
        t.onReadable = t.idleWatch
        t.onDrained = nil
        t.resumeReading()
        slot.idle.append(Idle(transport: t, since: CoarseClock.nanoseconds()))
        if slot.idle.count > perKey {
            slot.idle.removeFirst().transport.close(abort: false)
        }
    }

    private func discard(_ t: SocketTransport, slot: Slot) {
        if let i = slot.idle.firstIndex(where: { $0.transport === t }) {
            slot.idle.remove(at: i)
        }
        t.close(abort: false)
    }

    private func relist(_ slot: Slot) -> Slot {
        slot.listed = true
        slots[slot.key] = slot
        return slot
    }

    private func forgetEmptySlots() {
        for (key, s) in slots where s.idle.isEmpty {
            s.listed = false
            slots[key] = nil
        }
    }

    /// `now` is `CoarseClock.nanoseconds()`.
    func evictExpired(now: UInt64) {
        for s in slots.values where !s.idle.isEmpty {
            let keep = s.idle.filter { now &- $0.since < idleTimeout }
            if keep.count == s.idle.count { continue }
            for i in s.idle where now &- i.since >= idleTimeout {
                i.transport.close(abort: false)
            }
            s.idle = keep
        }
    }

    func closeAll() {
        for s in slots.values {
            for i in s.idle { i.transport.close(abort: false) }
            s.idle.removeAll()
        }
    }
}
