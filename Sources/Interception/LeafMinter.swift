import COpenSSL
import CTLSShims
import Foundation

/// A minted leaf certificate and the names it covers. The private key is the minter's shared one.
public final class LeafCertificate: Sendable {
    public let certificate: Certificate
    public let names: LeafNames

    init(certificate: Certificate, names: LeafNames) {
        self.certificate = certificate
        self.names = names
    }
}

/// Signs per-host leaf certificates with the CA. One leaf key pair serves every leaf, so minting
/// is one signature, never a key generation.
public final class LeafMinter: Sendable {
    public let authority: CertificateAuthority
    public let leafKey: PrivateKey
    public let validityDays: Int
    /// Backdating absorbs clients whose clocks run a little slow.
    public static let backdateSeconds = 3600

    public init(authority: CertificateAuthority, leafKey: PrivateKey? = nil, validityDays: Int = 7) throws(TLSError) {
        guard (1...397).contains(validityDays) else {
            throw .openSSL(operation: "leaf minter", details: "leaf validity must be 1 to 397 days, got \(validityDays)")
        }
        self.authority = authority
        if let leafKey {
            self.leafKey = leafKey
        } else {
            self.leafKey = try PrivateKey.generate(.ecdsaP256)
        }
        self.validityDays = validityDays
    }

    public func mint(_ names: LeafNames) throws(TLSError) -> LeafCertificate {
        guard let x509 = X509_new() else { throw openSSLFailure("X509_new") }
        let certificate = Certificate(owning: x509)
        let ca = authority.certificate
        // Never outlive the CA: clients would reject the chain anyway.
        let caRemaining = Int(ca.notAfter.timeIntervalSinceNow)
        let lifetime = min(validityDays * 86400, caRemaining)
        guard lifetime > 0 else {
            throw .openSSL(operation: "leaf minting", details: "the interception CA expired at \(ca.notAfter)")
        }
        try CertificateAuthority.setSerialAndValidity(x509, notBefore: -Self.backdateSeconds, notAfter: lifetime)
        guard let subject = X509_get_subject_name(x509) else { throw openSSLFailure("X509_get_subject_name") }
        if names.primary.utf8.count <= 64 {
            try CertificateAuthority.addNameEntry(subject, "CN", names.primary)
        }
        guard X509_set_version(x509, 2) == 1,
              X509_set_issuer_name(x509, X509_get_subject_name(ca.x509)) == 1,
              X509_set_pubkey(x509, leafKey.pkey) == 1 else { throw openSSLFailure("leaf certificate fields") }
        let keyUsage = EVP_PKEY_get_base_id(leafKey.pkey) == EVP_PKEY_RSA
            ? "critical,digitalSignature,keyEncipherment" : "critical,digitalSignature"
        for (nid, value) in [(NID_basic_constraints, "critical,CA:FALSE"),
                             (NID_key_usage, keyUsage),
                             (NID_ext_key_usage, "serverAuth"),
                             (NID_subject_key_identifier, "hash"),
                             (NID_authority_key_identifier, "keyid:always"),
                             (NID_subject_alt_name, names.subjectAltNameValue)] {
            guard customs_x509_add_ext(x509, ca.x509, nid, value) == 1 else {
                throw openSSLFailure("leaf extension \(value)")
            }
        }
        guard X509_sign(x509, authority.key.pkey, EVP_sha256()) > 0 else { throw openSSLFailure("leaf signature") }
        return LeafCertificate(certificate: certificate, names: names)
    }

    /// True when `certificate` is one this minter could have produced and may still serve: signed
    /// by our CA, carrying our leaf key, and valid for at least another hour.
    func isUsable(_ certificate: Certificate, now: Date = Date()) -> Bool {
        certificate.isSigned(by: authority.certificate)
            && leafKey.matches(certificate)
            && certificate.notAfter.timeIntervalSince(now) > 3600
            && certificate.notBefore <= now
    }
}
