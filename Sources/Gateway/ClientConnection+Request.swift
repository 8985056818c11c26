import CShims
import CustomsCore
import Dispatch
import Foundation
import Wire

extension ClientConnection {
    // MARK: request head → plan

    func startRequest(_ head: consuming HTTPRequestHead) {
        // Reading is paused lazily (on the next readable event in a phase that does not read):
        // a suspend/resume pair per request costs two epoll updates on the dispatch manager thread.
        phase = .preparing
        setDeadline(.none, 0)
        if let origin = interception?.origin {
            startInterceptedRequest(head, origin)
            return
        }

        var user: String?
        // A client whose traffic was redirected (origin-form on a transparent listener) does not know
        // it talks to a proxy and can never answer a 407; like transparent TLS flows it is identified
        // by source address (and --client-name) only. Explicit proxy requests still need credentials.
        let redirected: Bool
        if transparent, case .origin = head.target { redirected = true } else { redirected = false }
        if let creds = core.credentials, !redirected {
            guard let value = head.headers.first("Proxy-Authorization"),
                  let (u, p) = ProxyAuthorization.basic(value), creds.check(user: u, password: p) else {
                core.metrics.countRequest(status: 407, outcome: .refused)
                logRefusal(status: 407, method: head.method, host: "-", port: 0, path: "")
                refuse(407, "proxy authentication required",
                       headers: [("Proxy-Authenticate", "Basic realm=\"customs\"")])
                return
            }
            user = u
        }

        let host: String, port: UInt16
        var connectTo: IPAddress?
        switch head.target {
        case .authority(let h, let p):
            startTunnel(head: head, host: h, port: p, user: user)
            return
        case .absolute(_, let h, let p, _):
            host = h; port = p
        case .origin:
            guard transparent, let dst = originalDestination else {
                refuseRequest(head, 400, "a proxy request needs an absolute URI (http://host/path)", user: user)
                return
            }
            host = Self.hostWithoutPort(head.headers.first("Host")) ?? dst.0.description
            port = dst.1
            connectTo = dst.0
        case .asterisk:
            refuseRequest(head, 501, "OPTIONS * is not supported by this proxy", user: user)
            return
        }

        let framing: BodyFraming
        do { framing = try requestBodyFraming(head) } catch {
            refuseRequest(head, error.status, error.message, user: user)
            return
        }
        let ex = Exchange(flowID: loop.nextFlowID(), head: consume head, scheme: "http", host: host, port: port,
                          user: user, framing: framing, maxHeaderBytes: core.config.maxHeaderBytes)
        exchange = ex
        if let ip = connectTo {
            destinationsResolved(ex, .success([ip]))
        } else if let known = literalAddresses(host) ?? core.resolver.answerNow(host) {
            destinationsResolved(ex, .success(known))
        } else {
            // Held strongly until the answer (bounded by the resolve timeout): a weak reference
            // would give every connection a side table and slow each retain after it.
            core.resolver.resolve(host, timeout: core.config.resolveTimeout, on: loop.queue) { r in
                guard self.exchange === ex else { return }
                self.destinationsResolved(ex, r)
            }
        }
    }

    private func literalAddresses(_ host: String) -> [IPAddress]? {
        if let last = lastLiteral, last.host == host { return last.addresses }
        guard let ip = IPAddress(host) else { return nil }
        let addresses = [ip]
        lastLiteral = (host, addresses)
        return addresses
    }

    static func hostWithoutPort(_ value: String?) -> String? {
        guard var v = value?.lowercased(), !v.isEmpty else { return nil }
        if v.hasPrefix("["), let close = v.firstIndex(of: "]") {
            return String(v[v.index(after: v.startIndex)..<close])
        }
        if let colon = v.lastIndex(of: ":") { v = String(v[..<colon]) }
        return v
    }

    /// A refusal before an exchange exists: counted, logged, answered, connection closed.
    func refuseRequest(_ head: HTTPRequestHead, _ status: Int, _ message: String, user: String?) {
        core.metrics.countRequest(status: status, outcome: .refused)
        var host = "-", port: UInt16 = 0
        if case .absolute(_, let h, let p, _) = head.target { host = h; port = p }
        logRefusal(status: status, method: head.method, host: host, port: port, path: head.pathWithoutQuery, user: user)
        refuse(status, message)
    }

