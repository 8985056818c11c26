import ArgumentParser
import Foundation
import Gateway
import Interception

/// `customs serve` flags that turn on TLS interception.
struct InterceptionOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Intercept HTTPS with this CA (ca.crt + ca.key, from 'customs ca init'); without it CONNECT tunnels are spliced.", valueName: "DIR"))
    var ca: String?

    @Option(name: .customLong("upstream-ca"), help: ArgumentHelp("Extra CA file trusted for upstream servers, besides the system store; repeatable.", valueName: "FILE"))
    var upstreamCA: [String] = []

    @Option(name: .customLong("upstream-trust"), help: ArgumentHelp("For upstream hosts matching PATTERN (as for --no-intercept), also trust this CA file; repeatable, first match wins.", valueName: "PATTERN=CAFILE"))
    var upstreamTrust: [String] = []

    @Option(name: .customLong("insecure-upstream-host"), help: ArgumentHelp("Do not verify upstream certificates for hosts matching PATTERN only (each connection logged, counted in customs_tls_upstream_unverified_total); repeatable, checked after every --upstream-trust.", valueName: "PATTERN"))
    var insecureUpstreamHost: [String] = []

    @Option(name: .customLong("no-intercept"), help: ArgumentHelp("Never intercept this host (bank.example, *.bank.example, .bank.example); repeatable.", valueName: "PATTERN"))
    var noIntercept: [String] = []

    @Option(name: .customLong("leaf-cache-size"), help: "Minted leaf certificates kept in memory.")
    var leafCacheSize: Int = 4096

    @Option(name: .customLong("leaf-cache-dir"), help: ArgumentHelp("Persist minted leaves (and the shared leaf key) here across restarts.", valueName: "DIR"))
    var leafCacheDir: String?

    @Option(name: .customLong("leaf-days"), help: "Validity of minted leaf certificates, in days.")
    var leafDays: Int = 7

    @Flag(name: .customLong("insecure-upstream"), help: "Do not verify upstream certificates (labs only; logged).")
    var insecureUpstream = false

    func validate() throws {
        if ca == nil && (!upstreamCA.isEmpty || !noIntercept.isEmpty || leafCacheDir != nil || insecureUpstream
                         || !upstreamTrust.isEmpty || !insecureUpstreamHost.isEmpty) {
            throw ValidationError("--upstream-ca, --upstream-trust, --insecure-upstream(-host), --no-intercept and --leaf-cache-dir need --ca")
        }
        guard leafCacheSize >= 1 else { throw ValidationError("--leaf-cache-size must be at least 1") }
        guard (1...397).contains(leafDays) else { throw ValidationError("--leaf-days must be 1 to 397") }
    }

    /// nil when interception is off.
    func settings(registry: MetricsRegistry) throws -> InterceptionSettings? {
        guard let ca else { return nil }
        let authority = try CertificateAuthority.load(directory: ca)
        // Verification wins: every --upstream-trust is consulted before any --insecure-upstream-host.
        var overrides: [UpstreamTrustOverride] = []
        for text in upstreamTrust { overrides.append(try UpstreamTrustOverride.extraCA(text)) }
        overrides += insecureUpstreamHost.map { UpstreamTrustOverride(pattern: $0, trust: .insecure) }
        return try InterceptionSettings(authority: authority, upstreamTrustFiles: upstreamCA, noIntercept: noIntercept,
                                        leafCacheCapacity: leafCacheSize, leafCacheDirectory: leafCacheDir,
                                        leafValidityDays: leafDays, insecureUpstream: insecureUpstream,
                                        upstreamOverrides: overrides, registry: registry)
    }
}
