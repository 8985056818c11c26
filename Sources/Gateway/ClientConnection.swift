import CustomsCore
import Dispatch
import Foundation
import Wire

/// One client connection and its explicit state machine:
///
///     readingHead → preparing (auth, resolve, guard, plan, connect) → exchanging
///         (request body streaming or held, response streaming) → readingHead (keep-alive) | lingering → closed
///     readingHead → preparing → tunneling → closed                (CONNECT)
///     peeking (transparent: TLS SNI or plain HTTP) → tunneling | readingHead
///
/// @unchecked Sendable: every field is confined to `loop.queue`, where all callbacks run.
final class ClientConnection: @unchecked Sendable {
    enum Phase {
        case peeking
        case readingHead
        case preparing
        case exchanging
        case tunneling
        case lingering
        case closed
    }
    enum Deadline { case none, idle, header, connect, response, activity, linger, peek }

    let core: GatewayCore
    let loop: EventLoop
    let client: ByteTransport
    let peerAddress: IPAddress
    let peerPort: UInt16
    let clientName: String?
    /// Set on transparent listeners: where the client meant to go before REDIRECT.
    let originalDestination: (IPAddress, UInt16)?
    let transparent: Bool

    var phase: Phase
    var parser: HeadParser
    /// The request head being assembled, then pipelined bytes waiting for their turn.
    var headBuffer: [UInt8] = []
    /// Bytes of an incomplete chunk-size line, presented again with the next read.
    var carry: [UInt8] = []
    var exchange: Exchange?
    var tunnel: Tunnel?
    var deadlineKind: Deadline = .none
    var deadlineAt: UInt64 = 0
    var peekStarted: UInt64 = 0
    /// Set while a CONNECT is being intercepted, and on the connection that then runs HTTP inside it.
    var interception: ConnectionInterception?
    /// A response head waiting for its first body bytes, and the upstream head of the exchange
    /// before: buffers kept (emptied, up to `keptBufferLimit`) from one exchange to the next, as
    /// each was an allocation and a free per request.
    var headOut: [UInt8] = []
    var spareUpstreamHead: [UInt8] = []
    static let keptBufferLimit = 4096
    /// The previous request's literal host and its address list: keep-alive clients nearly always
    /// ask for the same host again, and a new one-element list was an allocation per request.
    var lastLiteral: (host: String, addresses: [IPAddress])?

    // Callbacks made once per connection and handed to every exchange's transports (a closure per
    // exchange cost an allocation and its teardown per request). They act on the exchange in
    // progress; each handler still checks its state, as the per-exchange closures did.
    lazy var onUpstreamReadable: () -> Void = { [unowned self] in
        if let ex = self.exchange { self.upstreamReadable(ex) }
    }
    lazy var onUpstreamDrained: () -> Void = { [unowned self] in
        if let ex = self.exchange { self.upstreamDrained(ex) }
    }
    lazy var onClientDrainedDuringResponse: () -> Void = { [unowned self] in
        if let ex = self.exchange { self.clientDrained(ex) }
    }

    convenience init(core: GatewayCore, loop: EventLoop, fd: Int32, peer: (IPAddress, UInt16),
                     originalDestination: (IPAddress, UInt16)?, transparent: Bool) {
        self.init(core: core, loop: loop, client: SocketTransport(fd: fd, poller: loop.poller), peer: peer,
                  originalDestination: originalDestination, transparent: transparent)
    }

    init(core: GatewayCore, loop: EventLoop, client: ByteTransport, peer: (IPAddress, UInt16),
         originalDestination: (IPAddress, UInt16)?, transparent: Bool) {
        self.core = core
        self.loop = loop
        self.client = client
        self.peerAddress = peer.0
        self.peerPort = peer.1
        self.clientName = core.clientName(for: peer.0)
        self.originalDestination = originalDestination
        self.transparent = transparent
        self.parser = HeadParser(maxRequestLine: core.config.maxRequestLine, maxHeaderBytes: core.config.maxHeaderBytes)
        self.phase = transparent ? .peeking : .readingHead
    }

    func start() {
        loop.register(self)
        client.onReadable = { [unowned self] in self.clientReadable() }
        if transparent {
            peekStarted = DispatchTime.now().uptimeNanoseconds
            setDeadline(.peek, core.config.headerTimeout)
        } else {
            setDeadline(.idle, core.config.idleTimeout)
        }
        client.resumeReading()
    }

    // MARK: deadlines

    func setDeadline(_ kind: Deadline, _ seconds: Double) {
        deadlineKind = kind
        deadlineAt = kind == .none ? 0 : CoarseClock.nanoseconds() + UInt64(seconds * 1e9)
    }

    /// `now` is `CoarseClock.nanoseconds()`, the clock deadlines are set with.
    func checkDeadline(_ now: UInt64) {
        guard deadlineKind != .none, now >= deadlineAt else { return }
        let kind = deadlineKind
        deadlineKind = .none
        switch kind {
        case .none: break
        case .idle, .linger: close()
        case .peek: close()
        case .header:
            core.logger.debug("request head timed out", metadata: ["client": "\(peerAddress)"])
            refuse(408, "request head not received within \(Int(core.config.headerTimeout)) s")
        case .connect: upstreamFailed(status: 504, "upstream connect timed out")
        case .response: upstreamFailed(status: 504, "upstream did not respond within \(Int(core.config.responseTimeout)) s")
        case .activity: abort()
        }
    }

    // MARK: reading