    /// Applies the destination guard to every resolved address and keeps only the allowed ones.
    func guardDestinations(_ r: Result<[IPAddress], Resolver.Failure>, host: String)
        -> Result<[IPAddress], Refused> {
        switch r {
        case .failure(.timedOut): return .failure(Refused(504, "resolving \(host) timed out"))
        case .failure(.notFound(let why)): return .failure(Refused(502, "cannot resolve \(host): \(why)"))
        case .success(let addrs):
            // The list is copied only when the guard refuses part of it.
            guard let firstRefused = addrs.firstIndex(where: { core.destinationGuard.check($0) != nil }) else {
                return .success(addrs)
            }
            var allowed = Array(addrs[..<firstRefused]), firstRefusal = core.destinationGuard.check(addrs[firstRefused])
            for a in addrs[(firstRefused + 1)...] {
                if let refusal = core.destinationGuard.check(a) { firstRefusal = firstRefusal ?? refusal } else { allowed.append(a) }
            }
            if allowed.isEmpty, let refusal = firstRefusal { return .failure(Refused(403, "refused: \(refusal)")) }
            return .success(allowed)
        }
    }

    func destinationsResolved(_ ex: Exchange, _ r: Result<[IPAddress], Resolver.Failure>) {
        switch guardDestinations(r, host: ex.host) {
        case .failure(let refused):
            ex.outcome = .refused
            respondSynthetic(ex, ResponseBytes.text(refused.status, refused.message))
        case .success(let addrs):
            ex.candidates = addrs
            var plan = FlowPlan.forward
            if let governor = core.governor, !governor.forwardsEveryRequest(to: addrs[0]) {
                let ctx = flowContext(ex, destination: addrs[0], sni: nil)
                ex.context = ctx
                plan = governor.plan(for: ctx)
            }
            prepareUpstreamHead(ex, inspecting: { if case .inspect = plan { return true } else { return false } }())
            switch plan {
            case .respond(let response):
                ex.outcome = .responded
                respondSynthetic(ex, response)
            case .forward:
                ex.mode = .streaming
                if takePooledUpstream(ex) {
                    // The keep-alive case needs no continuation (a closure allocated per request).
                    sendUpstreamHead(ex)
                    beginRequestBody(ex)
                } else {
                    connectUpstream(ex) { [unowned self] in
                        self.sendUpstreamHead(ex)
                        self.beginRequestBody(ex)
                    }
                }
            case .inspect(let inspection):
                ex.mode = .holding
                ex.inspection = inspection
                ex.request.keepExtensions()
                if ex.head.headers.containsToken("Expect", "100-continue") && !ex.clientIsHTTP10 {
                    let cont = Array("HTTP/1.1 100 Continue\r\n\r\n".utf8)
                    cont.withUnsafeBytes { _ = client.send($0) }
                }
                beginRequestBody(ex)
            }
        }
    }

    func flowContext(_ ex: Exchange, destination: IPAddress, sni: String?) -> FlowContext {
        var headers = ex.head.headers.fields
        // Length first: almost no field is 19 bytes, so few names are compared per request; and
        // only a list that holds one is rewritten (removeAll would copy the shared list each time).
        let isCredentials: ((name: String, value: String)) -> Bool = {
            $0.name.utf8.count == 19 && $0.name.lowercased() == "proxy-authorization"
        }
        if headers.contains(where: isCredentials) { headers.removeAll(where: isCredentials) }
        // Plain and intercepted requests both come here; tunnels have no target query.
        let target = ex.scheme == "tunnel" ? "" : ex.head.pathAndQuery
        let query = target.utf8.firstIndex(of: UInt8(ascii: "?")).map { String(target[target.index(after: $0)...]) } ?? ""
        return FlowContext(flowID: ex.flowID.description, startedAt: ex.startedAt, client: identity(user: ex.user),
                           method: ex.method, scheme: ex.scheme, host: ex.host, port: ex.port, path: ex.path,
                           query: query, destination: destination, sni: sni ?? interception?.origin?.sni,
                           requestHeaders: headers)
    }

