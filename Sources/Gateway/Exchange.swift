import CustomsCore
import Dispatch
import Foundation
import Wire

/// One request/response exchange on a client connection.
/// @unchecked Sendable: confined to the connection's queue (closures only carry it back there).
final class Exchange: @unchecked Sendable {
    enum RequestMode {
        /// Bytes go upstream as they arrive.
        case streaming
        /// Bytes are held (and fed to the inspection) until the body ends or the hold limit is reached.
        case holding
        /// Past the hold limit: every further piece is approved before it is forwarded.
        case pieceByPiece
    }
    enum ResponseState { case awaitingHead, body, done }

    let flowID: FlowID
    let started: DispatchTime
    let startedAt: Date
    var head: HTTPRequestHead
    let method: String
    let scheme: String
    let host: String
    let port: UInt16
    let path: String
    let user: String?
    let clientKeepAlive: Bool
    let clientIsHTTP10: Bool
    var context: FlowContext?
    var candidates: [IPAddress] = []

    // upstream
    var upstream: ByteTransport?
    var upstreamSlot: UpstreamPool.Slot?
    var reusedUpstream = false
    var retried = false
    var connectStarted: UInt64 = 0
    var connectMs: Double?
    var upstreamHead: [UInt8] = []
    var headSent = false

    // request side
    var request: BodyMeter
    var mode: RequestMode = .streaming
    var inspection: (any BodyInspection)?
    var held: [UInt8] = []
    var awaitingVerdict = false
    var requestDone = false
    var bytesUp: UInt64 = 0

    // response side
    var responseState: ResponseState = .awaitingHead
    var responseParser: HeadParser
    var responseBuffer: [UInt8] = []
    var response = BodyMeter(.none)
    var responseStarted = false
    var dechunk = false
    var upstreamReusable = false
    var status = 0
    var bytesDown: UInt64 = 0
    var relayContinue = false
    var outcome: GatewayMetrics.RequestOutcome = .forwarded
    var responseCarry: [UInt8] = []
    var clientWantsClose = false
    var logged = false
    /// A transparent TLS flow: refusals close the connection instead of answering in HTTP.
    var rawTunnel = false
    /// With interception on: the plan made on the CONNECT host before the 200 (a refusal is
    /// answered then); a splice is kept after the ClientHello when the SNI names the same host.
    var preflight: TunnelPlan?

    /// Takes `head` over (consumed, stored last): a copy cost a retain and a release of every
    /// string and list in it per request.
    init(flowID: FlowID, head: consuming HTTPRequestHead, scheme: String, host: String, port: UInt16, user: String?,
         framing: BodyFraming, maxHeaderBytes: Int) {
        self.flowID = flowID
        started = .now()
        startedAt = Date()
        method = head.method
        self.scheme = scheme
        self.host = host
        self.port = port
        path = scheme == "tunnel" ? "" : head.pathWithoutQuery
        self.user = user
        clientKeepAlive = head.keepAlive
        clientIsHTTP10 = head.version == .http10
        request = BodyMeter(framing)
        requestDone = request.isComplete
        responseParser = HeadParser(maxRequestLine: 65_536, maxHeaderBytes: maxHeaderBytes)
        self.head = consume head
    }

    var isIdempotent: Bool {
        ["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"].contains(method)
    }

    var hasBody: Bool { if case .none = request.framing { return false } else { return true } }

    /// Resets the upstream so a request that was not approved can never complete there.
    func abortUpstream() {
        upstream?.close(abort: true)
        upstream = nil
    }

    var elapsedMs: Double { Double(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds) / 1e6 }
}
