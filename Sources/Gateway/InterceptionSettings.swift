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

    /// - Parameters:
    ///   - upstreamTrustFiles: extra PEM CA files trusted for upstreams, besides the system store.
    ///   - leafCacheDirectory: persist minted leaves (and the shared leaf key) here across restarts.
    ///   - insecureUpstream: skip upstream verification entirely (logged loudly; tests and labs only).
    public init(authority: CertificateAuthority, upstreamTrustFiles: [String] = [], leafCacheCapacity: Int = 4096,
                leafCacheDirectory: String? = nil, leafValidityDays: Int = 7,
                insecureUpstream: Bool = false) throws(TLSError) {
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
    }
}
