import CustomsCore
import Dispatch
import Foundation
import Interception
import Wire
#if canImport(Glibc)
import Glibc
#endif

/// Interception state of one client connection. On the outer (CONNECT) connection it carries the
/// ClientHello peek and the setup; on the inner connection — the one that runs HTTP over the
/// client's TLS — it carries the origin and the upstream TLS connection kept between requests.
/// Confined to the connection's queue.
final class ConnectionInterception {
    /// Where requests inside the tunnel go; set on the inner connection only.
    struct Origin {
        let host: String
        let port: UInt16
        let destination: IPAddress
        /// The name the upstream certificate is checked against (SNI, else the CONNECT host).
        let serverName: String
        let sni: String?
        let user: String?
        let settings: InterceptionSettings
        /// Set when the upstream's TLS was refused: every request is answered 502 with this.
        let upstreamRefusal: String?
    }

    var origin: Origin?
    /// The CONNECT peek saw something other than a TLS ClientHello (then the tunnel is spliced).
    var notTLS = false
    var setup: InterceptedTunnel?
    var idleUpstream: TLSTransport?
    /// The kept upstream is the one opened during setup and has not served a request yet.
    var idleUpstreamIsFresh = false

    func closeIdleUpstream() {
        idleUpstream?.close(abort: false)
        idleUpstream = nil
    }
}

extension ClientConnection {
    // MARK: outer connection: CONNECT → peek → plan → intercept

    /// CONNECT resolved and allowed. With interception on, the client gets 200 first, so its
    /// ClientHello (and SNI) is known before the final plan is made; otherwise plan straight away.
    /// A refusal the CONNECT host alone decides is answered before the 200, as an HTTP 451 the
    /// client can read.
    func tunnelResolved(_ ex: Exchange) {
        guard core.config.interception != nil else {
            tunnelPlanned(ex, sni: nil, answer200: true)
            return
        }
        if let governor = core.governor {
            let plan = governor.tunnel(for: tunnelContext(ex, sni: nil))
            switch plan {
            case .respond, .respondWhenReady:
                carryOut(plan, ex, sni: nil, answer200: true)
                return
            case .splice, .intercept:
                ex.preflight = plan
            }
        }
        let ok = Array("HTTP/1.1 200 Connection established\r\nVia: \(core.config.via)\r\n\r\n".utf8)
        ok.withUnsafeBytes { _ = client.send($0) }
        // From here on the client speaks TLS: a refusal can only close the connection.
        ex.rawTunnel = true
        interception = ConnectionInterception()
        setDeadline(.peek, core.config.headerTimeout)
        client.onReadable = { [unowned self] in self.peekConnectHello(ex) }
        client.resumeReading()
        peekConnectHello(ex)
    }

    private func peekConnectHello(_ ex: Exchange) {
        guard exchange === ex, phase == .preparing, let socket = client.socket else { return }
        // Bytes read together with the CONNECT head come first.
        let early = headBuffer.count
        let room = min(loop.scratch.count, 16_384)
        if early > 0 {
            headBuffer.prefix(room).withUnsafeBytes { loop.scratch.copyMemory(from: $0) }
        }
        var total = min(early, room)
        if total < room {
            let n = socket.peek(into: UnsafeMutableRawBufferPointer(rebasing: loop.scratch[total..<room]))
            if n == 0 && total == 0 { close(); return }
            if n < 0 && errno != EAGAIN && errno != EINTR { close(); return }
            total += max(0, n)
        }
        guard total > 0 else { return }
        let bytes = UnsafeRawBufferPointer(rebasing: loop.scratch[0..<total])
        var sni: String?
        switch parseClientHello(bytes) {
        case .needMore:
            if total >= room { break }
            // A client that sent part of a hello and hung up will never send the rest.
            let rdhup: Int16 = 0x2000  // POLLRDHUP (a GNU extension Glibc's Swift overlay does not export)
            var probe = pollfd(fd: socket.fd, events: rdhup, revents: 0)
            if poll(&probe, 1, 0) == 1, probe.revents & rdhup != 0 {
                close()
                return
            }
            // The rest is on its way; look again shortly rather than spin on a readable socket.
            client.pauseReading()
            loop.queue.asyncAfter(deadline: .now() + .milliseconds(10)) { [weak self] in
                guard let self, self.exchange === ex, self.phase == .preparing else { return }
                self.client.resumeReading()
            }
            return
        case .hello(let hello):
            sni = hello.serverName?.lowercased()
        case .notTLS, .malformed:
            interception?.notTLS = true
        }
        client.pauseReading()
        setDeadline(.none, 0)
        tunnelPlanned(ex, sni: sni, answer200: false)
    }