    /// The head as it goes upstream: HTTP/1.1, origin-form, hop-by-hop fields removed, Host from the URI, Via added.
    /// Written straight from the client's head: a modified copy of its fields cost an allocation
    /// and a retain and release of every name and value per request.
    private func prepareUpstreamHead(_ ex: Exchange, inspecting: Bool) {
        // `ex.head` is read where it lies: a local copy of the head retained and released every
        // string and list in it.
        let expects = ex.head.headers.containsToken("Expect", "100-continue")
        var absoluteHost: (host: String, port: UInt16)?
        if case .absolute(_, let h, let p, _) = ex.head.target { absoluteHost = (h, p) }
        let replaceHost = absoluteHost != nil
        let via = core.config.via
        var out: [UInt8] = []
        swap(&out, &spareUpstreamHead)
        let room = ex.head.forwardedStartMaxBytes + (absoluteHost?.host.utf8.count ?? 0) + via.utf8.count + 32
        out.appendWriting(maxBytes: room) { out in
            ex.head.writeForwardedStart(to: &out) { name in
                switch name.utf8.count {
                case 4: return replaceHost && name.equalsLowercased("host")
                case 6: return inspecting && name.equalsLowercased("expect")
                default: return false
                }
            }
            if let (h, p) = absoluteHost {
                out.put("Host: ")
                let bracket = h.utf8.contains(UInt8(ascii: ":"))
                if bracket { out.put(UInt8(ascii: "[")) }
                out.put(utf8: h)
                if bracket { out.put(UInt8(ascii: "]")) }
                if p != 80 {
                    out.put(UInt8(ascii: ":"))
                    out.putDecimal(UInt64(p))
                }
                out.put("\r\n")
            }
            out.put("Via: ")
            out.put(utf8: via)
            out.put("\r\n\r\n")
        }
        ex.relayContinue = expects && !inspecting && !ex.clientIsHTTP10
        ex.upstreamHead = out
    }

    /// Answers the exchange from the gateway (no upstream). Keeps the connection only when no body is pending.
    func respondSynthetic(_ ex: Exchange, _ r: SyntheticResponse) {
        ex.status = r.status
        ex.abortUpstream()
        let keep = ex.clientKeepAlive && !ex.hasBody && !loop.draining
        let bytes = ResponseBytes.make(r, keepAlive: keep, via: core.config.via)
        ex.bytesDown = UInt64(bytes.count)
        ex.responseStarted = true
        ex.responseState = .done
        finishLog(ex)
        exchange = nil
        if keep {
            bytes.withUnsafeBytes { _ = client.send($0) }
            core.metrics.bytesOut.increment(by: UInt64(bytes.count))
            nextRequest()
        } else {
            sendFinal(bytes)
        }
    }

    // MARK: upstream connection

    /// Takes a pooled connection or opens a new one to the first reachable allowed address.
    func connectUpstream(_ ex: Exchange, fresh: Bool = false, _ then: @escaping () -> Void) {
        if let origin = interception?.origin {
            connectInterceptedUpstream(ex, origin, fresh: fresh, then)
            return
        }
        if !fresh, takePooledUpstream(ex) {
            then()
            return
        }
        ex.reusedUpstream = false
        connectNext(ex, index: 0, then)
    }

    /// Attaches an idle pooled connection to the first allowed address, if there is one (plain
    /// connections only: intercepted ones keep their own TLS upstream).
    private func takePooledUpstream(_ ex: Exchange) -> Bool {
        guard interception?.origin == nil else { return false }
        let slot = loop.pool.slot(for: UpstreamPool.Key(address: ex.candidates[0], port: ex.port))
        guard let t = loop.pool.checkout(slot) else { return false }
        ex.upstream = t
        ex.upstreamSlot = slot
        ex.reusedUpstream = true
        core.metrics.upstreamReused.increment()
        attachUpstream(t)
        return true
    }

    private func connectNext(_ ex: Exchange, index: Int, _ then: @escaping () -> Void) {
        guard index < ex.candidates.count else {
            upstreamFailed(status: 502, "cannot connect to \(ex.host) port \(ex.port)")
            return
        }
        let ip = ex.candidates[index]
        ex.connectStarted = DispatchTime.now().uptimeNanoseconds
        switch Socket.startConnect(ip, port: ex.port) {
        case .failure:
            connectNext(ex, index: index + 1, then)
        case .success(let fd):
            let t = SocketTransport(fd: fd, poller: loop.poller)
            ex.upstream = t
            ex.upstreamSlot = loop.pool.slot(for: UpstreamPool.Key(address: ip, port: ex.port))
            setDeadline(.connect, core.config.connectTimeout)
            t.onDrained = { [unowned self, unowned t] in
                guard self.exchange === ex, ex.upstream === t else { return }
                let err = Socket.connectError(fd)
                if err != 0 {
                    t.close(abort: false)
                    ex.upstream = nil
                    self.connectNext(ex, index: index + 1, then)
                    return
                }
                self.upstreamConnected(ex, t, then)
            }
            t.requestWritable()
        }
    }

