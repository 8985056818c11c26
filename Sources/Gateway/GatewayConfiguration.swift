import CShims
import CustomsCore
import Foundation

/// Everything `customs serve` can set on the data plane. Defaults are what an edge proxy should run with.
public struct GatewayConfiguration: Sendable {
    /// Forward-proxy listeners, `ADDR:PORT` (`127.0.0.1:3128`, `[::1]:3128`).
    public var listen: [String]
    /// The admin listener (`/healthz`, `/metrics`); nil turns it off.
    public var admin: String?
    /// Listeners for connections redirected by iptables/nftables REDIRECT.
    public var transparent: [String]
    /// Destinations the guard would refuse (loopback, private, …) that this site allows.
    public var allowDestinations: [IPNetwork]
    /// Client names by source network; the most specific match wins.
    public var clientNames: [(IPNetwork, String)]
    /// `user:password` or `user:{SHA256}hex` lines; when set, `Proxy-Authorization: Basic` is required
    /// on proxy listeners (redirected clients on transparent listeners are identified by address only).
    public var credentialsFile: String?
    /// One JSON line per request or tunnel; nil writes no access log.
    public var accessLogPath: String?
    /// Request body bytes held for inspection before the gateway asks again piece by piece.
    public var holdLimit: Int
    /// Time allowed for a request head to arrive completely (slowloris guard).
    public var headerTimeout: TimeInterval
    /// Time an idle keep-alive client connection is kept.
    public var idleTimeout: TimeInterval
    public var connectTimeout: TimeInterval
    /// Time from the request being sent to the response head arriving (then 504).
    public var responseTimeout: TimeInterval
    /// Time name resolution may take (then 504).
    public var resolveTimeout: TimeInterval
    /// Time in-flight flows get to finish after shutdown begins.
    public var shutdownGrace: TimeInterval
    public var maxConnections: Int
    public var maxHeaderBytes: Int
    public var maxRequestLine: Int
    /// Serial event queues; each connection lives on one for its whole life.
    public var queues: Int
    /// The `Via` value added to requests and responses.
    public var via: String
    /// Idle upstream connections kept per (address, port) and per queue.
    public var upstreamIdlePerKey: Int
    /// Time an idle upstream connection is kept in the pool.
    public var upstreamIdleTimeout: TimeInterval
    /// TLS interception (`customs serve --ca DIR`); nil tunnels CONNECT untouched.
    public var interception: InterceptionSettings? = nil

    public init(listen: [String] = ["127.0.0.1:3128"], admin: String? = "127.0.0.1:9090",
                transparent: [String] = [], allowDestinations: [IPNetwork] = [],
                clientNames: [(IPNetwork, String)] = [], credentialsFile: String? = nil,
                accessLogPath: String? = nil, holdLimit: Int = 8 << 20,
                headerTimeout: TimeInterval = 10, idleTimeout: TimeInterval = 60,
                connectTimeout: TimeInterval = 10, responseTimeout: TimeInterval = 60,
                resolveTimeout: TimeInterval = 5, shutdownGrace: TimeInterval = 10,
                maxConnections: Int = 20_000, maxHeaderBytes: Int = 65_536, maxRequestLine: Int = 8_192,
                queues: Int = GatewayConfiguration.availableProcessors, via: String = "1.1 customs",
                upstreamIdlePerKey: Int = 64, upstreamIdleTimeout: TimeInterval = 30) {
        self.listen = listen; self.admin = admin; self.transparent = transparent
        self.allowDestinations = allowDestinations; self.clientNames = clientNames
        self.credentialsFile = credentialsFile; self.accessLogPath = accessLogPath
        self.holdLimit = holdLimit; self.headerTimeout = headerTimeout; self.idleTimeout = idleTimeout
        self.connectTimeout = connectTimeout; self.responseTimeout = responseTimeout
        self.resolveTimeout = resolveTimeout; self.shutdownGrace = shutdownGrace
        self.maxConnections = maxConnections; self.maxHeaderBytes = maxHeaderBytes
        self.maxRequestLine = maxRequestLine; self.queues = queues; self.via = via
        self.upstreamIdlePerKey = upstreamIdlePerKey; self.upstreamIdleTimeout = upstreamIdleTimeout
    }

    /// The default queue count: one per CPU the process may run on (its affinity mask, so
    /// `taskset -c 0-3` on a large machine gives 4). Before each loop had its own epoll, one queue
    /// on one pinned core was ~30 % slower than two (a wake-up per event); with batched epoll it is
    /// ~20 % faster (Benchmarks/results/gateway-epoll.md), and no CONNECT refusal holds a queue.
    public static var availableProcessors: Int { max(1, Int(customs_available_cpus())) }

    /// Checks values that would make the gateway misbehave rather than fail to bind.
    public func validate() throws(GatewayError) {
        func bad(_ m: String) -> GatewayError { GatewayError(.invalidConfiguration, m) }
        if listen.isEmpty && transparent.isEmpty { throw bad("no --listen or --transparent address given") }
        for a in listen + transparent + (admin.map { [$0] } ?? []) { _ = try ListenAddress.parse(a) }
        if holdLimit < 1 { throw bad("hold limit must be at least 1 byte (got \(holdLimit))") }
        if maxConnections < 1 { throw bad("max connections must be at least 1 (got \(maxConnections))") }
        if maxHeaderBytes < 256 { throw bad("max header bytes must be at least 256 (got \(maxHeaderBytes))") }
        if maxRequestLine < 64 { throw bad("max request line must be at least 64 (got \(maxRequestLine))") }
        if !(1...256).contains(queues) { throw bad("queues must be between 1 and 256 (got \(queues))") }
        for (name, t) in [("header", headerTimeout), ("idle", idleTimeout), ("connect", connectTimeout),
                          ("response", responseTimeout), ("resolve", resolveTimeout)] where !(t > 0) {
            throw bad("\(name) timeout must be positive (got \(t))")
        }
        if shutdownGrace < 0 { throw bad("shutdown grace must not be negative") }
    }
}

/// A listening address, `HOST:PORT` or `[V6]:PORT`, with a numeric host.
public struct ListenAddress: Sendable, Hashable, CustomStringConvertible {
    public let ip: IPAddress
    public let port: UInt16

    public init(ip: IPAddress, port: UInt16) { self.ip = ip; self.port = port }

    public static func parse(_ text: String) throws(GatewayError) -> ListenAddress {
        func bad(_ why: String) -> GatewayError { GatewayError(.invalidAddress, "invalid address '\(text)': \(why)") }
        let host: Substring, portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw bad("missing ']'") }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { throw bad("expected ':PORT' after ']'") }
            portText = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else { throw bad("expected HOST:PORT") }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            if host.contains(":") { throw bad("IPv6 addresses need brackets, e.g. [::1]:3128") }
        }
        guard let port = UInt16(portText) else { throw bad("port must be 0-65535") }
        let h = host == "localhost" ? "127.0.0.1" : (host.isEmpty || host == "*" ? "0.0.0.0" : String(host))
        guard let ip = IPAddress(h) else { throw bad("host must be a numeric IPv4 or IPv6 address") }
        return ListenAddress(ip: ip, port: port)
    }

    public var description: String { ip.withPort(port) }
}
