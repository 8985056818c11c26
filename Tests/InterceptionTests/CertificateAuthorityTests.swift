import CustomsTestSupport
import Foundation
import Testing
@testable import Interception

@Suite struct CertificateAuthorityTests {
    @Test func writesKeyPrivateAndCertificateReadable() throws {
        let ca = try TestAuthority()
        let attributes = { (name: String) throws -> Int in
            let path = ca.directory.appendingPathComponent(name).path
            return try #require(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
        }
        #expect(try attributes("ca.key") == 0o600)
        #expect(try attributes("ca.crt") == 0o644)
    }

    @Test func certificateHasCAExtensions() throws {
        try requireTool("openssl")
        let ca = try TestAuthority(name: "Acme Egress CA")
        let text = try opensslText(ca.authority.certificate.pem)
        #expect(text.contains("X509v3 Basic Constraints: critical"))
        #expect(text.contains("CA:TRUE"))
        #expect(text.contains("X509v3 Key Usage: critical"))
        #expect(text.contains("Certificate Sign, CRL Sign"))
        #expect(text.contains("X509v3 Subject Key Identifier"))
        #expect(text.contains("CN = Acme Egress CA"))
        #expect(text.contains("ASN1 OID: prime256v1"))
        #expect(text.contains("ecdsa-with-SHA256"))
    }

    @Test func rsaOption() throws {
        try requireTool("openssl")
        let authority = try CertificateAuthority.generate(.init(keyKind: .rsa(bits: 2048), validityDays: 30))
        #expect(authority.key.algorithmDescription == "RSA 2048")
        let text = try opensslText(authority.certificate.pem)
        #expect(text.contains("Public-Key: (2048 bit)"))
        #expect(text.contains("sha256WithRSAEncryption"))
        let days = authority.certificate.notAfter.timeIntervalSinceNow / 86400
        #expect(days > 29 && days <= 30)
    }

    @Test func refusesToOverwriteUnlessForced() throws {
        let ca = try TestAuthority()
        let other = try CertificateAuthority.generate()
        #expect(throws: TLSError.caAlreadyExists(path: ca.directory.appendingPathComponent("ca.key").path)) {
            try other.write(to: ca.directory.path)
        }
        #expect(try CertificateAuthority.load(directory: ca.directory.path).certificate.sha256Fingerprint
            == ca.authority.certificate.sha256Fingerprint)
        try other.write(to: ca.directory.path, force: true)
        #expect(try CertificateAuthority.load(directory: ca.directory.path).certificate.sha256Fingerprint
            == other.certificate.sha256Fingerprint)
    }

    @Test func loadRejectsMismatchedKeyAndNonCA() throws {
        let ca = try TestAuthority()
        let stranger = try PrivateKey.generate(.ecdsaP256)
        let keyPath = ca.directory.appendingPathComponent("other.key").path
        try stranger.pem.write(toFile: keyPath, atomically: true, encoding: .utf8)
        #expect(throws: TLSError.keyMismatch(certificatePath: ca.certificateFile, keyPath: keyPath)) {
            try CertificateAuthority.load(certificateFile: ca.certificateFile, keyFile: keyPath)
        }
        let leaf = try ca.writeServerIdentity(LeafNames(primary: "example.com"))
        #expect(throws: TLSError.notACertificateAuthority(path: leaf.cert)) {
            try CertificateAuthority.load(certificateFile: leaf.cert, keyFile: leaf.key)
        }
        let garbage = ca.directory.appendingPathComponent("garbage.crt").path
        try "not a certificate".write(toFile: garbage, atomically: true, encoding: .utf8)
        #expect(throws: TLSError.invalidPEM(path: garbage, what: "certificate", details: "")) {
            try CertificateAuthority.load(certificateFile: garbage, keyFile: keyPath)
        }
    }

    /// An intermediate CA issued by a root (made with the openssl CLI): loading keeps the chain,
    /// and leaves minted by the intermediate verify against the root alone once the chain is sent.
    @Test func loadsIntermediateWithChain() throws {
        try requireTool("openssl")
        let root = try TestAuthority(name: "Test Root")
        let dir = root.directory
        let rootKey = dir.appendingPathComponent("ca.key").path
        let key = dir.appendingPathComponent("int.key").path, csr = dir.appendingPathComponent("int.csr").path
        let cert = dir.appendingPathComponent("int.crt").path, ext = dir.appendingPathComponent("int.ext").path
        try "basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n"
            .write(toFile: ext, atomically: true, encoding: .utf8)
        try #require(runProcess("openssl", ["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                                            "-nodes", "-keyout", key, "-out", csr, "-subj", "/CN=Test Intermediate"]).status == 0)
        try #require(runProcess("openssl", ["x509", "-req", "-in", csr, "-CA", root.certificateFile, "-CAkey", rootKey,
                                            "-CAcreateserial", "-days", "30", "-extfile", ext, "-out", cert]).status == 0)
        let bundle = dir.appendingPathComponent("bundle.crt").path
        try (String(contentsOfFile: cert, encoding: .utf8) + root.authority.certificate.pem)
            .write(toFile: bundle, atomically: true, encoding: .utf8)

        let intermediate = try CertificateAuthority.load(certificateFile: bundle, keyFile: key)
        #expect(intermediate.certificate.commonName == "Test Intermediate")
        #expect(intermediate.intermediates.map(\.commonName) == ["Test Root"])

        // A client trusting only the root completes a handshake with a leaf from the intermediate.
        let minter = try LeafMinter(authority: intermediate)
        let server = try TLSEngine(server: TLSServerContext(minter: minter),
                                   leaf: minter.mint(LeafNames(primary: "chain.example")))
        let client = try TLSEngine(client: root.clientContext(), host: "chain.example", port: 443)
        pump(client, server)
        #expect(client.state == .established)
        #expect(client.verifyResult == .ok)
    }

    @Test func cliInitAndShow() throws {
        let dir = try TestPaths.temporaryDirectory("ca-cli").appendingPathComponent("ca")
        let binary = TestPaths.customsBinary.path
        let created = try runProcess(binary, ["ca", "init", "--out", dir.path, "--name", "CLI Test CA", "--days", "90"])
        #expect(created.status == 0, "\(created.stderr)")
        for needle in ["update-ca-certificates", "update-ca-trust", "security add-trusted-cert", "certutil -addstore Root",
                       "keytool -importcert", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS", "--cacert",
                       "customs serve --ca"] {
            #expect(created.stdout.contains(needle), "missing \(needle)")
        }
        let again = try runProcess(binary, ["ca", "init", "--out", dir.path])
        #expect(again.status != 0)
        #expect(again.stderr.contains("already exists"))
        let shown = try runProcess(binary, ["ca", "show", dir.path])
        #expect(shown.status == 0, "\(shown.stderr)")
        let authority = try CertificateAuthority.load(directory: dir.path)
        #expect(shown.stdout.contains("CN=CLI Test CA"))
        #expect(shown.stdout.contains(authority.certificate.sha256Fingerprint))
        #expect(shown.stdout.contains("days left"))
        let rsa = try runProcess(binary, ["ca", "init", "--out", dir.path, "--rsa", "2048", "--force"])
        #expect(rsa.status == 0, "\(rsa.stderr)")
        #expect(try CertificateAuthority.load(directory: dir.path).key.algorithmDescription == "RSA 2048")
    }
}
