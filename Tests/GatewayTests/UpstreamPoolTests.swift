import CustomsCore
import Dispatch
import Foundation
@testable import Gateway
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite struct UpstreamPoolTests {
    /// A destination's slot can be forgotten (past `slotLimit` destinations) while an exchange
    /// still holds it, and a newer slot made for the same destination. The held connection must
    /// join the listed slot on checkin: one left in the forgotten slot would never be reused,
    /// expired or closed at shutdown.
    @Test func checkinToAForgottenSlotJoinsTheListedOne() throws {
        let queue = DispatchQueue(label: "pool-test")
        let poller = EventPoller(queue: queue)
        let (a, aPeer) = try EventPollerTests.socketPair()
        let (b, bPeer) = try EventPollerTests.socketPair()
        defer { close(aPeer); close(bPeer) }
        queue.sync {
            let pool = UpstreamPool(perKey: 4, idleTimeout: 60)
            let key = UpstreamPool.Key(address: IPAddress("192.0.2.7")!, port: 80)
            let held = pool.slot(for: key)
            // Enough other destinations that the next new one forgets every empty slot.
            for n in 0..<UpstreamPool.slotLimit {
                _ = pool.slot(for: UpstreamPool.Key(address: .v4(UInt32(0x0A00_0000 + n)), port: 80))
            }
            let newer = pool.slot(for: key)
            #expect(newer !== held, "the held slot was forgotten and a new one made")
            let older = SocketTransport(fd: a, poller: poller), later = SocketTransport(fd: b, poller: poller)
            pool.checkin(older, slot: newer)
            pool.checkin(later, slot: held)
            let listed = pool.slot(for: key)
            #expect(listed === newer)
            #expect(pool.checkout(listed) === later)
            #expect(pool.checkout(listed) === older)
            #expect(pool.checkout(listed) == nil)
            pool.checkin(older, slot: listed)
            pool.checkin(later, slot: held)
            pool.closeAll()
            #expect(older.isClosed && later.isClosed, "closeAll reaches every idle connection")
            poller.stop()
        }
    }
}
