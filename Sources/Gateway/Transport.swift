import CShims
import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// The byte transport the HTTP pipeline runs over.
///
/// The pipeline (ClientConnection, the upstream side of an exchange) only ever talks to a
/// `ByteTransport`: it reads what is available into a caller's buffer, hands bytes to `send`
/// (which writes what the kernel takes and keeps the rest until `onDrained`), and pauses or resumes
/// reading for backpressure. Everything happens on the owning event queue. Today the only
/// implementation is a plain non-blocking socket; an intercepted TLS connection supplies a TLS
/// transport on both sides and runs the same pipeline unchanged. `rawDescriptor` is non-nil only when
/// bytes on the wire are the application bytes, which is what lets tunnels use splice(2).
protocol ByteTransport: AnyObject {
    /// Called on the owning queue when bytes (or end of stream) can be read and reading is not paused.
    var onReadable: (() -> Void)? { get set }
    /// Called on the owning queue once output kept by `send` has been written, or after
    /// `requestWritable()` when the transport can take more bytes.
    var onDrained: (() -> Void)? { get set }
    func read(into buffer: UnsafeMutableRawBufferPointer) -> IOResult
    /// Writes now what can be written and keeps the rest (so callers should pause their source
    /// while `hasPendingOutput`). Returns false when the transport is broken.
    @discardableResult func send(_ bytes: UnsafeRawBufferPointer) -> Bool
    /// `send(first)` then `send(second)`, in one write where the transport can.
    @discardableResult func send(_ first: UnsafeRawBufferPointer, then second: UnsafeRawBufferPointer) -> Bool
    var hasPendingOutput: Bool { get }
    func pauseReading()
    func resumeReading()
    /// Asks for `onDrained` when the transport is writable (used by splice and by connect).
    func requestWritable()
    /// Sends FIN after pending output (half-close).
    func shutdownOutput()
    /// Releases the transport. `abort` resets the connection (SO_LINGER 0) so a partial request never completes.
    func close(abort: Bool)
    var rawDescriptor: Int32? { get }
    var isClosed: Bool { get }
    /// The plain socket behind this transport, if it is one (pooling, splice): a witness call
    /// instead of a dynamic cast on every exchange.
    var socket: SocketTransport? { get }
}

extension ByteTransport {
    @discardableResult
    func send(_ first: UnsafeRawBufferPointer, then second: UnsafeRawBufferPointer) -> Bool {
        send(first) && send(second)
    }
}

enum IOResult {
    case bytes(Int)
    case wouldBlock
    case eof
    case failed(Int32)
}

/// A non-blocking socket whose readiness comes from its event loop's `EventPoller`.
///
/// The poller reports edges; this class keeps what they imply: `readReady` from an input edge until
/// a read finds the socket empty (EAGAIN, or a short read before the peer closed: data arriving
/// later is a new edge, but an end of stream already queued behind the data is not), and
/// `writeReady` from an output edge until a write finds it full. While either holds and someone
/// wants it, the poller services the socket again, which gives callers the level-triggered
/// behaviour they were written for (read one chunk per `onReadable`, pause, resume later).
/// Callbacks always run from the poller, never from inside the call that made them due.
/// @unchecked Sendable: all state is confined to the poller's queue (the owning event loop).
final class SocketTransport: ByteTransport, @unchecked Sendable {
    let fd: Int32
    private let poller: EventPoller
    /// Nil when epoll refused the socket: it then reports itself broken on first use.
    private(set) var token: UInt64?
    private var registrationError: Int32 = 0
    private var readReady = false
    /// End of stream (or an error) is known to be waiting behind whatever input is left.
    private var peerClosed = false
    private var writeReady = false
    private var reading = false
    private var pending: [UInt8] = []
    private var pendingOffset = 0
    private var wantWritable = false
    private var shutdownAfterFlush = false
    /// On the poller's ready list (managed by the poller).
    var scheduled = false
    private(set) var isClosed = false
    var onReadable: (() -> Void)?
    var onDrained: (() -> Void)?
    /// The upstream pool's: the slot this connection idles in, and its readable handler while idle.
    var idleSlot: UpstreamPool.Slot?
    var idleWatch: (() -> Void)?

    init(fd: Int32, poller: EventPoller) {
        self.fd = fd
        self.poller = poller
        token = poller.register(self)
        if token == nil {
            registrationError = errno
            readReady = true
            writeReady = true
        }
    }

    var rawDescriptor: Int32? { fd }
    var socket: SocketTransport? { self }
    var hasPendingOutput: Bool { pendingOffset < pending.count }

    func read(into buffer: UnsafeMutableRawBufferPointer) -> IOResult {
        if isClosed { return .failed(EBADF) }
        if registrationError != 0 { return .failed(registrationError) }
        let n = customs_read(fd, buffer.baseAddress, buffer.count)
        if n > 0 {
            if n < buffer.count && !peerClosed { readReady = false }
            return .bytes(n)
        }
        if n == 0 { return .eof }
        let e = errno
        if e == EINTR { return .wouldBlock }
        if e == EAGAIN || e == EWOULDBLOCK { readReady = false; return .wouldBlock }
        return .failed(e)
    }