    /// A new upstream connection is ready (TCP, or TLS on intercepted connections): time it, use it.
    func upstreamConnected(_ ex: Exchange, _ t: ByteTransport, _ then: () -> Void) {
        let ms = Double(DispatchTime.now().uptimeNanoseconds - ex.connectStarted) / 1e6
        ex.connectMs = ms
        core.metrics.upstreamConnects.increment()
        core.metrics.upstreamConnectSeconds.observe(ms / 1000)
        setDeadline(.activity, core.config.idleTimeout)
        attachUpstream(t)
        then()
    }

    func attachUpstream(_ t: ByteTransport) {
        t.onReadable = onUpstreamReadable
        t.onDrained = onUpstreamDrained
        t.resumeReading()
    }

    func sendUpstreamHead(_ ex: Exchange) {
        guard let up = ex.upstream, !ex.headSent else { return }
        ex.headSent = true
        ex.upstreamHead.withUnsafeBytes { _ = up.send($0) }
        if ex.requestDone { setDeadline(.response, core.config.responseTimeout) }
    }

    /// Upstream can take more request bytes again.
    func upstreamDrained(_ ex: Exchange) {
        guard exchange === ex, phase == .exchanging, !ex.requestDone, !ex.awaitingVerdict else { return }
        if ex.mode != .holding { client.resumeReading() }
    }

    /// Connect failures and timeouts: an error page if nothing was sent to the client yet.
    func upstreamFailed(status: Int, _ why: String) {
        guard let ex = exchange else { abort(); return }
        ex.abortUpstream()
        if ex.responseStarted {
            ex.status = ex.status == 0 ? status : ex.status
            ex.outcome = .error
            finishLog(ex)
            abort()
            return
        }
        ex.outcome = .error
        ex.status = status
        let bytes = ResponseBytes.make(ResponseBytes.text(status, why), keepAlive: false, via: core.config.via)
        ex.bytesDown = UInt64(bytes.count)
        finishLog(ex)
        sendFinal(bytes)
    }

    // MARK: request body

    func beginRequestBody(_ ex: Exchange) {
        phase = .exchanging
        if ex.mode == .streaming && ex.requestDone {
            setDeadline(.response, core.config.responseTimeout)
        } else {
            setDeadline(.activity, core.config.idleTimeout)
        }
        // Bytes that arrived with the head come first.
        let prefix = headBuffer
        headBuffer = []
        if !prefix.isEmpty {
            prefix.withUnsafeBytes { feedRequestBody(ex, $0, owner: prefix) }
        } else if ex.requestDone && ex.mode == .holding {
            askVerdict(ex, final: true)
        }
        if exchange === ex, !ex.requestDone, !ex.awaitingVerdict, ex.upstream?.hasPendingOutput != true {
            client.resumeReading()
        }
    }

    func readRequestBody() {
        guard let ex = exchange else { client.pauseReading(); return }
        if ex.requestDone || ex.awaitingVerdict {
            // Pipelined bytes wait until this exchange is over.
            client.pauseReading()
            return
        }
        switch client.read(into: loop.scratch) {
        case .wouldBlock: return
        case .eof, .failed:
            // The client went away mid-body: nothing more may reach the upstream.
            abort()
        case .bytes(let n):
            core.metrics.bytesIn.increment(by: UInt64(n))
            setDeadline(.activity, core.config.idleTimeout)
            let piece = UnsafeRawBufferPointer(rebasing: loop.scratch[0..<n])
            if carry.isEmpty {
                feedRequestBody(ex, piece)
            } else {
                var joined = carry
                carry = []
                joined.append(contentsOf: piece)
                joined.withUnsafeBytes { feedRequestBody(ex, $0) }
            }
        }
    }

