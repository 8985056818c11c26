import COpenSSL
import CTLSShims
import CustomsCore

/// Outcome of checking the peer's certificate.
public enum TLSVerifyResult: Sendable, Equatable {
    case ok
    /// Readable reason, e.g. "certificate has expired", "hostname mismatch".
    case failed(reason: String)
    /// Server mode (clients are not asked for certificates) or no certificate seen yet.
    case notChecked
}

/// TLS over memory buffers: the caller moves ciphertext between the socket and the engine and
/// plaintext between the engine and the application; OpenSSL never touches a socket. Not thread
/// safe: confine each engine to one serial queue (its connection's).
public final class TLSEngine {
    public enum Mode: Sendable, Equatable { case server, client }

    public enum State: Sendable, Equatable {
        case handshaking
        case established
        /// Closed by the peer (close_notify, or end of stream after the handshake).
        case closed
        case failed(TLSError)
    }

    public let mode: Mode
    public private(set) var state: State = .handshaking
    /// True when the peer ended with close_notify rather than just dropping the connection.
    public private(set) var receivedCloseNotify = false
    /// host:port for client engines (the session cache key).
    let sessionKey: String?
    private let host: String?
    private let ssl: OpaquePointer
    private let networkIn: OpaquePointer   // ciphertext from the peer, read by OpenSSL
    private let networkOut: OpaquePointer  // ciphertext written by OpenSSL, to send
    private var peerEnded = false
    private var deferredEnd: State?
    private var scratch = [UInt8](repeating: 0, count: 16 * 1024)
    // Keep the contexts alive as long as the SSL that points into them.
    private let serverContext: TLSServerContext?
    private let clientContext: TLSClientContext?

    /// Terminates a client's TLS with `leaf` (interception).
    public init(server context: TLSServerContext, leaf: LeafCertificate) throws(TLSError) {
        mode = .server
        serverContext = context
        clientContext = nil
        sessionKey = nil
        host = nil
        (ssl, networkIn, networkOut) = try Self.makeSSL(context.ctx)
        guard SSL_use_cert_and_key(ssl, leaf.certificate.x509, context.leafKey.pkey, context.chain, 1) == 1 else {
            SSL_free(ssl)
            throw openSSLFailure("installing the minted leaf")
        }
        SSL_set_accept_state(ssl)
    }

