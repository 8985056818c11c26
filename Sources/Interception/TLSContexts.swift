import COpenSSL
import CTLSShims
import CustomsCore
import Logging
import Synchronization

public enum TLSVersion: Sendable, Equatable {
    case tls12
    case tls13

    var openSSLValue: Int32 {
        switch self {
        case .tls12: return TLS1_2_VERSION
        case .tls13: return TLS1_3_VERSION
        }
    }
}

/// Server side of interception: presents minted leaves (all sharing the minter's key) with the
/// chain up to the installed root, and selects ALPN http/1.1 when the client offers it.
public final class TLSServerContext: @unchecked Sendable {
    // Immutable after init; OpenSSL makes SSL_CTX safe to share for SSL_new across threads.
    let ctx: OpaquePointer
    let chain: OpaquePointer
    let leafKey: PrivateKey

    public init(minter: LeafMinter, minimumVersion: TLSVersion = .tls12) throws(TLSError) {
        guard let ctx = SSL_CTX_new(TLS_server_method()) else { throw openSSLFailure("SSL_CTX_new (server)") }
        guard let chain = customs_x509_stack_new() else {
            SSL_CTX_free(ctx)
            throw openSSLFailure("certificate chain")
        }
        self.ctx = ctx
        self.chain = chain
        self.leafKey = minter.leafKey
        let authority = minter.authority
        // Clients hold the root already; send only what links the leaf to it.
        let ca = authority.certificate
        let selfSigned = X509_NAME_cmp(X509_get_subject_name(ca.x509), X509_get_issuer_name(ca.x509)) == 0
        for certificate in (selfSigned ? [] : [ca]) + authority.intermediates {
            guard customs_x509_stack_push_ref(chain, certificate.x509) == 1 else { throw openSSLFailure("certificate chain") }
        }
        guard customs_ssl_ctx_set_proto_range(ctx, minimumVersion.openSSLValue, TLS1_3_VERSION) == 1 else {
            throw openSSLFailure("TLS version range")
        }
        customs_ssl_ctx_set_release_buffers(ctx)
        customs_ssl_ctx_select_http11(ctx)
    }

    deinit {
        customs_x509_stack_free(chain)
        SSL_CTX_free(ctx)
    }
}

public struct TLSClientConfiguration: Sendable {
    /// Verify the upstream's certificate chain and name. Turning this off is for explicit,
    /// logged per-destination policy only.
    public var verifyPeer: Bool
    /// Trust the system store (/etc/ssl/certs) in addition to `extraTrustFiles`.
    public var useSystemTrustStore: Bool
    /// Extra PEM CA files to trust (private PKI upstreams, tests).
    public var extraTrustFiles: [String]
    public var alpn: [String]
    public var minimumVersion: TLSVersion
    public var maximumVersion: TLSVersion
    /// Upstream sessions kept for resumption, keyed by host:port.
    public var sessionCacheCapacity: Int

    public init(verifyPeer: Bool = true, useSystemTrustStore: Bool = true, extraTrustFiles: [String] = [],
                alpn: [String] = ["http/1.1"], minimumVersion: TLSVersion = .tls12,
                maximumVersion: TLSVersion = .tls13, sessionCacheCapacity: Int = 1024) {
        self.verifyPeer = verifyPeer
        self.useSystemTrustStore = useSystemTrustStore
        self.extraTrustFiles = extraTrustFiles
        self.alpn = alpn
        self.minimumVersion = minimumVersion
        self.maximumVersion = maximumVersion
        self.sessionCacheCapacity = sessionCacheCapacity
    }
}

/// Client side, towards upstreams: trust store, verification, and a session cache so a second
/// connection to the same host:port resumes instead of doing a full handshake.
public final class TLSClientContext: Sendable {
    public let configuration: TLSClientConfiguration
    nonisolated(unsafe) let ctx: OpaquePointer  // immutable after init; shared SSL_CTX is thread-safe
    let alpnWire: [UInt8]
    private let sessions: Mutex<LRUCache<String, SessionBox>>
    private static let logger = Logger(label: "customs.interception")

    public init(configuration: TLSClientConfiguration = TLSClientConfiguration()) throws(TLSError) {
        guard let ctx = SSL_CTX_new(TLS_client_method()) else { throw openSSLFailure("SSL_CTX_new (client)") }
        self.ctx = ctx
        self.configuration = configuration
        self.sessions = Mutex(LRUCache(capacity: max(1, configuration.sessionCacheCapacity)))
        var wire: [UInt8] = []
        for protocolName in configuration.alpn {
            let bytes = Array(protocolName.utf8)
            guard (1...255).contains(bytes.count) else {
                throw .openSSL(operation: "ALPN configuration", details: "protocol name '\(protocolName)' has a bad length")
            }
            wire.append(UInt8(bytes.count))
            wire += bytes
        }
        alpnWire = wire
        guard customs_ssl_ctx_set_proto_range(ctx, configuration.minimumVersion.openSSLValue,
                                              configuration.maximumVersion.openSSLValue) == 1 else {
            throw openSSLFailure("TLS version range")
        }
        if configuration.useSystemTrustStore, SSL_CTX_set_default_verify_paths(ctx) != 1 {
            throw openSSLFailure("loading the system trust store")
        }
        for file in configuration.extraTrustFiles {
            guard SSL_CTX_load_verify_locations(ctx, file, nil) == 1 else {
                throw .invalidPEM(path: file, what: "CA certificate", details: drainOpenSSLErrors())
            }
        }
        if configuration.verifyPeer {
            SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nil)
        } else {
            Self.logger.warning("upstream TLS verification is OFF for this context (explicit insecure policy)")
            SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, nil)
        }
        customs_ssl_ctx_set_release_buffers(ctx)
        customs_ssl_ctx_use_external_client_cache(ctx)
        SSL_CTX_sess_set_new_cb(ctx, tlsClientNewSession)
        SSL_CTX_set_ex_data(ctx, 0, Unmanaged.passUnretained(self).toOpaque())
    }

    deinit { SSL_CTX_free(ctx) }

    func session(for key: String) -> SessionBox? {
        sessions.withLock { $0.get(key) }
    }

    func store(_ session: SessionBox, for key: String) {
        sessions.withLock { _ = $0.set(key, session) }
    }

    /// Number of upstream sessions held for resumption.
    public var cachedSessionCount: Int { sessions.withLock { $0.count } }
}

/// One SSL_SESSION reference. Sessions are immutable once issued; OpenSSL reference-counts them.
final class SessionBox: @unchecked Sendable {
    let session: OpaquePointer
    init(owning session: OpaquePointer) { self.session = session }
    deinit { SSL_SESSION_free(session) }
}

/// OpenSSL's new-session callback: file the session under the engine's host:port.
private func tlsClientNewSession(_ ssl: OpaquePointer?, _ session: OpaquePointer?) -> Int32 {
    guard let ssl, let session, SSL_SESSION_is_resumable(session) == 1,
          let ctx = SSL_get_SSL_CTX(ssl),
          let contextPointer = SSL_CTX_get_ex_data(ctx, 0),
          let enginePointer = SSL_get_ex_data(ssl, 0) else { return 0 }
    let context = Unmanaged<TLSClientContext>.fromOpaque(contextPointer).takeUnretainedValue()
    let engine = Unmanaged<TLSEngine>.fromOpaque(enginePointer).takeUnretainedValue()
    guard let key = engine.sessionKey else { return 0 }
    context.store(SessionBox(owning: session), for: key)
    return 1  // we keep the reference
}