    /// The no-intercept list and non-TLS tunnels force a splice whatever the plan said.
    func interceptionAdjusted(_ plan: TunnelPlan, _ ex: Exchange, sni: String?) -> TunnelPlan {
        guard case .intercept = plan, let settings = core.config.interception else { return plan }
        if interception?.notTLS == true { return .splice }
        if settings.noIntercept.matches(ex.host) { return .splice }
        if let sni, settings.noIntercept.matches(sni) { return .splice }
        return plan
    }

    func startInterception(_ ex: Exchange, sni: String?) {
        guard let settings = core.config.interception else {
            tunnelRefused(ex, ResponseBytes.text(501, "interception not configured"), outcome: .error)
            return
        }
        connectUpstream(ex, fresh: true) { [unowned self] in self.interceptConnected(ex, settings, sni: sni) }
    }

    private func interceptConnected(_ ex: Exchange, _ settings: InterceptionSettings, sni: String?) {
        guard exchange === ex, let up = ex.upstream else { return }
        ex.upstream = nil
        phase = .tunneling
        setDeadline(.none, 0)
        let early = headBuffer
        headBuffer = []
        let state = interception ?? ConnectionInterception()
        interception = state
        let setup = InterceptedTunnel(settings: settings, queue: loop.queue, logger: core.logger,
                                      client: client, upstream: up, connectHost: ex.host, port: ex.port, sni: sni,
                                      earlyClientBytes: early)
        state.setup = setup
        let destination = ex.upstreamSlot?.key.address ?? ex.candidates[0]
        setup.start(timeout: core.config.connectTimeout + core.config.headerTimeout) { [unowned self] outcome in
            state.setup = nil
            switch outcome {
            case let .ended(status, reason):
                ex.status = status == 0 ? 499 : status
                ex.outcome = .error
                self.core.metrics.countTunnel(.error)
                self.finishLog(ex)
                self.core.logger.debug("interception ended during setup", metadata: ["host": "\(ex.host)", "reason": "\(reason)"])
                // The setup closes (or drains, then closes) the sockets itself.
                self.detachFromTransports(connectionEnded: true)
            case let .established(clientTLS, upstreamTLS, refusal):
                ex.status = refusal == nil ? 200 : 502
                ex.outcome = refusal == nil ? .forwarded : .error
                self.core.metrics.countTunnel(refusal == nil ? .relayed : .error)
                self.finishLog(ex)
                let inner = ClientConnection(core: self.core, loop: self.loop, client: clientTLS,
                                             peer: (self.peerAddress, self.peerPort),
                                             originalDestination: nil, transparent: false)
                let innerState = ConnectionInterception()
                innerState.origin = ConnectionInterception.Origin(
                    host: ex.host, port: ex.port, destination: destination, serverName: setup.serverName,
                    sni: sni, user: ex.user, settings: settings,
                    upstreamRefusal: refusal.map { "Customs refused the upstream TLS connection to \(setup.serverName): \($0)" })
                if let upstreamTLS { inner.keepIdle(upstreamTLS, innerState) }
                innerState.idleUpstreamIsFresh = true
                inner.interception = innerState
                self.detachFromTransports(connectionEnded: false)
                inner.start()
            }
        }
    }

    /// The transports now belong to someone else (the setup, or the inner connection): leave the
    /// loop without closing them. The connection count moves to the inner connection, if any.
    private func detachFromTransports(connectionEnded: Bool) {
        exchange = nil
        phase = .closed
        deadlineKind = .none
        loop.unregister(self)
        if connectionEnded {
            core.activeConnections.subtract(1, ordering: .relaxed)
            core.metrics.activeConnections.decrement()
        }
    }

    // MARK: inner connection: HTTP over the client's TLS

    func startInterceptedRequest(_ head: HTTPRequestHead, _ origin: ConnectionInterception.Origin) {
        if let refusal = origin.upstreamRefusal {
            refuseRequest(head, 502, refusal, user: origin.user)
            return
        }
        switch head.target {
        case .origin:
            break
        case .absolute(_, let h, let p, _) where h == origin.host && p == origin.port:
            break
        default:
            refuseRequest(head, 400, "inside a tunnel to \(origin.host) requests must be for that host", user: origin.user)
            return
        }
        let framing: BodyFraming
        do { framing = try requestBodyFraming(head) } catch {
            refuseRequest(head, error.status, error.message, user: origin.user)
            return
        }
        let ex = Exchange(flowID: loop.nextFlowID(), head: head, scheme: "https", host: origin.host, port: origin.port,
                          user: origin.user, framing: framing, maxHeaderBytes: core.config.maxHeaderBytes)
        exchange = ex
        destinationsResolved(ex, .success([origin.destination]))
    }

