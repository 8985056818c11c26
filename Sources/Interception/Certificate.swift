import COpenSSL
import CTLSShims
import CustomsCore
import Foundation

/// An X.509 certificate. Immutable once built, so it is shared across queues freely.
public final class Certificate: @unchecked Sendable {
    let x509: OpaquePointer

    /// Takes ownership of one reference to `x509`.
    init(owning x509: OpaquePointer) { self.x509 = x509 }
    deinit { X509_free(x509) }

    /// All certificates in a PEM string, in order.
    public static func parseAll(pem: String, path: String = "<memory>") throws(TLSError) -> [Certificate] {
        let bio = try MemoryBIO(bytes: Array(pem.utf8))
        var result: [Certificate] = []
        while let cert = PEM_read_bio_X509(bio.pointer, nil, nil, nil) {
            result.append(Certificate(owning: cert))
        }
        ERR_clear_error()  // the loop ends on a "no start line" error
        if result.isEmpty { throw .invalidPEM(path: path, what: "certificate", details: "") }
        return result
    }

    public var pem: String {
        guard let bio = try? MemoryBIO() else { return "" }
        PEM_write_bio_X509(bio.pointer, x509)
        return bio.string
    }

    public var der: [UInt8] {
        let length = i2d_X509(x509, nil)
        guard length > 0 else { return [] }
        var bytes = [UInt8](repeating: 0, count: Int(length))
        bytes.withUnsafeMutableBufferPointer { buffer in
            var cursor: UnsafeMutablePointer<UInt8>? = buffer.baseAddress
            _ = i2d_X509(x509, &cursor)
        }
        return bytes
    }

    /// Subject in the one-line RFC 2253 form, e.g. "CN=Customs Interception CA,O=Customs".
    public var subject: String { Self.nameString(X509_get_subject_name(x509)) }
    public var issuer: String { Self.nameString(X509_get_issuer_name(x509)) }

    /// The subject's commonName, if any.
    public var commonName: String? {
        guard let name = X509_get_subject_name(x509) else { return nil }
        let index = X509_NAME_get_index_by_NID(name, NID_commonName, -1)
        guard index >= 0, let entry = X509_NAME_get_entry(name, index),
              let data = X509_NAME_ENTRY_get_data(entry) else { return nil }
        var utf8: UnsafeMutablePointer<UInt8>?
        let length = ASN1_STRING_to_UTF8(&utf8, data)
        guard length >= 0, let utf8 else { return nil }
        defer { customs_free(utf8) }
        return String(decoding: UnsafeBufferPointer(start: utf8, count: Int(length)), as: UTF8.self)
    }

    /// DNS names and IP addresses in subjectAltName (IP addresses in their usual text form).
    public var subjectAlternativeNames: [String] {
        guard let raw = customs_x509_copy_san_names(x509) else { return [] }
        defer { customs_free(raw) }
        var names: [String] = []
        for line in String(cString: raw).split(separator: "\n") {
            if line.hasPrefix("DNS:") {
                names.append(String(line.dropFirst(4)))
            } else if line.hasPrefix("IPHEX:") {
                let bytes = line.dropFirst(6).split(separator: ":").compactMap { UInt8($0, radix: 16) }
                if let ip = Self.ipAddress(bytes) { names.append(ip.description) }
            }
        }
        return names
    }

    /// SHA-256 of the DER encoding, as colon-separated upper-case hex (the way browsers show it).
    public var sha256Fingerprint: String {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        guard X509_digest(x509, EVP_sha256(), &digest, &length) == 1 else { return "" }
        return digest.prefix(Int(length)).map { byte in
            let hex = String(byte, radix: 16, uppercase: true)
            return hex.count == 1 ? "0" + hex : hex
        }.joined(separator: ":")
    }

    public var notBefore: Date { Self.date(X509_get0_notBefore(x509)) }
    public var notAfter: Date { Self.date(X509_get0_notAfter(x509)) }

    /// Serial number as upper-case hex.
    public var serialHex: String {
        guard let serial = X509_get0_serialNumber(x509), let bn = ASN1_INTEGER_to_BN(serial, nil) else { return "" }
        defer { BN_free(bn) }
        guard let hex = BN_bn2hex(bn) else { return "" }
        defer { customs_free(hex) }
        return String(cString: hex)
    }

