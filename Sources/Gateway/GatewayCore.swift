import CustomsCore
import Foundation
import Wire
import Logging
import Synchronization

/// What every connection shares: settings, the guard, the governor, metrics and the access log.
/// Immutable after start apart from atomics.
final class GatewayCore: Sendable {
    let config: GatewayConfiguration
    let governor: (any FlowGovernor)?
    let registry: MetricsRegistry
    let metrics: GatewayMetrics
    let destinationGuard: DestinationGuard
    let credentials: Credentials?
    let accessLog: AccessLog?
    let resolver = Resolver()
    let logger: Logger
    /// Client names, most specific network first.
    let clientNames: [(IPNetwork, String)]
    let activeConnections = Atomic<Int>(0)
    let viaBytes: String

    init(config: GatewayConfiguration, governor: (any FlowGovernor)?, registry: MetricsRegistry,
         logger: Logger) throws(GatewayError) {
        self.config = config
        self.governor = governor
        self.registry = registry
        self.metrics = GatewayMetrics(registry)
        self.destinationGuard = DestinationGuard(allowed: config.allowDestinations)
        self.credentials = try config.credentialsFile.map { (p: String) throws(GatewayError) in try Credentials(path: p) }
        let writeErrors = registry.counter("customs_access_log_write_errors_total",
                                           help: "Access log batches that could not be written (their lines are lost).")
        self.accessLog = try config.accessLogPath.map { (p: String) throws(GatewayError) in
            try AccessLog(path: p, logger: logger, writeErrors: writeErrors)
        }
        self.logger = logger
        self.clientNames = config.clientNames.sorted { $0.0.prefixLength > $1.0.prefixLength }
        self.viaBytes = config.via
    }

    func clientName(for ip: IPAddress) -> String? {
        clientNames.first { $0.0.contains(ip) }?.1
    }
}

/// Serialises gateway-made responses.
enum ResponseBytes {
    static func make(_ r: SyntheticResponse, keepAlive: Bool, via: String) -> [UInt8] {
        var s = "HTTP/1.1 \(r.status) \(r.reason)\r\n"
        var hasType = false
        for h in r.headers {
            let lower = h.name.lowercased()
            if lower == "content-length" || lower == "connection" || lower == "transfer-encoding" { continue }
            if lower == "content-type" { hasType = true }
            s += "\(h.name): \(h.value)\r\n"
        }
        if !hasType && !r.body.isEmpty { s += "Content-Type: text/plain; charset=utf-8\r\n" }
        s += "Content-Length: \(r.body.count)\r\nVia: \(via)\r\n"
        s += keepAlive ? "\r\n" : "Connection: close\r\n\r\n"
        return Array(s.utf8) + r.body
    }

    static func text(_ status: Int, _ text: String) -> SyntheticResponse {
        SyntheticResponse(status: status, reason: reason(status), text: text)
    }

    static func reason(_ status: Int) -> String { HTTPResponseHead.reasonPhrase(status) }
}