    /// The upstream for a request inside the tunnel: the TLS connection kept from the previous
    /// request when it is still good, else a new one (verified again, session resumed).
    func connectInterceptedUpstream(_ ex: Exchange, _ origin: ConnectionInterception.Origin, fresh: Bool,
                                    _ then: @escaping () -> Void) {
        ex.upstreamSlot = loop.pool.slot(for: UpstreamPool.Key(address: origin.destination, port: origin.port))
        if let state = interception, let kept = state.idleUpstream {
            state.idleUpstream = nil
            if !fresh, !kept.isClosed, kept.engine.state == .established {
                ex.upstream = kept
                ex.reusedUpstream = !state.idleUpstreamIsFresh
                if ex.reusedUpstream { core.metrics.upstreamReused.increment() }
                state.idleUpstreamIsFresh = false
                attachUpstream(kept)
                then()
                return
            }
            kept.close(abort: false)
        }
        ex.reusedUpstream = false
        ex.connectStarted = DispatchTime.now().uptimeNanoseconds
        guard case .success(let fd) = Socket.startConnect(origin.destination, port: origin.port) else {
            upstreamFailed(status: 502, "cannot connect to \(origin.host) port \(origin.port)")
            return
        }
        let socket = SocketTransport(fd: fd, poller: loop.poller)
        ex.upstream = socket
        setDeadline(.connect, core.config.connectTimeout)
        socket.onDrained = { [unowned self, unowned socket] in
            guard self.exchange === ex, ex.upstream === socket else { return }
            if Socket.connectError(fd) != 0 {
                self.upstreamFailed(status: 502, "cannot connect to \(origin.host) port \(origin.port)")
                return
            }
            let engine: TLSEngine
            do {
                let context = origin.settings.upstreamContext(for: origin.serverName, port: origin.port, logger: self.core.logger)
                engine = try TLSEngine(client: context, host: origin.serverName, port: Int(origin.port))
            } catch {
                self.upstreamFailed(status: 502, "upstream TLS to \(origin.serverName): \(error)")
                return
            }
            let tls = TLSTransport(engine: engine, inner: socket, queue: self.loop.queue)
            ex.upstream = tls
            tls.handshake { [unowned self] state in
                guard self.exchange === ex, ex.upstream === tls else { return }
                guard state == .established else {
                    origin.settings.metrics.upstreamRefused.increment()
                    self.core.logger.warning("upstream TLS refused", metadata: ["host": "\(origin.serverName)", "state": "\(state)"])
                    let reason: String
                    if case .failed(let error) = state { reason = "\(error)" } else { reason = "connection closed during the TLS handshake" }
                    self.upstreamFailed(status: 502, "Customs refused the upstream TLS connection: \(reason)")
                    return
                }
                if engine.sessionReused { origin.settings.metrics.upstreamResumed.increment() }
                self.upstreamConnected(ex, tls, then)
            }
        }
        socket.requestWritable()
    }

    /// Keeps the upstream TLS connection between requests, still reading: TLS housekeeping (session
    /// tickets) is absorbed, but application data or a close means the server is done with it.
    func keepIdle(_ tls: TLSTransport, _ state: ConnectionInterception) {
        state.idleUpstream = tls
        tls.onDrained = nil
        tls.onReadable = { [unowned self, unowned tls, unowned state] in
            guard state.idleUpstream === tls else { return }
            if case .wouldBlock = tls.read(into: self.loop.scratch) { return }
            state.idleUpstream = nil
            tls.close(abort: false)
        }
        tls.resumeReading()
    }

    /// After a response: keep the upstream for the next request (intercepted connections keep
    /// their own TLS upstream; plain ones use the pool) or close it.
    func releaseUpstream(_ up: ByteTransport, reusable: Bool, slot: UpstreamPool.Slot?, abort: Bool) {
        if let state = interception, state.origin != nil {
            if reusable, let tls = up as? TLSTransport {
                state.idleUpstream?.close(abort: false)
                keepIdle(tls, state)
            } else {
                up.close(abort: abort)
            }
            return
        }
        if reusable, let slot, let socket = up.socket {
            loop.pool.checkin(socket, slot: slot)
        } else {
            up.close(abort: abort)
        }
    }
}
