/// The gateway's own metric handles, created once so the hot path only touches atomics.
/// A class: `core.metrics.x` on every request would otherwise copy (retain and release) every handle.
final class GatewayMetrics: Sendable {
    let requestsByClass: [Counter]          // index 0 = 1xx … 4 = 5xx
    /// Indexed by the outcome's position in `allCases`: no hashing per request.
    private let requestOutcome: [Counter]
    private let tunnelOutcome: [Counter]
    let bytesIn: Counter                    // from clients
    let bytesOut: Counter                   // to clients
    let activeConnections: Gauge
    let activeTunnels: Gauge
    let acceptedConnections: Counter
    let rejectedConnections: Counter
    let upstreamConnects: Counter
    let upstreamReused: Counter
    let upstreamConnectSeconds: Histogram
    let requestSeconds: Histogram

    enum RequestOutcome: String, CaseIterable, Sendable {
        case forwarded, refused, blocked, responded, error

        var index: Int {
            switch self {
            case .forwarded: 0
            case .refused: 1
            case .blocked: 2
            case .responded: 3
            case .error: 4
            }
        }
    }
    enum TunnelOutcome: String, CaseIterable, Sendable {
        case spliced, relayed, refused, blocked, error

        var index: Int {
            switch self {
            case .spliced: 0
            case .relayed: 1
            case .refused: 2
            case .blocked: 3
            case .error: 4
            }
        }
    }

    init(_ r: MetricsRegistry) {
        requestsByClass = (1...5).map {
            r.counter("customs_http_requests_total", help: "HTTP requests answered, by status class.",
                      labels: [("code", "\($0)xx")])
        }
        requestOutcome = RequestOutcome.allCases.map {
            r.counter("customs_http_request_outcomes_total", help: "HTTP requests by outcome.",
                      labels: [("outcome", $0.rawValue)])
        }
        tunnelOutcome = TunnelOutcome.allCases.map {
            r.counter("customs_tunnels_total", help: "CONNECT and transparent tunnels by outcome.",
                      labels: [("outcome", $0.rawValue)])
        }
        bytesIn = r.counter("customs_client_bytes_received_total", help: "Bytes received from clients.")
        bytesOut = r.counter("customs_client_bytes_sent_total", help: "Bytes sent to clients.")
        activeConnections = r.gauge("customs_active_connections", help: "Open client connections.")
        activeTunnels = r.gauge("customs_active_tunnels", help: "Open tunnels.")
        acceptedConnections = r.counter("customs_connections_accepted_total", help: "Client connections accepted.")
        rejectedConnections = r.counter("customs_connections_rejected_total",
                                        help: "Client connections closed at accept because the connection limit was reached.")
        upstreamConnects = r.counter("customs_upstream_connects_total", help: "New upstream connections opened.")
        upstreamReused = r.counter("customs_upstream_reused_total", help: "Requests sent on a pooled upstream connection.")
        let latency = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
        upstreamConnectSeconds = r.histogram("customs_upstream_connect_seconds",
                                             help: "Time to open an upstream TCP connection.", buckets: latency)
        requestSeconds = r.histogram("customs_http_request_duration_seconds",
                                     help: "Time from request head to the end of the response.", buckets: latency)
    }

    func countRequest(status: Int, outcome: RequestOutcome) {
        let c = status / 100
        if (1...5).contains(c) { requestsByClass[c - 1].increment() }
        requestOutcome[outcome.index].increment()
    }

    func countTunnel(_ outcome: TunnelOutcome) {
        tunnelOutcome[outcome.index].increment()
    }
}