    private func clientReadable() {
        switch phase {
        case .peeking: peekTransparent()
        case .readingHead: readHead()
        case .exchanging: readRequestBody()
        case .lingering: readAndDiscard()
        case .preparing, .tunneling, .closed: client.pauseReading()
        }
    }

    private func readHead() {
        let r = client.read(into: loop.scratch)
        switch r {
        case .wouldBlock: return
        case .eof, .failed:
            close()
            return
        case .bytes(let n):
            core.metrics.bytesIn.increment(by: UInt64(n))
            let piece = UnsafeRawBufferPointer(rebasing: loop.scratch[0..<n])
            if headBuffer.isEmpty {
                setDeadline(.header, core.config.headerTimeout)
                // Nearly every head arrives whole in one read: it is parsed where it landed, and
                // only what is left over (an unfinished head, a body's first bytes, a pipelined
                // request) is copied to `headBuffer`.
                processHead(landedIn: piece)
            } else {
                headBuffer.append(contentsOf: piece)
                processHead()
            }
        }
    }

    /// Parses what is buffered; starts the request when a whole head is there.
    func processHead() {
        let result: HeadParseResult<HTTPRequestHead>
        do {
            result = try headBuffer.withWireBytes { (p) throws(WireError) in try parser.parseRequest(p) }
        } catch {
            headRefused(error)
            return
        }
        guard case .complete(let head, let headerBytes) = result else {
            if deadlineKind != .header { setDeadline(.header, core.config.headerTimeout) }
            return
        }
        headBuffer.removeFirst(headerBytes)
        startRequest(head)
    }

    /// `processHead` for bytes still in the read buffer, with nothing buffered before them (the
    /// parser's offsets then hold for `headBuffer` too when the head is unfinished).
    private func processHead(landedIn piece: UnsafeRawBufferPointer) {
        let result: HeadParseResult<HTTPRequestHead>
        do {
            result = try parser.parseRequest(piece)
        } catch {
            headRefused(error)
            return
        }
        // Consumed, so the head moves on to the exchange rather than being copied out of `result`.
        switch consume result {
        case .incomplete:
            headBuffer.append(contentsOf: piece)
        case .complete(let head, let headerBytes):
            if headerBytes < piece.count {
                headBuffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: piece[headerBytes...]))
            }
            startRequest(head)
        }
    }

    private func headRefused(_ error: WireError) {
        core.metrics.countRequest(status: error.status, outcome: .refused)
        logRefusal(status: error.status, method: "-", host: "-", port: 0, path: "")
        refuse(error.status, error.message)
    }

    private func readAndDiscard() {
        switch client.read(into: loop.scratch) {
        case .bytes: return
        case .wouldBlock: return
        case .eof, .failed: close()
        }
    }

    // MARK: ending

    /// Sends an error page and closes the connection once it is written.
    func refuse(_ status: Int, _ message: String, headers: [(name: String, value: String)] = []) {
        var r = ResponseBytes.text(status, message)
        r.headers += headers
        sendFinal(ResponseBytes.make(r, keepAlive: false, via: core.config.via))
    }

    /// Writes `bytes` and then closes gracefully (half-close, drain what the client still sends, close).
    func sendFinal(_ bytes: [UInt8]) {
        guard phase != .closed else { return }
        exchange?.abortUpstream()
        exchange = nil
        bytes.withUnsafeBytes { _ = client.send($0) }
        core.metrics.bytesOut.increment(by: UInt64(bytes.count))
        lingerClose()
    }

    func lingerClose() {
        guard phase != .closed, phase != .lingering else { return }
        phase = .lingering
        headBuffer = []
        carry = []
        // Read and drop what the client still sends, so closing never resets a response it has not read.
        client.resumeReading()
        if client.hasPendingOutput {
            setDeadline(.linger, core.config.idleTimeout)
            client.onDrained = { [unowned self] in
                self.client.shutdownOutput()
                self.setDeadline(.linger, 2)
            }
        } else {
            client.onDrained = nil
            client.shutdownOutput()
            setDeadline(.linger, 2)
        }
    }

    /// Ends the connection now (no more bytes to the client).
    func abort() {
        if let t = tunnel {
            tunnel = nil
            t.terminate()
        }
        close()
    }

    func close() {
        guard phase != .closed else { return }
        if let ex = exchange {
            exchange = nil
            ex.abortUpstream()
            if !ex.logged {
                ex.outcome = .error
                if ex.status == 0 { ex.status = 499 }
                finishLog(ex)
            }
        }
        phase = .closed
        deadlineKind = .none
        interception?.closeIdleUpstream()
        client.close(abort: false)
        loop.unregister(self)
        core.activeConnections.subtract(1, ordering: .relaxed)
        core.metrics.activeConnections.decrement()
    }

    /// Shutdown began: connections between requests close now, the rest after their current exchange.
    func drain() {
        if phase == .readingHead && headBuffer.isEmpty { close() }
    }

    // MARK: identity and logging

    func identity(user: String?) -> ClientIdentity {
        ClientIdentity(address: peerAddress, port: peerPort, name: clientName, user: user)
    }

    func logRefusal(status: Int, method: String, host: String, port: UInt16, path: String, user: String? = nil,
                    flowID: FlowID? = nil, outcome: String = "refused") {
        core.accessLog?.append(AccessRecord(
            time: Date(), flowID: flowID ?? loop.nextFlowID(), client: identity(user: user), method: method,
            scheme: "http", host: host, port: port, path: path, status: status, bytesIn: 0, bytesOut: 0,
            durationMs: 0, upstreamConnectMs: nil, upstream: nil, outcome: outcome))
    }
}
