import Foundation
import Interception
import Logging

/// What the gateway needs to intercept TLS: the CA-backed leaf cache, the server context that
/// presents minted leaves to clients, and the client context (trust, session cache) towards
/// upstreams. Built once by `customs serve --ca DIR`; shared by every event queue.
public struct InterceptionSettings: Sendable {
    public let authority: CertificateAuthority
    public let leaves: LeafCache
    public let clientSide: TLSServerContext
    /// The client context towards upstreams no override matches.
    public var upstreamSide: TLSClientContext { upstreamTrust.base }
    /// Per-destination trust: one client context per distinct override, chosen by server name.
    public let upstreamTrust: UpstreamTrustTable
    /// Hosts never intercepted (pinned apps, banks): their tunnels are spliced.
    public let noIntercept: HostPatternList
    let metrics: InterceptionMetrics

    /// - Parameters:
    ///   - upstreamTrustFiles: extra PEM CA files trusted for upstreams, besides the system store.
    ///   - leafCacheDirectory: persist minted leaves (and the shared leaf key) here across restarts.
    ///   - insecureUpstream: skip upstream verification entirely (logged loudly; tests and labs only).
    ///   - upstreamOverrides: per-destination trust (extra CA, or insecure), first match wins; an
    ///     extra CA adds to the system store and `upstreamTrustFiles`.
    ///   - noIntercept: host patterns (`bank.example`, `*.bank.example`, `.bank.example`) always spliced.
    ///   - registry: where interception metrics go (pass the gateway's registry).
    public init(authority: CertificateAuthority, upstreamTrustFiles: [String] = [], noIntercept: [String] = [],
                leafCacheCapacity: Int = 4096,
                leafCacheDirectory: String? = nil, leafValidityDays: Int = 7,
                insecureUpstream: Bool = false, upstreamOverrides: [UpstreamTrustOverride] = [],
                registry: MetricsRegistry = MetricsRegistry()) throws(TLSError) {
        let leafKey: PrivateKey?
        if let leafCacheDirectory {
            leafKey = try LeafCache.persistentLeafKey(directory: leafCacheDirectory)
        } else {
            leafKey = nil
        }
        let minter = try LeafMinter(authority: authority, leafKey: leafKey, validityDays: leafValidityDays)
        self.authority = authority
        leaves = try LeafCache(minter: minter, capacity: leafCacheCapacity, directory: leafCacheDirectory)
        clientSide = try TLSServerContext(minter: minter)
        upstreamTrust = try UpstreamTrustTable(
            base: TLSClientConfiguration(verifyPeer: !insecureUpstream, extraTrustFiles: upstreamTrustFiles),
            overrides: upstreamOverrides)
        self.noIntercept = try HostPatternList(noIntercept)
        metrics = InterceptionMetrics(registry)
        let logger = Logger(label: "customs.interception")
        if insecureUpstream {
            logger.warning("upstream certificate verification is OFF (--insecure-upstream)")
        }
        for override in upstreamOverrides where override.trust == .insecure {
            logger.warning("upstream certificate verification is OFF for hosts matching \(override.pattern) (\(override.flag))")
        }
    }

    /// The client context for an upstream whose certificate is checked against `serverName`. An
    /// unverified connection is logged (with the host) and counted, every time.
    func upstreamContext(for serverName: String, port: UInt16, logger: Logger) -> TLSClientContext {
        let choice = upstreamTrust.choice(for: serverName)
        if !choice.verifies {
            metrics.upstreamUnverified.increment()
            let policy = choice.override.map { "--insecure-upstream-host \($0.pattern)" } ?? "--insecure-upstream"
            logger.warning("upstream TLS certificate NOT verified (explicit insecure policy)",
                           metadata: ["host": "\(serverName)", "port": "\(port)", "policy": "\(policy)"])
        }
        return choice.context
    }

    /// Copies the leaf cache's counters into the metrics (cheap: one uncontended lock).
    func publishCacheStatistics() {
        let statistics = leaves.statistics
        metrics.leafHits.set(Int64(statistics.hits))
        metrics.leafMisses.set(Int64(statistics.misses))
        metrics.leafEvictions.set(Int64(statistics.evictions))
        metrics.leafEntries.set(Int64(statistics.entries))
    }
}

/// Interception's metric handles, registered once.
final class InterceptionMetrics: Sendable {
    let intercepted: Counter
    let upstreamRefused: Counter
    let clientHandshakeFailed: Counter
    let upstreamResumed: Counter
    let upstreamUnverified: Counter
    let leafHits: Gauge
    let leafMisses: Gauge
    let leafEvictions: Gauge
    let leafEntries: Gauge

    init(_ registry: MetricsRegistry) {
        intercepted = registry.counter("customs_tls_intercepted_total",
                                       help: "Tunnels intercepted with both TLS handshakes completed.")
        upstreamRefused = registry.counter("customs_tls_upstream_refused_total",
                                           help: "Intercepted tunnels whose upstream TLS was refused (502 to the client).")
        clientHandshakeFailed = registry.counter("customs_tls_client_handshake_failures_total",
                                                 help: "Clients that failed or abandoned the TLS handshake with the gateway.")
        upstreamResumed = registry.counter("customs_tls_upstream_resumed_total",
                                           help: "Upstream TLS connections that resumed a cached session.")
        upstreamUnverified = registry.counter("customs_tls_upstream_unverified_total",
                                              help: "Upstream TLS connections opened without certificate verification (explicit insecure policy).")
        leafHits = registry.gauge("customs_tls_leaf_cache_hits", help: "Minted-leaf cache hits since start.")
        leafMisses = registry.gauge("customs_tls_leaf_cache_misses", help: "Minted-leaf cache misses since start.")
        leafEvictions = registry.gauge("customs_tls_leaf_cache_evictions", help: "Minted leaves evicted from the cache since start.")
        leafEntries = registry.gauge("customs_tls_leaf_cache_entries", help: "Minted leaves in the cache.")
    }
}
