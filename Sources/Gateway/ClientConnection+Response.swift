import CustomsCore
import Dispatch
import Foundation
import Wire

extension ClientConnection {
    func upstreamReadable(_ ex: Exchange) {
        guard exchange === ex, let up = ex.upstream else { return }
        switch up.read(into: loop.scratch) {
        case .wouldBlock: return
        case .eof, .failed: upstreamEnded(ex)
        case .bytes(let n):
            if deadlineKind == .response || deadlineKind == .activity { setDeadline(.activity, core.config.idleTimeout) }
            let piece = UnsafeRawBufferPointer(rebasing: loop.scratch[0..<n])
            switch ex.responseState {
            case .awaitingHead:
                if ex.responseBuffer.isEmpty {
                    // Nearly every head arrives in one read: parse it where it landed.
                    parseResponseHead(ex, piece)
                } else {
                    ex.responseBuffer.append(contentsOf: piece)
                    let buffered = ex.responseBuffer
                    ex.responseBuffer = []
                    buffered.withUnsafeBytes { parseResponseHead(ex, $0) }
                }
            case .body:
                responseBody(ex, piece)
            case .done:
                // Bytes after a complete response: the connection cannot be reused.
                ex.upstreamReusable = false
                up.pauseReading()
            }
        }
    }

    /// Parses response heads from `input` (what arrived, after any partial head kept from earlier
    /// reads): 1xx heads are relayed or dropped, the final one starts the body, and an incomplete
    /// one is kept in `responseBuffer` for the next read (the parser resumes on the grown buffer).
    private func parseResponseHead(_ ex: Exchange, _ input: UnsafeRawBufferPointer) {
        var offset = 0
        while exchange === ex, ex.responseState == .awaitingHead {
            let pending = UnsafeRawBufferPointer(rebasing: input[offset...])
            // Nearly every final head arrives whole and clean: it is relayed from its own bytes.
            // Anything else (1xx, incomplete, unusual) goes to the parser, which has the last word.
            if let relay = ResponseHeadRelay.scan(pending, maxStatusLine: ex.responseParser.maxRequestLine,
                                                  maxHeaderBytes: ex.responseParser.maxHeaderBytes,
                                                  maxHeaderFields: ex.responseParser.maxHeaderFields) {
                ex.responseParser.reset()   // a head that came in pieces left it part-way through
                offset += relay.headerBytes
                relayResponseHead(ex, relay, from: pending, rest: UnsafeRawBufferPointer(rebasing: input[offset...]))
                return
            }
            let result: HeadParseResult<HTTPResponseHead>
            do {
                result = try ex.responseParser.parseResponse(pending)
            } catch {
                upstreamFailed(status: 502, "upstream sent an invalid response: \(error.message)")
                return
            }
            guard case .complete(let head, let n) = result else {
                ex.responseBuffer.append(contentsOf: pending)
                return
            }
            offset += n
            if head.status >= 100 && head.status < 200 {
                if head.status == 101 {
                    upstreamFailed(status: 502, "upstream switched protocols, which this proxy does not relay")
                    return
                }
                if head.status == 100 ? ex.relayContinue : !ex.clientIsHTTP10 {
                    let bytes = head.serialized()
                    bytes.withUnsafeBytes { _ = client.send($0) }
                }
                continue
            }
            startResponse(ex, head, rest: UnsafeRawBufferPointer(rebasing: input[offset...]),
                          headMaxBytes: head.forwardedStartMaxBytes) { out, dropTransferEncoding in
                head.writeForwardedStart(to: &out) { name in
                    dropTransferEncoding && name.equalsLowercased("transfer-encoding")
                }
            }
        }
    }

    /// `startResponse` for a head relayed from its bytes (borrowed: a copy of it for the closure
    /// retained and released everything in it).
    private func relayResponseHead(_ ex: Exchange, _ relay: borrowing ResponseHeadRelay, from bytes: UnsafeRawBufferPointer,
                                   rest: UnsafeRawBufferPointer) {
        startResponse(ex, relay.decidingHead, rest: rest, headMaxBytes: relay.forwardedStartMaxBytes) { out, dropTransferEncoding in
            relay.writeForwardedStart(from: bytes, to: &out, droppingTransferEncoding: dropTransferEncoding)
        }
    }