    /// Runs newly arrived bytes through the body framing and on to the upstream or the hold buffer.
    /// `owner`, when given, is an array whose bytes `buf` is: held whole, it is kept as it is
    /// rather than copied (a body that arrived with its head).
    func feedRequestBody(_ ex: Exchange, _ buf: UnsafeRawBufferPointer, owner: [UInt8]? = nil) {
        let inspection = ex.inspection
        let used: Int
        do {
            used = try ex.request.take(buf) { payload in inspection?.consume(payload) }
        } catch {
            ex.outcome = .refused
            ex.status = ex.responseStarted ? ex.status : error.status
            finishLog(ex)
            exchange = nil
            ex.abortUpstream()
            if ex.responseStarted { abort() } else { refuse(error.status, error.message) }
            return
        }
        let body = UnsafeRawBufferPointer(rebasing: buf[0..<used])
        let rest = UnsafeRawBufferPointer(rebasing: buf[used...])
        ex.requestDone = ex.request.isComplete
        if ex.requestDone {
            headBuffer.append(contentsOf: rest)   // the next pipelined request
        } else if !rest.isEmpty {
            carry.append(contentsOf: rest)
        }
        ex.bytesUp += UInt64(body.count)
        switch ex.mode {
        case .streaming:
            if let up = ex.upstream, !body.isEmpty {
                up.send(body)
                if up.hasPendingOutput { client.pauseReading() }
            }
            if ex.requestDone { setDeadline(.response, core.config.responseTimeout) }
        case .holding:
            if let owner, ex.held.isEmpty, body.count == owner.count {
                ex.held = owner
            } else {
                ex.held.append(contentsOf: body)
            }
            if ex.requestDone {
                askVerdict(ex, final: true)
            } else if ex.held.count >= core.config.holdLimit {
                askVerdict(ex, final: false)
            }
        case .pieceByPiece:
            ex.held.append(contentsOf: body)
            askVerdict(ex, final: ex.requestDone)
        }
    }

    /// Pauses the client, asks the inspection, and forwards what is held only when approved.
    private func askVerdict(_ ex: Exchange, final: Bool) {
        guard let inspection = ex.inspection else { return }
        ex.awaitingVerdict = true
        setDeadline(.none, 0)
        // Chunk extensions and trailer fields are forwarded with the body: judged with it.
        let fields = ex.request.framingFields()
        if !fields.isEmpty { inspection.framingFields(fields) }
        let queue = loop.queue
        inspection.verdict(final: final) { verdict in
            queue.async {
                guard self.exchange === ex else { return }
                self.verdictArrived(ex, verdict)
            }
        }
    }

    private func verdictArrived(_ ex: Exchange, _ verdict: BodyVerdict) {
        ex.awaitingVerdict = false
        switch verdict {
        case .block(let r):
            ex.outcome = .blocked
            ex.held = []
            ex.abortUpstream()
            if ex.responseStarted {
                ex.status = r.status
                finishLog(ex)
                abort()
            } else {
                ex.status = r.status
                let bytes = ResponseBytes.make(r, keepAlive: false, via: core.config.via)
                ex.bytesDown = UInt64(bytes.count)
                finishLog(ex)
                sendFinal(bytes)
            }
        case .forward:
            let deliver = { [unowned self] in
                guard self.exchange === ex, let up = ex.upstream else { return }
                if ex.headSent {
                    ex.held.withUnsafeBytes { _ = up.send($0) }
                } else {
                    // Head and held body in one write: one wake-up of the upstream, not two.
                    ex.headSent = true
                    ex.upstreamHead.withUnsafeBytes { head in ex.held.withUnsafeBytes { _ = up.send(head, then: $0) } }
                }
                ex.held.removeAll(keepingCapacity: ex.held.count <= EventLoop.bufferSize)
                if ex.mode == .holding { ex.mode = .pieceByPiece }
                if ex.requestDone {
                    self.setDeadline(.response, self.core.config.responseTimeout)
                } else {
                    self.setDeadline(.activity, self.core.config.idleTimeout)
                    if !up.hasPendingOutput { self.client.resumeReading() }
                }
            }
            if ex.upstream == nil {
                ex.mode = ex.mode == .holding && !ex.requestDone ? .pieceByPiece : ex.mode
                connectUpstream(ex, deliver)
            } else {
                deliver()
            }
        }
    }
}
