import CustomsCore
import Dispatch
import Foundation
import Wire
#if canImport(Glibc)
import Glibc
#endif

extension ClientConnection {
    /// `CONNECT host:port`: resolve, guard, ask the governor, connect, answer 200, then relay.
    func startTunnel(head: HTTPRequestHead, host: String, port: UInt16, user: String?) {
        let ex = Exchange(flowID: loop.nextFlowID(), head: head, scheme: "tunnel", host: host, port: port,
                          user: user, framing: .none, maxHeaderBytes: core.config.maxHeaderBytes)
        exchange = ex
        core.resolver.resolve(host, timeout: core.config.resolveTimeout, on: loop.queue) { r in
            guard self.exchange === ex else { return }
            switch self.guardDestinations(r, host: host) {
            case .failure(let refused):
                self.tunnelRefused(ex, ResponseBytes.text(refused.status, refused.message), outcome: .refused)
            case .success(let addrs):
                ex.candidates = addrs
                self.tunnelResolved(ex)
            }
        }
    }

    /// After the destination is known: the governor decides, then the tunnel opens.
    func tunnelPlanned(_ ex: Exchange, sni: String?, answer200: Bool) {
        var plan = core.config.interception == nil ? TunnelPlan.splice : .intercept
        if let governor = core.governor {
            let ctx = tunnelContext(ex, sni: sni)
            // A splice decided before the 200 stands when the ClientHello names the same host (the
            // tunnel rule was applied, TLS or not, and any monitor record written); asking again
            // would record it twice. Everything else is asked again with the SNI.
            if case .splice? = ex.preflight, sni == nil || sni == ex.host {
                plan = .splice
            } else {
                plan = governor.tunnel(for: ctx)
            }
        }
        carryOut(plan, ex, sni: sni, answer200: answer200)
    }

    /// The flow as the governor sees it, with whether the gateway can intercept it; kept on the exchange.
    func tunnelContext(_ ex: Exchange, sni: String?) -> FlowContext {
        var ctx = flowContext(ex, destination: ex.candidates[0], sni: sni)
        if core.config.interception != nil, case .intercept = interceptionAdjusted(.intercept, ex, sni: sni) {
            ctx.interceptable = true
        }
        ex.context = ctx
        return ctx
    }

    func carryOut(_ decided: TunnelPlan, _ ex: Exchange, sni: String?, answer200: Bool) {
        let plan = interceptionAdjusted(decided, ex, sni: sni)
        switch plan {
        case .respond(let r):
            tunnelRefused(ex, r, outcome: .blocked)
        case .respondWhenReady(let r, let ready):
            client.pauseReading()
            let queue = loop.queue
            ready {
                queue.async {
                    guard self.exchange === ex, self.phase != .closed else { return }
                    self.tunnelRefused(ex, r, outcome: .blocked)
                }
            }
        case .intercept:
            startInterception(ex, sni: sni)
        case .splice:
            connectUpstream(ex, fresh: true) { [unowned self] in self.openTunnel(ex, answer200: answer200) }
        }
    }

    func tunnelRefused(_ ex: Exchange, _ r: SyntheticResponse, outcome: GatewayMetrics.TunnelOutcome) {
        core.metrics.countTunnel(outcome)
        ex.status = r.status
        ex.outcome = outcome == .blocked ? .blocked : .refused
        if ex.rawTunnel && interception?.notTLS != true {
            // A TLS client past the 200 (or a transparent one) cannot read an HTTP answer: it just
            // sees the connection close. One that speaks plain HTTP inside the tunnel can.
            finishLog(ex)
            exchange = nil
            close()
            return
        }
        let bytes = ResponseBytes.make(r, keepAlive: false, via: core.config.via)
        ex.bytesDown = UInt64(bytes.count)
        finishLog(ex)
        sendFinal(bytes)
    }