    /// The final response head: its framing and persistence (read from `head`), the head as relayed
    /// (`writeStart` writes its status line and end-to-end fields, at most `headMaxBytes`; told
    /// whether Transfer-Encoding goes), then whatever of the body came with it (`rest`).
    private func startResponse(_ ex: Exchange, _ head: HTTPResponseHead, rest: UnsafeRawBufferPointer, headMaxBytes: Int,
                               writeStart: (inout ByteCursor, _ dropTransferEncoding: Bool) -> Void) {
        let framing: BodyFraming
        do { framing = try responseBodyFraming(head, requestMethod: ex.method) } catch {
            upstreamFailed(status: 502, "upstream sent an invalid response: \(error.message)")
            return
        }
        ex.status = head.status
        ex.upstreamReusable = head.keepAlive
        if case .untilClose = framing { ex.upstreamReusable = false }
        var keepClient = ex.clientKeepAlive && !loop.draining && ex.requestDone
        var dropTransferEncoding = false
        if case .chunked = framing, ex.clientIsHTTP10 {
            // An HTTP/1.0 client cannot read chunked: send the payload and end it by closing.
            ex.dechunk = true
            keepClient = false
            dropTransferEncoding = true
        }
        if case .untilClose = framing { keepClient = false }
        // The head waits in `headOut` so the first body bytes go out in the same send: room for
        // them is made now.
        let via = core.config.via
        headOut.removeAll(keepingCapacity: true)
        headOut.appendWriting(maxBytes: headMaxBytes + via.utf8.count + 48,
                              extraCapacity: ex.dechunk ? 0 : rest.count) { out in
            writeStart(&out, dropTransferEncoding)
            out.put("Via: ")
            out.put(utf8: via)
            if !keepClient {
                out.put("\r\nConnection: close")
            } else if ex.clientIsHTTP10 {
                out.put("\r\nConnection: keep-alive")
            }
            out.put("\r\n\r\n")
        }
        ex.clientWantsClose = !keepClient
        ex.response = BodyMeter(framing)
        ex.responseState = .body
        ex.responseStarted = true
        ex.bytesDown += UInt64(headOut.count)
        core.metrics.bytesOut.increment(by: UInt64(headOut.count))
        client.onDrained = onClientDrainedDuringResponse
        if !ex.response.isComplete && !rest.isEmpty {
            responseBody(ex, rest)
        }
        flushHead(ex)
        if ex.response.isComplete && ex.responseState == .body {
            if !rest.isEmpty { ex.upstreamReusable = false }
            responseComplete(ex)
        }
    }

    /// Streams response body bytes to the client, pausing the upstream while the client is not draining.
    func responseBody(_ ex: Exchange, _ buf: UnsafeRawBufferPointer) {
        if ex.responseCarry.isEmpty {
            relayResponse(ex, buf)
        } else {
            var joined = ex.responseCarry
            ex.responseCarry = []
            joined.append(contentsOf: buf)
            joined.withUnsafeBytes { relayResponse(ex, $0) }
        }
    }

    private func relayResponse(_ ex: Exchange, _ input: UnsafeRawBufferPointer) {
        let dechunk = ex.dechunk
        if dechunk { flushHead(ex) }
        let client = self.client
        var sent = 0
        let used: Int
        do {
            used = try ex.response.take(input) { payload in
                if dechunk { client.send(payload); sent += payload.count }
            }
        } catch {
            ex.outcome = .error
            finishLog(ex)
            abort()
            return
        }
        if !dechunk {
            let body = UnsafeRawBufferPointer(rebasing: input[0..<used])
            if headOut.isEmpty {
                client.send(body)
            } else {
                headOut.append(contentsOf: body)
                flushHead(ex)
            }
            sent = used
        }
        ex.bytesDown += UInt64(sent)
        core.metrics.bytesOut.increment(by: UInt64(sent))
        if used < input.count {
            if ex.response.isComplete {
                ex.upstreamReusable = false
            } else {
                ex.responseCarry.append(contentsOf: UnsafeRawBufferPointer(rebasing: input[used...]))
            }
        }
        if ex.response.isComplete {
            responseComplete(ex)
        } else if client.hasPendingOutput {
            ex.upstream?.pauseReading()
        }
    }

