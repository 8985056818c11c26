import Dispatch
import Interception
#if canImport(Glibc)
import Glibc
#endif

/// A `ByteTransport` that speaks TLS over another transport (the socket): ciphertext moves between
/// the inner transport and a memory-BIO `TLSEngine`, plaintext between the engine and the HTTP
/// pipeline, which runs unchanged on top. `rawDescriptor` is nil, so nothing splices past it.
/// @unchecked Sendable: all state is confined to `queue` (the owning event loop).
final class TLSTransport: ByteTransport, @unchecked Sendable {
    let engine: TLSEngine
    let inner: ByteTransport
    private let queue: DispatchQueue
    private let scratch: UnsafeMutableRawBufferPointer
    private var readingWanted = false
    private var redeliveryScheduled = false
    private var plaintextDelivered = 0
    private var handshakeDone: ((TLSEngine.State) -> Void)?
    var onReadable: (() -> Void)?
    var onDrained: (() -> Void)?

    /// Ciphertext held in the engine before the socket is left unread (the reader's backpressure).
    static let maxBufferedInput = 262_144

    init(engine: TLSEngine, inner: ByteTransport, queue: DispatchQueue) {
        self.engine = engine
        self.inner = inner
        self.queue = queue
        scratch = .allocate(byteCount: 32_768, alignment: 16)
        inner.onReadable = { [unowned self] in self.innerReadable() }
        inner.onDrained = { [unowned self] in self.onDrained?() }
    }

    deinit { scratch.deallocate() }

    /// Drives the handshake; `done` runs once with `.established` or `.failed`/`.closed`.
    /// Any alert OpenSSL produced on failure has been sent by then.
    func handshake(_ done: @escaping (TLSEngine.State) -> Void) {
        handshakeDone = done
        flushCiphertext()
        inner.resumeReading()
        checkHandshake()
    }

    var rawDescriptor: Int32? { nil }
    var socket: SocketTransport? { nil }
    var isClosed: Bool { inner.isClosed }
    var hasPendingOutput: Bool { inner.hasPendingOutput }

    func read(into buffer: UnsafeMutableRawBufferPointer) -> IOResult {
        let n = engine.readPlaintext(into: buffer)
        flushCiphertext()  // key updates and alerts produced while reading
        if n > 0 {
            plaintextDelivered &+= n
            return .bytes(n)
        }
        switch engine.state {
        case .closed: return .eof
        case .failed: return .failed(EPROTO)
        case .handshaking, .established: return .wouldBlock
        }
    }

    @discardableResult
    func send(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard !inner.isClosed, engine.state == .established else { return false }
        if engine.writePlaintext(bytes) != bytes.count { return false }
        return flushCiphertext()
    }

    /// Both pieces go into the engine before any ciphertext leaves, so a held request (head, then
    /// body) reaches the socket in one write instead of one per piece.
    @discardableResult
    func send(_ first: UnsafeRawBufferPointer, then second: UnsafeRawBufferPointer) -> Bool {
        guard !inner.isClosed, engine.state == .established else { return false }
        if engine.writePlaintext(first) != first.count { return false }
        if engine.writePlaintext(second) != second.count { return false }
        return flushCiphertext()
    }

    func pauseReading() {
        readingWanted = false
        inner.pauseReading()
    }

    func resumeReading() {
        readingWanted = true
        inner.resumeReading()
        // Records already decrypted inside the engine will not make the socket readable again.
        if engine.hasBufferedInput { scheduleRedelivery() }
    }

    func requestWritable() { inner.requestWritable() }

    func shutdownOutput() {
        engine.close()
        flushCiphertext()
        inner.shutdownOutput()
    }

    func close(abort: Bool) {
        if !abort, !inner.isClosed {
            engine.close()
            flushCiphertext()
        }
        onReadable = nil
        onDrained = nil
        handshakeDone = nil
        inner.close(abort: abort)
    }

    // MARK: ciphertext side

    /// Moves what the engine produced to the socket through the scratch buffer (input is never
    /// in it at the same time: feeding happens before, reading plaintext uses the caller's buffer).
    @discardableResult
    private func flushCiphertext() -> Bool {
        while engine.pendingCiphertextCount > 0 {
            let n = engine.takeCiphertext(into: scratch)
            if n == 0 { break }
            if !inner.send(UnsafeRawBufferPointer(rebasing: scratch[0..<n])) { return false }
        }
        return true
    }

    private func innerReadable() {
        // Bounded so one busy connection cannot starve the rest of the queue, and so ciphertext
        // never piles up inside the engine faster than the reader takes plaintext out.
        for _ in 0..<16 where engine.pendingInputCount < Self.maxBufferedInput {
            switch inner.read(into: scratch) {
            case .bytes(let n):
                engine.feedCiphertext(UnsafeRawBufferPointer(rebasing: scratch[0..<n]))
                // A short read emptied the socket (the socket transport knows it, and comes back
                // for an end of stream queued behind the data): another read would only be EAGAIN.
                if n < scratch.count { break }
                continue
            case .wouldBlock:
                break
            case .eof, .failed:
                engine.feedEndOfStream()
                inner.pauseReading()
            }
            break
        }
        flushCiphertext()
        if handshakeDone != nil {
            checkHandshake()
        } else {
            deliverReadable()
        }
    }

    /// Tells the reader there is input, and comes back while the engine still holds some and the
    /// reader keeps taking it (a reader that takes nothing is waiting for something else).
    private func deliverReadable() {
        for _ in 0..<16 {
            let before = plaintextDelivered
            onReadable?()
            guard readingWanted, !inner.isClosed, plaintextDelivered != before, engine.hasBufferedInput else { return }
        }
        scheduleRedelivery()
    }

    private func checkHandshake() {
        guard let done = handshakeDone, engine.state != .handshaking else { return }
        handshakeDone = nil
        flushCiphertext()
        if engine.state != .established { inner.pauseReading() }
        done(engine.state)
    }

    private func scheduleRedelivery() {
        guard !redeliveryScheduled else { return }
        redeliveryScheduled = true
        queue.async { [weak self] in
            guard let self else { return }
            self.redeliveryScheduled = false
            if self.readingWanted, !self.inner.isClosed { self.deliverReadable() }
        }
    }
}
