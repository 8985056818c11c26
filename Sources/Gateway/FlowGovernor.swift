import CustomsCore
import Foundation

/// Who is on the other end of a client connection.
public struct ClientIdentity: Sendable {
    public let address: IPAddress
    public let port: UInt16
    /// From the CIDR → name map, when one matches.
    public let name: String?
    /// The `Proxy-Authorization: Basic` user, when credentials are configured and checked.
    public let user: String?

    public init(address: IPAddress, port: UInt16, name: String?, user: String?) {
        self.address = address; self.port = port; self.name = name; self.user = user
    }
}

/// Everything the policy side may know about one request or tunnel before deciding.
public struct FlowContext: Sendable {
    public let flowID: String
    public let startedAt: Date
    public let client: ClientIdentity
    /// "CONNECT" for tunnels.
    public let method: String
    /// "http", "https" (intercepted) or "tunnel".
    public let scheme: String
    /// Lowercased, without port.
    public let host: String
    public let port: UInt16
    /// Path without query ("" for tunnels). Safe to log.
    public let path: String
    /// The request target's query, without `?` ("" when none). It can carry personal data
    /// (`?id_card=…`): inspect it, never log it.
    public let query: String
    /// The exact address that will be connected to.
    public let destination: IPAddress
    public let sni: String?
    public let requestHeaders: [(name: String, value: String)]
    /// Tunnels only: whether the gateway can intercept this one (interception is configured, the
    /// client's first bytes are a TLS ClientHello, the host is not on the no-intercept list).
    /// When false, a `.intercept` plan cannot be carried out: the tunnel rule must decide.
    public var interceptable: Bool = false

    public init(flowID: String, startedAt: Date, client: ClientIdentity, method: String, scheme: String,
                host: String, port: UInt16, path: String, query: String = "", destination: IPAddress, sni: String?,
                requestHeaders: [(name: String, value: String)]) {
        self.flowID = flowID; self.startedAt = startedAt; self.client = client; self.method = method
        self.scheme = scheme; self.host = host; self.port = port; self.path = path; self.query = query
        self.destination = destination; self.sni = sni; self.requestHeaders = requestHeaders
    }
}

/// A response the gateway writes itself (a block page, a refusal).
public struct SyntheticResponse: Sendable {
    public var status: Int
    public var reason: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, reason: String, headers: [(name: String, value: String)] = [], body: [UInt8] = []) {
        self.status = status; self.reason = reason; self.headers = headers; self.body = body
    }

    /// A short text/plain response.
    public init(status: Int, reason: String, text: String) {
        self.init(status: status, reason: reason,
                  headers: [("Content-Type", "text/plain; charset=utf-8")], body: Array((text + "\n").utf8))
    }
}

public enum FlowPlan: Sendable {
    /// Stream the request straight through with no holding.
    case forward
    /// Hold the body and ask the inspection before forwarding it.
    case inspect(any BodyInspection)
    /// Answer without contacting the upstream.
    case respond(SyntheticResponse)
}

public enum BodyVerdict: Sendable {
    case forward
    case block(SyntheticResponse)
}

public protocol BodyInspection: AnyObject, Sendable {
    /// Request body bytes as they arrive (transfer coding removed, content coding kept). Called on the connection's queue.
    func consume(_ bytes: UnsafeRawBufferPointer)
    /// final=true at end of body. final=false when the held bytes reached the hold limit: the gateway
    /// asks again before forwarding each further piece. completion may run on any queue.
    func verdict(final: Bool, completion: @escaping @Sendable (BodyVerdict) -> Void)
    /// What a chunked body's framing carries besides its bytes, which goes out with them: chunk
    /// extensions (one `chunk-extension` field) and, at the end, the trailer fields. Called on the
    /// connection's queue before a `verdict`, when there are any.
    func framingFields(_ fields: [(name: String, value: String)])
}

extension BodyInspection {
    public func framingFields(_ fields: [(name: String, value: String)]) {}
}

public enum TunnelPlan: Sendable {
    case splice
    case intercept
    case respond(SyntheticResponse)
    /// Answer with the response once `ready` has called back (a block is answered only after its
    /// audit record is durable). The connection's queue is not held while waiting: `ready` may call
    /// back on any queue.
    case respondWhenReady(SyntheticResponse, ready: @Sendable (_ done: @escaping @Sendable () -> Void) -> Void)
}

/// The hook the enforcement side plugs into. With no governor every flow is `.forward` / `.splice`.
public protocol FlowGovernor: Sendable {
    /// After the destination is resolved, before the body is read; must not block.
    func plan(for flow: FlowContext) -> FlowPlan
    /// CONNECT / transparent TLS, after the SNI peek.
    func tunnel(for flow: FlowContext) -> TunnelPlan
    func finished(_ flow: FlowContext, status: Int, bytesUp: UInt64, bytesDown: UInt64)
    /// True when every plain request to `destination` would be planned `.forward` whatever it
    /// carries (say the destination is certainly inside the home territory). The gateway then
    /// neither builds the request's context nor asks `plan` or `finished` about it.
    func forwardsEveryRequest(to destination: IPAddress) -> Bool
}

extension FlowGovernor {
    public func forwardsEveryRequest(to destination: IPAddress) -> Bool { false }
}
