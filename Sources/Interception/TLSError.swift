import COpenSSL

/// Everything that can go wrong in the Interception module, with enough context to act on.
public enum TLSError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A file could not be read, written or created.
    case io(path: String, reason: String)
    /// A PEM file did not hold what was expected (`what`: "certificate", "private key").
    case invalidPEM(path: String, what: String, details: String)
    /// `ca init` would overwrite an existing CA.
    case caAlreadyExists(path: String)
    /// The certificate cannot sign leaves (not CA:TRUE, or no keyCertSign).
    case notACertificateAuthority(path: String)
    /// The private key does not belong to the certificate.
    case keyMismatch(certificatePath: String, keyPath: String)
    /// A host name or IP address that cannot go into a certificate.
    case invalidName(String)
    /// A per-destination upstream trust override that cannot be used (`reason` says why).
    case invalidOverride(String, reason: String)
    /// An OpenSSL call failed; `details` is OpenSSL's error queue.
    case openSSL(operation: String, details: String)
    /// The TLS handshake failed (protocol error, alert from the peer, no shared cipher…).
    case handshakeFailed(details: String)
    /// The peer's certificate was refused; `reason` reads like "certificate has expired".
    case verificationFailed(host: String, reason: String)
    /// The peer closed the connection before the handshake completed.
    case closedDuringHandshake
    /// An established connection broke (bad record, unexpected alert).
    case connectionFailed(details: String)

    public var description: String {
        switch self {
        case let .io(path, reason): return "\(path): \(reason)"
        case let .invalidPEM(path, what, details):
            return "\(path): no valid PEM \(what) found" + (details.isEmpty ? "" : " (\(details))")
        case let .caAlreadyExists(path):
            return "\(path): a CA already exists here (use --force to replace it)"
        case let .notACertificateAuthority(path):
            return "\(path): certificate is not a CA (needs basicConstraints CA:TRUE and keyUsage keyCertSign)"
        case let .keyMismatch(cert, key): return "\(key): private key does not match certificate \(cert)"
        case let .invalidName(name): return "'\(name)' is not a valid host name or IP address for a certificate"
        case let .invalidOverride(text, reason): return "upstream trust override '\(text)': \(reason)"
        case let .openSSL(operation, details):
            return "\(operation) failed" + (details.isEmpty ? "" : ": \(details)")
        case let .handshakeFailed(details): return "TLS handshake failed" + (details.isEmpty ? "" : ": \(details)")
        case let .verificationFailed(host, reason): return "certificate of \(host) refused: \(reason)"
        case .closedDuringHandshake: return "connection closed during the TLS handshake"
        case let .connectionFailed(details): return "TLS connection failed" + (details.isEmpty ? "" : ": \(details)")
        }
    }
}

/// Drains OpenSSL's thread-local error queue into one readable line.
func drainOpenSSLErrors() -> String {
    var parts: [String] = []
    var buffer = [CChar](repeating: 0, count: 256)
    while true {
        let code = ERR_get_error()
        if code == 0 { break }
        ERR_error_string_n(code, &buffer, buffer.count)
        parts.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }
    return parts.joined(separator: "; ")
}

func openSSLFailure(_ operation: String) -> TLSError {
    .openSSL(operation: operation, details: drainOpenSSLErrors())
}
