import CShims
import Dispatch
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// Socket readiness for everything on one serial queue, batched through one edge-triggered epoll
/// instance. libdispatch watches only the epoll descriptor; when it turns readable the poller takes
/// every ready registration in one `epoll_wait` and services the sockets inline on the queue, so a
/// busy queue pays one dispatch wake-up per batch instead of one per socket event.
///
/// Edge triggering reports a change once. A socket whose handler stopped before the kernel said
/// EAGAIN (or whose reading was paused when the edge came) is therefore kept on a ready list and
/// serviced again after the batch. Tokens carry a slot and that slot's generation, so an event
/// still in a batch for a socket closed earlier in the same batch is dropped, never delivered to
/// the slot's next owner.
/// @unchecked Sendable: all state is confined to `queue`.
final class EventPoller: @unchecked Sendable {
    let queue: DispatchQueue
    private let epfd: Int32
    private var source: DispatchSourceRead?
    /// Registered transports by slot (strong: a transport lives until it is closed).
    private var slots: [SocketTransport?] = []
    private var generations: [UInt32] = []
    private var freeSlots: [Int] = []
    private let batch: UnsafeMutablePointer<customs_ready>
    private var ready: [SocketTransport] = []
    private var running: [SocketTransport] = []
    /// True while a pass runs; anything queued then is picked up before the pass returns or by the next.
    private var inPass = false
    private var passScheduled = false
    /// Set by `stop()`: the descriptor is closed (or about to be) and its number may belong to another file.
    private var stopped = false

    static let batchSize = 128
    static let batchesPerTurn = 8
    private static let logger = Logger(label: "customs.gateway.poller")

    init(queue: DispatchQueue) {
        self.queue = queue
        epfd = customs_epoll_create()
        if epfd < 0 {
            // Only descriptor exhaustion gets here; every transport then reports itself broken.
            Self.logger.error("epoll_create1 failed", metadata: ["errno": "\(errno)"])
        }
        batch = .allocate(capacity: Self.batchSize)
        guard epfd >= 0 else { return }
        let src = DispatchSource.makeReadSource(fileDescriptor: epfd, queue: queue)
        src.setEventHandler { [unowned self] in self.poll() }
        let fd = epfd
        src.setCancelHandler { _ = Glibc.close(fd) }
        src.resume()
        source = src
    }

    deinit {
        batch.deallocate()
        // A poller that never stopped still owns its descriptor.
        if let source { source.cancel() }
    }

    var registeredCount: Int { slots.count - freeSlots.count }

    /// Stops watching (at shutdown, after its transports are closed) and closes the epoll descriptor.
    func stop() {
        stopped = true
        source?.cancel()
        source = nil
    }

    // MARK: registration

    /// Adds `transport`'s socket; returns its token, or nil (errno set) when epoll refuses it.
    func register(_ transport: SocketTransport) -> UInt64? {
        guard epfd >= 0, !stopped else { errno = EBADF; return nil }
        let slot: Int
        if let s = freeSlots.popLast() {
            slot = s
            slots[s] = transport
        } else {
            slot = slots.count
            slots.append(transport)
            generations.append(0)
        }
        let token = UInt64(generations[slot]) << 32 | UInt64(slot)
        if customs_epoll_add(epfd, transport.fd, token) != 0 {
            let e = errno
            release(slot: slot)
            errno = e
            return nil
        }
        return token
    }

    /// Removes the socket from epoll (call before close(2)) and retires its token.
    func deregister(_ transport: SocketTransport, token: UInt64) {
        if !stopped { _ = customs_epoll_del(epfd, transport.fd) }
        release(slot: Int(token & 0xFFFF_FFFF))
    }

    private func release(slot: Int) {
        slots[slot] = nil
        generations[slot] &+= 1
        freeSlots.append(slot)
    }

    // MARK: servicing

    /// Services `transport` again after the current batch (or soon, when called outside one).
    func schedule(_ transport: SocketTransport) {
        guard !transport.scheduled else { return }
        transport.scheduled = true
        ready.append(transport)
        if !inPass { requestPass() }
    }

    private func poll() {
        guard !stopped else { return }
        inPass = true
        var more = false
        // A few full batches at most per turn, so timers and other work on the queue are not held
        // off by a flood of events; the rest is collected in the next turn.
        for _ in 0..<Self.batchesPerTurn {
            let n = Int(customs_epoll_wait(epfd, batch, Int32(Self.batchSize)))
            if n <= 0 { break }
            for i in 0..<n {
                let token = batch[i].token
                let slot = Int(token & 0xFFFF_FFFF)
                guard generations[slot] == UInt32(truncatingIfNeeded: token >> 32), let t = slots[slot] else { continue }
                t.readiness(batch[i].flags)
            }
            more = n == Self.batchSize
            if !more { break }
        }
        runReadyList()
        inPass = false
        if more { queue.async { [self] in poll() } }
        if !ready.isEmpty { requestPass() }
    }

    /// One pass over what was ready before it began; what handlers re-queue waits for the next pass,
    /// so a reader that never reaches EAGAIN cannot keep the queue from its other work.
    private func runReadyList() {
        swap(&ready, &running)
        for t in running {
            t.scheduled = false
            t.service()
        }
        running.removeAll(keepingCapacity: true)
    }

    private func requestPass() {
        guard !passScheduled else { return }
        passScheduled = true
        queue.async { [self] in
            passScheduled = false
            inPass = true
            runReadyList()
            inPass = false
            if !ready.isEmpty { requestPass() }
        }
    }
}