    /// Looks at waiting input without consuming it (recv with MSG_PEEK). Returns what recv(2) returns.
    func peek(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        if isClosed { errno = EBADF; return -1 }
        let n = recv(fd, buffer.baseAddress, buffer.count, Int32(MSG_PEEK))
        if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { readReady = false }
        return n
    }

    /// Moves up to `count` bytes from the socket into a pipe (tunnels). Returns what splice(2) returns.
    func splice(toPipe pipe: Int32, count: Int) -> Int {
        if isClosed { errno = EBADF; return -1 }
        let n = customs_splice(fd, pipe, count)
        // Only EAGAIN says the socket is empty: a short splice may have been limited by the pipe.
        if n < 0 && errno == EAGAIN { readReady = false }
        return n
    }

    /// Moves up to `count` bytes from a pipe into the socket (tunnels). Returns what splice(2) returns.
    func splice(fromPipe pipe: Int32, count: Int) -> Int {
        if isClosed { errno = EBADF; return -1 }
        let n = customs_splice(pipe, fd, count)
        if n < 0 && errno == EAGAIN { writeReady = false }
        return n
    }

    @discardableResult
    func send(_ bytes: UnsafeRawBufferPointer) -> Bool {
        if isClosed || registrationError != 0 { return false }
        if bytes.isEmpty { return true }
        var off = 0
        if !hasPendingOutput {
            while off < bytes.count {
                let n = customs_send(fd, bytes.baseAddress! + off, bytes.count - off)
                if n > 0 { off += n; continue }
                if n < 0 && errno == EINTR { continue }
                if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { writeReady = false; break }
                return false
            }
            if off == bytes.count { return true }
            pending.removeAll(keepingCapacity: true)
            pendingOffset = 0
        }
        pending.append(contentsOf: bytes[off...])
        // Kept output goes out when the next output edge comes (or now, if one came since).
        if writeReady { poller.schedule(self) }
        return true
    }

    @discardableResult
    func send(_ first: UnsafeRawBufferPointer, then second: UnsafeRawBufferPointer) -> Bool {
        if first.isEmpty || second.isEmpty || hasPendingOutput { return send(first) && send(second) }
        if isClosed || registrationError != 0 { return false }
        var n: Int
        repeat {
            n = customs_send2(fd, first.baseAddress!, first.count, second.baseAddress!, second.count)
        } while n < 0 && errno == EINTR
        if n < 0 {
            guard errno == EAGAIN || errno == EWOULDBLOCK else { return false }
            writeReady = false
            n = 0
        }
        // What the kernel did not take goes through the one-buffer path, which keeps it in order.
        if n < first.count {
            return send(UnsafeRawBufferPointer(rebasing: first[n...])) && send(second)
        }
        return send(UnsafeRawBufferPointer(rebasing: second[(n - first.count)...]))
    }

    func pauseReading() {
        reading = false
    }

    func resumeReading() {
        guard !reading, !isClosed else { return }
        reading = true
        // The input edge may have come while paused; it will not come again.
        if readReady { poller.schedule(self) }
    }

    func requestWritable() {
        guard !isClosed else { return }
        wantWritable = true
        if writeReady { poller.schedule(self) }
    }

    func shutdownOutput() {
        guard !isClosed else { return }
        if hasPendingOutput { shutdownAfterFlush = true } else { _ = shutdown(fd, Int32(SHUT_WR)) }
    }

    // MARK: driven by the poller

    /// Records an edge and services the socket.
    func readiness(_ flags: UInt32) {
        if flags & CUSTOMS_READABLE != 0 { readReady = true }
        if flags & CUSTOMS_PEER_CLOSED != 0 { peerClosed = true }
        if flags & CUSTOMS_WRITABLE != 0 { writeReady = true }
        service()
    }

    /// Runs what readiness allows: flushing kept output (then `onDrained`), then `onReadable`;
    /// comes back later while input is still known to be waiting and wanted.
    func service() {
        guard !isClosed else { return }
        if writeReady && (hasPendingOutput || wantWritable) { writable() }
        guard !isClosed, readReady, reading else { return }
        onReadable?()
        if !isClosed && readReady && reading { poller.schedule(self) }
    }

    private func writable() {
        while hasPendingOutput {
            let n = pending.withUnsafeBytes { p in
                customs_send(fd, p.baseAddress! + pendingOffset, pending.count - pendingOffset)
            }
            if n > 0 { pendingOffset += n; continue }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { writeReady = false; return }
            // The peer is gone; let the owner find out through its next read or send.
            pending.removeAll()
            pendingOffset = 0
            break
        }
        if pending.count > 65_536 { pending = [] } else { pending.removeAll(keepingCapacity: true) }
        pendingOffset = 0
        if shutdownAfterFlush { shutdownAfterFlush = false; _ = shutdown(fd, Int32(SHUT_WR)) }
        wantWritable = false
        onDrained?()
    }

    func close(abort: Bool) {
        guard !isClosed else { return }
        isClosed = true
        onReadable = nil
        onDrained = nil
        idleSlot = nil
        idleWatch = nil
        reading = false
        if abort {
            var l = linger(l_onoff: 1, l_linger: 0)
            _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, socklen_t(MemoryLayout<linger>.size))
        }
        // Out of epoll before the number can be reused; events already collected for this token are
        // dropped by the poller, and the ready list skips closed transports.
        if let token { poller.deregister(self, token: token) }
        token = nil
        Glibc.close(fd)
    }
}
