import Dispatch
import Foundation
import Interception
import Logging

/// Sets up one intercepted TLS tunnel, after the client's CONNECT was answered (or a transparent
/// TLS connection accepted) and the plan said `.intercept`:
///
/// 1. TLS to the upstream over the connected socket: SNI sent, certificate verified (system store
///    plus configured extra CAs, hostname or IP checked), session resumed when cached.
/// 2. A leaf for the client's SNI (or the CONNECT host), plus the upstream certificate's names,
///    from the leaf cache (minted off the event queue on a miss).
/// 3. TLS to the client with that leaf (ALPN http/1.1).
/// 4. Both TLS transports go to the HTTP pipeline. When the upstream was refused, the client's TLS
///    still completes so its requests get a readable 502 page, never a silent downgrade.
///
/// @unchecked Sendable: all state is confined to `queue` (the owning event loop); the leaf cache's
/// completion hops back onto it before touching anything.
final class InterceptedTunnel: @unchecked Sendable {
    enum Outcome {
        /// The client's TLS is up: run HTTP over it, to `upstream`, or answering 502 with
        /// `upstreamRefusal` when the upstream's TLS was refused.
        case established(client: TLSTransport, upstream: TLSTransport?, upstreamRefusal: TLSError?)
        /// The tunnel ended during setup (status for the access log; 0 when the client went away);
        /// all transports are closed.
        case ended(status: Int, reason: String)
    }

    private let settings: InterceptionSettings
    private let queue: DispatchQueue
    private let logger: Logger
    private let clientSocket: ByteTransport
    private let upstreamSocket: ByteTransport
    /// Name the client asked for: SNI, else the CONNECT host.
    let serverName: String
    private let port: UInt16
    private let sniPresent: Bool
    /// ClientHello bytes the gateway already read off the socket (after the CONNECT head).
    private let earlyClientBytes: [UInt8]
    private var upstream: TLSTransport?
    private var client: TLSTransport?
    private var upstreamFailure: TLSError?
    private var timer: DispatchSourceTimer?
    private var onDone: ((Outcome) -> Void)?

    init(settings: InterceptionSettings, queue: DispatchQueue, logger: Logger,
         client: ByteTransport, upstream: ByteTransport, connectHost: String, port: UInt16, sni: String?,
         earlyClientBytes: [UInt8] = []) {
        self.earlyClientBytes = earlyClientBytes
        self.settings = settings
        self.queue = queue
        self.logger = logger
        clientSocket = client
        upstreamSocket = upstream
        serverName = (sni?.isEmpty == false ? sni! : connectHost)
        sniPresent = sni?.isEmpty == false
        self.port = port
    }

    /// Starts the handshakes; `done` runs once on the queue. Setup must finish within `timeout`.
    func start(timeout: TimeInterval, _ done: @escaping (Outcome) -> Void) {
        onDone = done
        let t = DispatchSource.makeTimerSource(queue: queue)
        t.schedule(deadline: .now() + timeout)
        t.setEventHandler { [weak self] in self?.timedOut() }
        t.resume()
        timer = t
        let engine: TLSEngine
        do {
            engine = try TLSEngine(client: settings.upstreamContext(for: serverName, port: port, logger: logger),
                               host: serverName, port: Int(port))
        } catch {
            upstreamFailure = error
            settings.metrics.upstreamRefused.increment()
            logger.error("upstream TLS setup failed", metadata: ["host": "\(serverName)", "error": "\(error)"])
            upstreamSocket.close(abort: true)
            mintLeaf(upstreamNames: [])
            return
        }
        let transport = TLSTransport(engine: engine, inner: upstreamSocket, queue: queue)
        upstream = transport
        transport.handshake { [weak self] state in self?.upstreamHandshakeEnded(state) }
    }

    private func upstreamHandshakeEnded(_ state: TLSEngine.State) {
        guard onDone != nil, let upstream else { return }
        if state == .established {
            if upstream.engine.sessionReused { settings.metrics.upstreamResumed.increment() }
            mintLeaf(upstreamNames: upstream.engine.peerCertificateNames)
            return
        }
        let error: TLSError
        if case let .failed(failure) = state { error = failure } else { error = .closedDuringHandshake }
        upstreamFailure = error
        settings.metrics.upstreamRefused.increment()
        logger.warning("upstream TLS refused; the client gets 502 over the intercepted connection",
                       metadata: ["host": "\(serverName)", "port": "\(port)", "error": "\(error)"])
        upstream.close(abort: true)
        self.upstream = nil
        mintLeaf(upstreamNames: [])
    }

    private func mintLeaf(upstreamNames: [String]) {
        let names: LeafNames
        do {
            names = try LeafNames(primary: serverName, additional: upstreamNames)
        } catch {
            finish(.ended(status: 502, reason: "\(error)"))
            return
        }
        if let leaf = settings.leaves.cached(names) {
            startClientHandshake(leaf)
            return
        }
        settings.leaves.leaf(for: names) { [weak self, queue] result in
            queue.async { [weak self] in
                guard let self, self.onDone != nil else { return }
                switch result {
                case .success(let leaf): self.startClientHandshake(leaf)
                case .failure(let error): self.finish(.ended(status: 502, reason: "leaf minting failed: \(error)"))
                }
            }
        }
    }

    private func startClientHandshake(_ leaf: LeafCertificate) {
        guard onDone != nil else { return }
        settings.publishCacheStatistics()
        let engine: TLSEngine
        do {
            engine = try TLSEngine(server: settings.clientSide, leaf: leaf)
        } catch {
            finish(.ended(status: 502, reason: "\(error)"))
            return
        }
        if !earlyClientBytes.isEmpty { engine.feedCiphertext(earlyClientBytes) }
        let transport = TLSTransport(engine: engine, inner: clientSocket, queue: queue)
        client = transport
        transport.handshake { [weak self] state in self?.clientHandshakeEnded(state) }
    }

    private func clientHandshakeEnded(_ state: TLSEngine.State) {
        guard onDone != nil, let client else { return }
        guard state == .established else {
            settings.metrics.clientHandshakeFailed.increment()
            logger.debug("client TLS handshake ended", metadata: ["host": "\(serverName)", "state": "\(state)"])
            finish(.ended(status: 0, reason: "client TLS handshake: \(state)"))
            return
        }
        timer?.cancel()
        timer = nil
        if upstreamFailure == nil { settings.metrics.intercepted.increment() }
        let done = onDone
        onDone = nil
        done?(.established(client: client, upstream: upstream, upstreamRefusal: upstreamFailure))
    }

    private func timedOut() {
        guard onDone != nil else { return }
        logger.warning("TLS interception setup timed out", metadata: ["host": "\(serverName)", "port": "\(port)"])
        finish(.ended(status: 504, reason: "TLS handshake timed out"))
    }

    /// Ends setup: closes whatever is open (gracefully on the client when a page was sent).
    private func finish(_ outcome: Outcome) {
        guard let done = onDone else { return }
        onDone = nil
        timer?.cancel()
        timer = nil
        if let upstream { upstream.close(abort: true) } else { upstreamSocket.close(abort: true) }
        if let client { client.close(abort: true) } else { clientSocket.close(abort: true) }
        upstream = nil
        self.client = nil
        done(outcome)
    }
}