    /// True when `issuer`'s key signed this certificate.
    func isSigned(by issuer: Certificate) -> Bool {
        guard let key = X509_get0_pubkey(issuer.x509) else { return false }
        let ok = X509_verify(x509, key) == 1
        ERR_clear_error()
        return ok
    }

    static func ipAddress(_ bytes: [UInt8]) -> IPAddress? {
        if bytes.count == 4 {
            return .v4(bytes.reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
        }
        if bytes.count == 16 {
            let hi = bytes[0..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let lo = bytes[8..<16].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            return .v6(hi, lo)
        }
        return nil
    }

    private static func nameString(_ name: OpaquePointer?) -> String {
        guard let name, let bio = try? MemoryBIO() else { return "" }
        X509_NAME_print_ex(bio.pointer, name, 0, customs_xn_flag_rfc2253())
        return bio.string
    }

    private static func date(_ time: UnsafePointer<ASN1_TIME>?) -> Date {
        guard let time else { return .distantPast }
        var tm = tm()
        guard ASN1_TIME_to_tm(time, &tm) == 1 else { return .distantPast }
        return Date(timeIntervalSince1970: TimeInterval(timegm(&tm)))
    }
}

/// A private key (ECDSA P-256 or RSA). Immutable once created.
public final class PrivateKey: @unchecked Sendable {
    let pkey: OpaquePointer

    init(owning pkey: OpaquePointer) { self.pkey = pkey }
    deinit { EVP_PKEY_free(pkey) }

    public enum Kind: Sendable, Equatable {
        case ecdsaP256
        case rsa(bits: Int)
    }

    public static func generate(_ kind: Kind) throws(TLSError) -> PrivateKey {
        let key: OpaquePointer?
        switch kind {
        case .ecdsaP256: key = customs_keygen_ec_p256()
        case let .rsa(bits):
            guard (2048...8192).contains(bits) else {
                throw .openSSL(operation: "RSA key generation", details: "key size must be 2048 to 8192 bits, got \(bits)")
            }
            key = customs_keygen_rsa(UInt32(bits))
        }
        guard let key else { throw openSSLFailure("key generation") }
        return PrivateKey(owning: key)
    }

    public static func parse(pem: String, path: String = "<memory>") throws(TLSError) -> PrivateKey {
        let bio = try MemoryBIO(bytes: Array(pem.utf8))
        guard let key = PEM_read_bio_PrivateKey(bio.pointer, nil, nil, nil) else {
            throw .invalidPEM(path: path, what: "private key", details: drainOpenSSLErrors())
        }
        return PrivateKey(owning: key)
    }

    /// Unencrypted PKCS#8 PEM.
    public var pem: String {
        guard let bio = try? MemoryBIO() else { return "" }
        PEM_write_bio_PrivateKey(bio.pointer, pkey, nil, nil, 0, nil, nil)
        return bio.string
    }

    /// "EC P-256" or "RSA 3072".
    public var algorithmDescription: String {
        let bits = EVP_PKEY_get_bits(pkey)
        return EVP_PKEY_get_base_id(pkey) == EVP_PKEY_RSA ? "RSA \(bits)" : "EC P-\(bits)"
    }

    func matches(_ certificate: Certificate) -> Bool {
        let ok = X509_check_private_key(certificate.x509, pkey) == 1
        ERR_clear_error()
        return ok
    }
}

/// An owned OpenSSL memory BIO, used to move PEM text in and out.
final class MemoryBIO {
    let pointer: OpaquePointer

    init() throws(TLSError) {
        guard let bio = BIO_new(BIO_s_mem()) else { throw openSSLFailure("BIO_new") }
        pointer = bio
    }

    convenience init(bytes: [UInt8]) throws(TLSError) {
        try self.init()
        let written = bytes.withUnsafeBytes { BIO_write(pointer, $0.baseAddress, Int32($0.count)) }
        if written != bytes.count && !bytes.isEmpty { throw openSSLFailure("BIO_write") }
    }

    deinit { BIO_free(pointer) }

    var string: String {
        var result = [UInt8](repeating: 0, count: Int(BIO_ctrl_pending(pointer)))
        let read = result.withUnsafeMutableBytes { BIO_read(pointer, $0.baseAddress, Int32($0.count)) }
        return String(decoding: result.prefix(max(0, Int(read))), as: UTF8.self)
    }
}