    private func openTunnel(_ ex: Exchange, answer200: Bool) {
        guard let up = ex.upstream?.socket else { return }
        phase = .tunneling
        exchange = nil
        ex.status = 200
        core.metrics.activeTunnels.increment()
        setDeadline(.activity, max(core.config.idleTimeout * 5, 300))
        if answer200 {
            let ok = Array("HTTP/1.1 200 Connection established\r\nVia: \(core.config.via)\r\n\r\n".utf8)
            ok.withUnsafeBytes { _ = client.send($0) }
        }
        // Bytes the client sent right after the CONNECT head belong to the tunnel.
        if !headBuffer.isEmpty {
            headBuffer.withUnsafeBytes { _ = up.send($0) }
            ex.bytesUp += UInt64(headBuffer.count)
            headBuffer = []
        }
        guard let clientSocket = client.socket else { return }
        let idle = max(core.config.idleTimeout * 5, 300)
        let t = Tunnel(client: clientSocket, upstream: up, scratch: loop.scratch,
                       onActivity: { [unowned self] in self.setDeadline(.activity, idle) },
                       onFinish: { [unowned self] bytesUp, bytesDown, spliced, failed in
            ex.bytesUp += bytesUp
            ex.bytesDown += bytesDown
            ex.outcome = failed ? .error : .forwarded
            self.core.metrics.countTunnel(failed ? .error : (spliced ? .spliced : .relayed))
            self.core.metrics.bytesIn.increment(by: bytesUp)
            self.core.metrics.bytesOut.increment(by: bytesDown)
            self.core.metrics.activeTunnels.decrement()
            self.tunnel = nil
            self.finishLog(ex)
            self.close()
        })
        ex.upstream = nil
        tunnel = t
        t.start()
    }

    // MARK: transparent listeners

    /// Looks at the first bytes without consuming them: a TLS ClientHello gives the SNI and the
    /// connection becomes a tunnel to the original destination; anything else is read as HTTP.
    func peekTransparent() {
        guard let dst = originalDestination else {
            core.logger.debug("transparent connection without an original destination", metadata: ["client": "\(peerAddress)"])
            close()
            return
        }
        guard let socket = client.socket else { close(); return }
        let n = socket.peek(into: loop.scratch)
        if n == 0 { close(); return }
        if n < 0 { if errno != EAGAIN && errno != EINTR { close() }; return }
        let bytes = UnsafeRawBufferPointer(rebasing: loop.scratch[0..<n])
        let hello = parseClientHello(bytes)
        switch hello {
        case .notTLS:
            phase = .readingHead
            setDeadline(.header, core.config.headerTimeout)
            readPeekedHead()
        case .needMore:
            // The rest has not arrived; look again shortly instead of spinning on a readable socket.
            client.pauseReading()
            loop.queue.asyncAfter(deadline: .now() + .milliseconds(20)) { [weak self] in
                guard let self, self.phase == .peeking else { return }
                self.client.resumeReading()
            }
        case .malformed, .hello:
            var sni: String?
            if case .hello(let h) = hello { sni = h.serverName?.lowercased() }
            client.pauseReading()
            let host = sni ?? dst.0.description
            let head = transparentHead(host: host, port: dst.1)
            let ex = Exchange(flowID: loop.nextFlowID(), head: head, scheme: "tunnel", host: host, port: dst.1,
                              user: nil, framing: .none, maxHeaderBytes: core.config.maxHeaderBytes)
            ex.rawTunnel = true
            exchange = ex
            if let refusal = core.destinationGuard.check(dst.0) {
                tunnelRefused(ex, ResponseBytes.text(403, "refused: \(refusal)"), outcome: .refused)
                return
            }
            ex.candidates = [dst.0]
            phase = .preparing
            tunnelPlanned(ex, sni: sni, answer200: false)
        }
    }

    /// Reads the peeked bytes for real and carries on as a plain HTTP connection.
    private func readPeekedHead() {
        switch client.read(into: loop.scratch) {
        case .bytes(let n):
            core.metrics.bytesIn.increment(by: UInt64(n))
            headBuffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: loop.scratch[0..<n]))
            processHead()
        case .wouldBlock: break
        case .eof, .failed: close()
        }
    }

    /// A synthetic CONNECT head so transparent TLS flows are logged and planned like tunnels.
    private func transparentHead(host: String, port: UInt16) -> HTTPRequestHead {
        let authority = (host.utf8.contains(UInt8(ascii: ":")) ? "[\(host)]" : host) + ":\(port)"
        var headers = HTTPHeaders()
        headers.add("Host", authority)
        return HTTPRequestHead(method: "CONNECT", rawTarget: authority, target: .authority(host: host, port: port),
                               version: .http11, headers: headers)
    }
}
