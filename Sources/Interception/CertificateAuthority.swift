import COpenSSL
import CTLSShims
import Foundation

/// The interception CA: the certificate clients trust, its key, and any intermediates between it
/// and the root the clients installed (sent to clients as the chain).
public final class CertificateAuthority: Sendable {
    public let certificate: Certificate
    public let key: PrivateKey
    public let intermediates: [Certificate]

    public static let certificateFileName = "ca.crt"
    public static let keyFileName = "ca.key"

    public struct Options: Sendable {
        public var commonName: String
        public var organization: String
        public var keyKind: PrivateKey.Kind
        public var validityDays: Int

        public init(commonName: String = "Customs Interception CA", organization: String = "Customs",
                    keyKind: PrivateKey.Kind = .ecdsaP256, validityDays: Int = 3650) {
            self.commonName = commonName
            self.organization = organization
            self.keyKind = keyKind
            self.validityDays = validityDays
        }
    }

    public init(certificate: Certificate, key: PrivateKey, intermediates: [Certificate] = [],
                source: String = "<memory>") throws(TLSError) {
        guard key.matches(certificate) else { throw .keyMismatch(certificatePath: source, keyPath: source) }
        guard X509_check_ca(certificate.x509) >= 1,
              X509_get_key_usage(certificate.x509) & UInt32(KU_KEY_CERT_SIGN) != 0 else {
            throw .notACertificateAuthority(path: source)
        }
        self.certificate = certificate
        self.key = key
        self.intermediates = intermediates
    }

    /// A new self-signed CA: basicConstraints CA:TRUE (critical), keyUsage keyCertSign+cRLSign
    /// (critical), subject key identifier.
    public static func generate(_ options: Options = Options()) throws(TLSError) -> CertificateAuthority {
        guard (1...36500).contains(options.validityDays) else {
            throw .openSSL(operation: "CA creation", details: "validity must be 1 to 36500 days, got \(options.validityDays)")
        }
        let key = try PrivateKey.generate(options.keyKind)
        guard let x509 = X509_new() else { throw openSSLFailure("X509_new") }
        let certificate = Certificate(owning: x509)
        try setSerialAndValidity(x509, notBefore: -3600, notAfter: options.validityDays * 86400)
        guard let name = X509_get_subject_name(x509) else { throw openSSLFailure("X509_get_subject_name") }
        try addNameEntry(name, "O", options.organization)
        try addNameEntry(name, "CN", options.commonName)
        guard X509_set_version(x509, 2) == 1, X509_set_issuer_name(x509, name) == 1,
              X509_set_pubkey(x509, key.pkey) == 1 else { throw openSSLFailure("CA certificate fields") }
        for (nid, value) in [(NID_basic_constraints, "critical,CA:TRUE"),
                             (NID_key_usage, "critical,keyCertSign,cRLSign"),
                             (NID_subject_key_identifier, "hash"),
                             (NID_authority_key_identifier, "keyid:always")] {
            guard customs_x509_add_ext(x509, x509, nid, value) == 1 else { throw openSSLFailure("CA extension \(value)") }
        }
        guard X509_sign(x509, key.pkey, EVP_sha256()) > 0 else { throw openSSLFailure("CA self-signature") }
        return try CertificateAuthority(certificate: certificate, key: key)
    }

    /// Loads `ca.crt` (the signing certificate, then any intermediates) and `ca.key` from `directory`.
    public static func load(directory: String) throws(TLSError) -> CertificateAuthority {
        try load(certificateFile: (directory as NSString).appendingPathComponent(certificateFileName),
                 keyFile: (directory as NSString).appendingPathComponent(keyFileName))
    }

    /// Loads a PEM certificate file (signing certificate first, intermediates after) and a PEM key.
    public static func load(certificateFile: String, keyFile: String) throws(TLSError) -> CertificateAuthority {
        let certificates = try Certificate.parseAll(pem: try AtomicFile.read(certificateFile), path: certificateFile)
        let key = try PrivateKey.parse(pem: try AtomicFile.read(keyFile), path: keyFile)
        guard key.matches(certificates[0]) else {
            throw .keyMismatch(certificatePath: certificateFile, keyPath: keyFile)
        }
        return try CertificateAuthority(certificate: certificates[0], key: key,
                                        intermediates: Array(certificates.dropFirst()), source: certificateFile)
    }

    /// Writes `ca.key` (mode 0600) and `ca.crt` (mode 0644) into `directory`, creating it.
    /// Refuses to replace an existing CA unless `force`.
    public func write(to directory: String, force: Bool = false) throws(TLSError) {
        let keyPath = (directory as NSString).appendingPathComponent(Self.keyFileName)
        let certificatePath = (directory as NSString).appendingPathComponent(Self.certificateFileName)
        let manager = FileManager.default
        if !force {
            for path in [keyPath, certificatePath] where manager.fileExists(atPath: path) {
                throw .caAlreadyExists(path: path)
            }
        }
        do {
            try manager.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                        attributes: [.posixPermissions: 0o755])
        } catch {
            throw .io(path: directory, reason: "cannot create directory: \(error.localizedDescription)")
        }
        try AtomicFile.write(Array(key.pem.utf8), to: keyPath, mode: 0o600)
        let chain = ([certificate] + intermediates).map(\.pem).joined()
        try AtomicFile.write(Array(chain.utf8), to: certificatePath, mode: 0o644)
    }

    // MARK: helpers shared with leaf minting

    static func setSerialAndValidity(_ x509: OpaquePointer, notBefore: Int, notAfter: Int) throws(TLSError) {
        // 127 random bits: positive, unique without coordination, within RFC 5280's 20 octets.
        guard let bn = BN_new() else { throw openSSLFailure("BN_new") }
        defer { BN_free(bn) }
        guard BN_rand(bn, 127, -1, 0) == 1,
              let serial = BN_to_ASN1_INTEGER(bn, nil) else { throw openSSLFailure("random serial") }
        defer { ASN1_INTEGER_free(serial) }
        guard X509_set_serialNumber(x509, serial) == 1,
              X509_gmtime_adj(X509_getm_notBefore(x509), notBefore) != nil,
              X509_gmtime_adj(X509_getm_notAfter(x509), notAfter) != nil else {
            throw openSSLFailure("certificate serial and validity")
        }
    }

    static func addNameEntry(_ name: OpaquePointer, _ field: String, _ value: String) throws(TLSError) {
        let bytes = Array(value.utf8)
        guard !bytes.isEmpty, bytes.count <= 64 else {
            throw .openSSL(operation: "certificate name", details: "\(field) must be 1 to 64 bytes, got \(bytes.count)")
        }
        let ok = X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8, bytes, Int32(bytes.count), -1, 0)
        guard ok == 1 else { throw openSSLFailure("certificate name \(field)") }
    }
}
