import Dispatch
import Foundation
import Wire

/// A flow's ID: the loop's fixed prefix and a counter, spelled out only when something reads it.
/// The access log writes its digits in place (a String per request showed in profiles).
struct FlowID: CustomStringConvertible {
    let prefix: String
    let number: UInt64

    var description: String { prefix + String(number, radix: 36) }

    /// The most bytes `write` produces.
    var maxBytes: Int { prefix.utf8.count + 13 }

    /// The same text as `description`: the prefix, then the number in base 36.
    func write(to out: inout ByteCursor) {
        out.put(utf8: prefix)
        var digits = 1, x = number
        while x >= 36 { x /= 36; digits += 1 }
        var buffer: (UInt64, UInt64) = (0, 0)
        withUnsafeMutableBytes(of: &buffer) { b in
            var y = number, i = digits
            repeat {
                i -= 1
                let d = UInt8(truncatingIfNeeded: y % 36)
                b[i] = d < 10 ? d &+ 0x30 : d &+ 0x57
                y /= 36
            } while y > 0
            out.put(UnsafeRawBufferPointer(rebasing: b[0..<digits]))
        }
    }
}

/// One serial queue and everything confined to it: the connections it owns, a shared read
/// buffer, the upstream pool and a coarse timer that enforces every connection's deadline.
/// @unchecked Sendable: all mutable state is touched only on `queue`.
final class EventLoop: @unchecked Sendable {
    let index: Int
    let queue: DispatchQueue
    /// Readiness of every socket on this loop, batched (one epoll instance per loop).
    let poller: EventPoller
    /// Reads land here and are processed before the next read, so idle connections hold no buffer.
    let scratch: UnsafeMutableRawBufferPointer
    let pool: UpstreamPool
    private var connections: [ObjectIdentifier: ClientConnection] = [:]
    private var sweeper: DispatchSourceTimer?
    private var flowCounter: UInt64 = 0
    private let flowPrefix: String
    /// Set when shutdown begins: idle connections close and keep-alive ends.
    private(set) var draining = false

    static let bufferSize = 65_536

    init(index: Int, flowPrefix: String, upstreamIdlePerKey: Int, upstreamIdleTimeout: TimeInterval) {
        self.index = index
        queue = DispatchQueue(label: "customs.loop.\(index)", qos: .userInitiated)
        poller = EventPoller(queue: queue)
        scratch = .allocate(byteCount: Self.bufferSize, alignment: 16)
        pool = UpstreamPool(perKey: upstreamIdlePerKey, idleTimeout: upstreamIdleTimeout)
        // The loop's part of every flow ID is fixed: built once, not per request.
        self.flowPrefix = flowPrefix + String(index, radix: 36) + "-"
    }

    func start() {
        let t = DispatchSource.makeTimerSource(queue: queue)
        t.schedule(deadline: .now() + .milliseconds(250), repeating: .milliseconds(250), leeway: .milliseconds(50))
        t.setEventHandler { [unowned self] in self.sweep() }
        t.resume()
        sweeper = t
    }

    var connectionCount: Int { connections.count }

    func register(_ c: ClientConnection) { connections[ObjectIdentifier(c)] = c }
    func unregister(_ c: ClientConnection) { connections[ObjectIdentifier(c)] = nil }

    func nextFlowID() -> FlowID {
        flowCounter += 1
        return FlowID(prefix: flowPrefix, number: flowCounter)
    }

    private func sweep() {
        let now = CoarseClock.nanoseconds()
        for c in connections.values { c.checkDeadline(now) }
        pool.evictExpired(now: now)
    }

    /// Stops keep-alive and closes connections that sit idle between requests.
    func beginDraining() {
        draining = true
        for c in connections.values { c.drain() }
        pool.closeAll()
    }

    /// Closes whatever is still open when the grace period is over.
    func forceClose() {
        for c in connections.values { c.abort() }
        pool.closeAll()
    }

    func stop() {
        sweeper?.cancel()
        sweeper = nil
        poller.stop()
    }
}