    /// Connects to an upstream `host` (a DNS name or IP address literal) on `port`. The
    /// ClientHello is ready in `takeCiphertext()` as soon as this returns.
    public init(client context: TLSClientContext, host: String, port: Int) throws(TLSError) {
        mode = .client
        serverContext = nil
        clientContext = context
        let bareHost = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        self.host = bareHost
        sessionKey = "\(bareHost.lowercased()):\(port)"
        (ssl, networkIn, networkOut) = try Self.makeSSL(context.ctx)
        do throws(TLSError) {
            if IPAddress(bareHost) != nil {
                // No SNI for IP literals (RFC 6066); check the address against IP SANs instead.
                guard X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), bareHost) == 1 else {
                    throw openSSLFailure("upstream IP check")
                }
            } else {
                guard customs_ssl_set_sni(ssl, bareHost) == 1, SSL_set1_host(ssl, bareHost) == 1 else {
                    throw openSSLFailure("upstream SNI and hostname check")
                }
            }
            if !context.alpnWire.isEmpty {
                // SSL_set_alpn_protos returns 0 on success.
                guard SSL_set_alpn_protos(ssl, context.alpnWire, UInt32(context.alpnWire.count)) == 0 else {
                    throw openSSLFailure("upstream ALPN")
                }
            }
        } catch {
            SSL_free(ssl)
            throw error
        }
        if let cached = context.session(for: sessionKey!) {
            SSL_set_session(ssl, cached.session)
        }
        SSL_set_connect_state(ssl)
        SSL_set_ex_data(ssl, 0, Unmanaged.passUnretained(self).toOpaque())
        advanceHandshake()
    }

    deinit { SSL_free(ssl) }  // frees both BIOs

    private static func makeSSL(_ ctx: OpaquePointer) throws(TLSError) -> (OpaquePointer, OpaquePointer, OpaquePointer) {
        guard let ssl = SSL_new(ctx) else { throw openSSLFailure("SSL_new") }
        guard let input = customs_bio_new_retrying_mem() else {
            SSL_free(ssl)
            throw openSSLFailure("BIO_new")
        }
        guard let output = customs_bio_new_retrying_mem() else {
            BIO_free(input)
            SSL_free(ssl)
            throw openSSLFailure("BIO_new")
        }
        SSL_set_bio(ssl, input, output)
        return (ssl, input, output)
    }

    // MARK: ciphertext side

    /// Hands bytes received from the peer to the engine and advances the handshake.
    public func feedCiphertext(_ bytes: UnsafeRawBufferPointer) {
        if !bytes.isEmpty {
            _ = BIO_write(networkIn, bytes.baseAddress, Int32(bytes.count))
        }
        if state == .handshaking { advanceHandshake() }
    }

    public func feedCiphertext(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { feedCiphertext($0) }
    }

    /// The peer's side of the connection ended (read returned 0).
    public func feedEndOfStream() {
        peerEnded = true
        if state == .handshaking {
            advanceHandshake()
            if state == .handshaking { state = .failed(.closedDuringHandshake) }
        }
    }

    /// Bytes waiting to be sent to the peer.
    public var pendingCiphertextCount: Int { Int(BIO_ctrl_pending(networkOut)) }

    /// Removes and returns the bytes to send to the peer.
    public func takeCiphertext() -> [UInt8] {
        var out: [UInt8] = []
        takeCiphertext(appendingTo: &out)
        return out
    }

    public func takeCiphertext(appendingTo buffer: inout [UInt8]) {
        let pending = Int(BIO_ctrl_pending(networkOut))
        guard pending > 0 else { return }
        let start = buffer.count
        buffer.append(contentsOf: repeatElement(0, count: pending))
        let read = buffer.withUnsafeMutableBytes { raw in
            BIO_read(networkOut, raw.baseAddress! + start, Int32(pending))
        }
        buffer.removeLast(pending - max(0, Int(read)))
    }

    // MARK: plaintext side

    /// Appends decrypted application data to `buffer` (up to `maximum` bytes) and returns how many
    /// bytes were added. Check `state` afterwards for closure or failure.
    @discardableResult
    public func readPlaintext(appendingTo buffer: inout [UInt8], maximum: Int = Int.max) -> Int {
        var total = 0
        while total < maximum {
            let wanted = min(scratch.count, maximum - total)
            let got = scratch.withUnsafeMutableBytes { readPlaintext(into: UnsafeMutableRawBufferPointer(rebasing: $0[0..<wanted])) }
            if got == 0 { break }
            buffer.append(contentsOf: scratch[0..<got])
            total += got
        }
        return total
    }

    /// Decrypts application data straight into `buffer`; returns the byte count, 0 when nothing
    /// is available now (then `state` tells whether more may come).
    public func readPlaintext(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        if state == .handshaking { advanceHandshake() }
        guard state == .established, !buffer.isEmpty else { return 0 }
        if let end = deferredEnd {
            state = end
            return 0
        }
        var total = 0
        while total < buffer.count {
            var got = 0
            let ok = SSL_read_ex(ssl, buffer.baseAddress! + total, buffer.count - total, &got)
            if ok == 1 {
                total += got
                continue
            }
            // The end is reported on the call after the last data, so no byte is lost with it.
            switch SSL_get_error(ssl, ok) {
            case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
                if peerEnded { deferredEnd = .closed }  // truncated without close_notify
            case SSL_ERROR_ZERO_RETURN:
                receivedCloseNotify = true
                deferredEnd = .closed
            default:
                deferredEnd = .failed(.connectionFailed(details: drainOpenSSLErrors()))
            }
            if total == 0, let end = deferredEnd { state = end }
            break
        }
        return total
    }

    /// True when decrypted data or unprocessed records are held inside the engine, so a reader
    /// should come back even if the socket has nothing new.
    public var hasBufferedInput: Bool {
        (state == .established && deferredEnd != nil) || SSL_pending(ssl) > 0 || BIO_ctrl_pending(networkIn) > 0
    }

    /// Encrypts application data; the records are then in `takeCiphertext()`. Returns the number
    /// of bytes accepted (all of them once established; 0 before the handshake or after failure).
    @discardableResult
    public func writePlaintext(_ bytes: UnsafeRawBufferPointer) -> Int {
        guard state == .established, !bytes.isEmpty else { return 0 }
        var written = 0
        if SSL_write_ex(ssl, bytes.baseAddress, bytes.count, &written) == 1 { return written }
        let code = SSL_get_error(ssl, 0)
        if code != SSL_ERROR_WANT_READ && code != SSL_ERROR_WANT_WRITE {
            state = .failed(.connectionFailed(details: drainOpenSSLErrors()))
        }
        return 0
    }

    @discardableResult
    public func writePlaintext(_ bytes: [UInt8]) -> Int {
        bytes.withUnsafeBytes { writePlaintext($0) }
    }

    /// Queues a close_notify alert (send it with `takeCiphertext()`).
    public func close() {
        guard state == .established || state == .closed else { return }
        _ = SSL_shutdown(ssl)
        ERR_clear_error()
    }

    // MARK: what was negotiated

    public var negotiatedALPN: String? {
        var data: UnsafePointer<UInt8>?
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &data, &length)
        guard let data, length > 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(length)), as: UTF8.self)
    }

    /// "TLSv1.2" or "TLSv1.3" once established.
    public var protocolVersion: String { String(cString: SSL_get_version(ssl)) }

    /// True when this client connection resumed a cached session.
    public var sessionReused: Bool { customs_ssl_session_reused(ssl) == 1 }

    /// The SNI the client sent (server mode).
    public var requestedServerName: String? {
        guard let name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name) else { return nil }
        return String(cString: name)
    }

    public var peerCertificate: Certificate? {
        guard let x509 = SSL_get1_peer_certificate(ssl) else { return nil }
        return Certificate(owning: x509)
    }

    /// The DNS names and IP addresses the peer's certificate is valid for (its CN when it has no
    /// subjectAltName).
    public var peerCertificateNames: [String] {
        guard let certificate = peerCertificate else { return [] }
        let names = certificate.subjectAlternativeNames
        if !names.isEmpty { return names }
        return certificate.commonName.map { [$0] } ?? []
    }

    public var verifyResult: TLSVerifyResult {
        guard mode == .client else { return .notChecked }
        let code = SSL_get_verify_result(ssl)
        if code != X509_V_OK { return .failed(reason: Self.verifyReason(code)) }
        return SSL_get0_peer_certificate(ssl) == nil ? .notChecked : .ok
    }

    private static func verifyReason(_ code: Int) -> String {
        if code == X509_V_ERR_HOSTNAME_MISMATCH { return "hostname mismatch" }
        if code == X509_V_ERR_IP_ADDRESS_MISMATCH { return "IP address mismatch" }
        return String(cString: X509_verify_cert_error_string(code))
    }

    // MARK: handshake state machine

    private func advanceHandshake() {
        let result = SSL_do_handshake(ssl)
        if result == 1 {
            state = .established
            return
        }
        switch SSL_get_error(ssl, result) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
            if peerEnded { state = .failed(.closedDuringHandshake) }
        case SSL_ERROR_ZERO_RETURN:
            state = .failed(.closedDuringHandshake)
        default:
            let details = drainOpenSSLErrors()
            if mode == .client, case let .failed(reason) = verifyResult {
                state = .failed(.verificationFailed(host: host ?? "upstream", reason: reason))
            } else {
                state = .failed(.handshakeFailed(details: details))
            }
        }
    }
}