    /// Sends the response head if it is still waiting for body bytes to travel with.
    private func flushHead(_ ex: Exchange) {
        guard !headOut.isEmpty else { return }
        headOut.withUnsafeBytes { _ = client.send($0) }
        headOut.removeAll(keepingCapacity: headOut.capacity <= Self.keptBufferLimit)
    }

    func clientDrained(_ ex: Exchange) {
        guard exchange === ex, ex.responseState == .body else { return }
        ex.upstream?.resumeReading()
    }

    private func upstreamEnded(_ ex: Exchange) {
        switch ex.responseState {
        case .awaitingHead:
            if ex.reusedUpstream && !ex.retried && ex.responseBuffer.isEmpty && ex.isIdempotent && !ex.hasBody {
                // A pooled connection the server had already closed: try once more on a fresh one.
                ex.retried = true
                ex.upstream?.close(abort: false)
                ex.upstream = nil
                ex.headSent = false
                connectUpstream(ex, fresh: true) { [unowned self] in self.sendUpstreamHead(ex) }
                return
            }
            upstreamFailed(status: 502, "upstream closed the connection without a response")
        case .body:
            if ex.response.endOfStream() {
                ex.upstreamReusable = false
                responseComplete(ex)
            } else {
                ex.outcome = .error
                finishLog(ex)
                abort()
            }
        case .done:
            ex.upstreamReusable = false
        }
    }

    /// The response is fully relayed: pool the upstream if it can serve again, then the next request or close.
    func responseComplete(_ ex: Exchange) {
        flushHead(ex)
        ex.responseState = .done
        if ex.upstreamHead.capacity <= Self.keptBufferLimit {
            swap(&spareUpstreamHead, &ex.upstreamHead)
            spareUpstreamHead.removeAll(keepingCapacity: true)
        }
        if let up = ex.upstream {
            ex.upstream = nil
            releaseUpstream(up, reusable: ex.upstreamReusable && ex.requestDone && !loop.draining,
                            slot: ex.upstreamSlot, abort: !ex.requestDone)
        }
        finishLog(ex)
        exchange = nil
        client.onDrained = nil
        if ex.clientWantsClose || !ex.requestDone || loop.draining {
            lingerClose()
        } else {
            nextRequest()
        }
    }

    /// Back to reading the next head on a keep-alive connection (pipelined bytes first).
    func nextRequest() {
        phase = .readingHead
        carry = []
        if headBuffer.isEmpty {
            if loop.draining { lingerClose(); return }
            setDeadline(.idle, core.config.idleTimeout)
            client.resumeReading()
        } else {
            setDeadline(.header, core.config.headerTimeout)
            processHead()
            if phase == .readingHead { client.resumeReading() }
        }
    }

    /// Access log, metrics and the governor's `finished` for one exchange.
    func finishLog(_ ex: Exchange) {
        guard !ex.logged else { return }
        ex.logged = true
        let ms = ex.elapsedMs
        if ex.scheme != "tunnel" {
            core.metrics.countRequest(status: ex.status, outcome: ex.outcome)
            core.metrics.requestSeconds.observe(ms / 1000)
        }
        if let ctx = ex.context {
            core.governor?.finished(ctx, status: ex.status, bytesUp: ex.bytesUp, bytesDown: ex.bytesDown)
        }
        core.accessLog?.append(AccessRecord(
            time: ex.startedAt, flowID: ex.flowID, client: identity(user: ex.user), method: ex.method,
            scheme: ex.scheme, host: ex.host, port: ex.port, path: ex.path, status: ex.status,
            bytesIn: ex.bytesUp, bytesOut: ex.bytesDown, durationMs: ms, upstreamConnectMs: ex.connectMs,
            upstream: ex.upstreamSlot?.label, outcome: ex.outcome.rawValue))
    }
}
