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

enum IOResult {
    case bytes(Int)
    case wouldBlock
    case eof
    case failed(Int32)
}

/// A non-blocking socket driven by a DispatchSourceRead/Write pair.
/// @unchecked Sendable: all state is confined to `queue` (the owning event loop).
final class SocketTransport: ByteTransport, @unchecked Sendable {
    let fd: Int32
    private let queue: DispatchQueue
    private let readSource: DispatchSourceRead
    private var writeSource: DispatchSourceWrite?
    private var reading = false
    private var writing = false
    private var pending: [UInt8] = []
    private var pendingOffset = 0
    private var wantWritable = false
    private var shutdownAfterFlush = false
    private(set) var isClosed = false
    var onReadable: (() -> Void)?
    var onDrained: (() -> Void)?

    init(fd: Int32, queue: DispatchQueue) {
        self.fd = fd
        self.queue = queue
        let sources = CloseCounter(fd: fd)
        closeCounter = sources
        readSource = DispatchSource.makeReadSource(fileDescriptor: fd, queue: queue)
        readSource.setEventHandler { [unowned self] in self.onReadable?() }
        readSource.setCancelHandler { sources.release() }
    }
    private let closeCounter: CloseCounter

    var rawDescriptor: Int32? { fd }
    var socket: SocketTransport? { self }
    var hasPendingOutput: Bool { pendingOffset < pending.count }

    func read(into buffer: UnsafeMutableRawBufferPointer) -> IOResult {
        let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
        if n > 0 { return .bytes(n) }
        if n == 0 { return .eof }
        let e = errno
        if e == EAGAIN || e == EWOULDBLOCK || e == EINTR { return .wouldBlock }
        return .failed(e)
    }

    @discardableResult
    func send(_ bytes: UnsafeRawBufferPointer) -> Bool {
        if isClosed { return false }
        if bytes.isEmpty { return true }
        var off = 0
        if !hasPendingOutput {
            while off < bytes.count {
                let n = Glibc.send(fd, bytes.baseAddress! + off, bytes.count - off, Int32(MSG_NOSIGNAL))
                if n > 0 { off += n; continue }
                if n < 0 && errno == EINTR { continue }
                if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { break }
                return false
            }
            if off == bytes.count { return true }
            pending.removeAll(keepingCapacity: true)
            pendingOffset = 0
        }
        pending.append(contentsOf: bytes[off...])
        armWrite()
        return true
    }

    func pauseReading() {
        guard reading, !isClosed else { return }
        reading = false
        readSource.suspend()
    }

    func resumeReading() {
        guard !reading, !isClosed else { return }
        reading = true
        readSource.resume()
    }

    func requestWritable() {
        guard !isClosed else { return }
        wantWritable = true
        armWrite()
    }

    func shutdownOutput() {
        guard !isClosed else { return }
        if hasPendingOutput { shutdownAfterFlush = true } else { _ = shutdown(fd, Int32(SHUT_WR)) }
    }

    private func armWrite() {
        if writeSource == nil {
            let ws = DispatchSource.makeWriteSource(fileDescriptor: fd, queue: queue)
            ws.setEventHandler { [unowned self] in self.writable() }
            closeCounter.retain()
            let counter = closeCounter
            ws.setCancelHandler { counter.release() }
            writeSource = ws
        }
        if !writing { writing = true; writeSource!.resume() }
    }

    private func writable() {
        while hasPendingOutput {
            let n = pending.withUnsafeBytes { p in
                Glibc.send(fd, p.baseAddress! + pendingOffset, pending.count - pendingOffset, Int32(MSG_NOSIGNAL))
            }
            if n > 0 { pendingOffset += n; continue }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return }
            // The peer is gone; let the owner find out through its next read or send.
            pending.removeAll()
            pendingOffset = 0
            break
        }
        if pending.count > 65_536 { pending = [] } else { pending.removeAll(keepingCapacity: true) }
        pendingOffset = 0
        if writing { writing = false; writeSource?.suspend() }
        if shutdownAfterFlush { shutdownAfterFlush = false; _ = shutdown(fd, Int32(SHUT_WR)) }
        wantWritable = false
        onDrained?()
    }

    func close(abort: Bool) {
        guard !isClosed else { return }
        isClosed = true
        onReadable = nil
        onDrained = nil
        if abort {
            var l = linger(l_onoff: 1, l_linger: 0)
            _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, socklen_t(MemoryLayout<linger>.size))
        }
        // A suspended source must be resumed before it can be cancelled (and released).
        if !reading { readSource.resume() }
        readSource.cancel()
        if let ws = writeSource {
            if !writing { ws.resume() }
            ws.cancel()
        }
        reading = false
        writing = false
    }
}

/// Closes the descriptor once every dispatch source watching it has been cancelled,
/// so the kernel never reuses a number a live source still watches.
final class CloseCounter: @unchecked Sendable {
    // Touched only from cancel handlers on the one owning queue.
    private var count = 1
    private let fd: Int32
    init(fd: Int32) { self.fd = fd }
    func retain() { count += 1 }
    func release() {
        count -= 1
        if count == 0 { Glibc.close(fd) }
    }
}
