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
    private var outgoing: [UInt8] = []
    private var readingWanted = false
    private var redeliveryScheduled = false
    private var plaintextDelivered = 0
    private var handshakeDone: ((TLSEngine.State) -> Void)?
    var onReadable: (() -> Void)?
    var onDrained: (() -> Void)?

    init(engine: TLSEngine, inner: ByteTransport, queue: DispatchQueue) {
        self.engine = engine
        self.inner = inner
        self.queue = queue
        scratch = .allocate(byteCount: 16_384, alignment: 16)
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

    @discardableResult
    private func flushCiphertext() -> Bool {
        guard engine.pendingCiphertextCount > 0 else { return true }
        outgoing.removeAll(keepingCapacity: true)
        engine.takeCiphertext(appendingTo: &outgoing)
        let ok = outgoing.withUnsafeBytes { inner.send($0) }
        if outgoing.capacity > 262_144 { outgoing = [] }
        return ok
    }

    private func innerReadable() {
        // Bounded so one busy connection cannot starve the rest of the queue.
        for _ in 0..<16 {
            switch inner.read(into: scratch) {
            case .bytes(let n):
                engine.feedCiphertext(UnsafeRawBufferPointer(rebasing: scratch[0..<n]))
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
        let before = plaintextDelivered
        onReadable?()
        if readingWanted, plaintextDelivered != before, engine.hasBufferedInput { scheduleRedelivery() }
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
