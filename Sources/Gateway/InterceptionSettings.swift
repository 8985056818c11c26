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
    public let upstreamSide: TLSClientContext
    /// Hosts never intercepted (pinned apps, banks): their tunnels are spliced.
    public let noIntercept: HostPatternList
    let metrics: InterceptionMetrics

    /// - Parameters:
    ///   - upstreamTrustFiles: extra PEM CA files trusted for upstreams, besides the system store.
    ///   - leafCacheDirectory: persist minted leaves (and the shared leaf key) here across restarts.
    ///   - insecureUpstream: skip upstream verification entirely (logged loudly; tests and labs only).
    ///   - noIntercept: host patterns (`bank.example`, `*.bank.example`, `.bank.example`) always spliced.
    ///   - registry: where interception metrics go (pass the gateway's registry).
    public init(authority: CertificateAuthority, upstreamTrustFiles: [String] = [], noIntercept: [String] = [],
                leafCacheCapacity: Int = 4096,
                leafCacheDirectory: String? = nil, leafValidityDays: Int = 7,
                insecureUpstream: Bool = false, registry: MetricsRegistry = MetricsRegistry()) throws(TLSError) {
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
        upstreamSide = try TLSClientContext(configuration: TLSClientConfiguration(
            verifyPeer: !insecureUpstream, extraTrustFiles: upstreamTrustFiles))
        self.noIntercept = try HostPatternList(noIntercept)
        metrics = InterceptionMetrics(registry)
        if insecureUpstream {
            Logger(label: "customs.interception").warning("upstream certificate verification is OFF (--insecure-upstream)")
        }
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
        leafHits = registry.gauge("customs_tls_leaf_cache_hits", help: "Minted-leaf cache hits since start.")
        leafMisses = registry.gauge("customs_tls_leaf_cache_misses", help: "Minted-leaf cache misses since start.")
        leafEvictions = registry.gauge("customs_tls_leaf_cache_evictions", help: "Minted leaves evicted from the cache since start.")
        leafEntries = registry.gauge("customs_tls_leaf_cache_entries", help: "Minted leaves in the cache.")
    }
}
