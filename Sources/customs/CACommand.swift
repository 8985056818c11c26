import ArgumentParser
import Foundation
import Interception

struct CACommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ca",
        abstract: "Manage the interception certificate authority.",
        discussion: """
        Customs intercepts HTTPS with leaf certificates it signs on the fly with this CA. Clients \
        must trust the CA certificate; 'ca init' prints how on each platform.
        """,
        subcommands: [CAInitCommand.self, CAShowCommand.self]
    )
}

struct CAInitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init", abstract: "Create a new interception CA (ca.key mode 0600, ca.crt mode 0644).")

    @Option(name: .long, help: "Directory to write ca.key and ca.crt into.")
    var out: String

    @Option(name: .long, help: "Use an RSA key of this many bits instead of ECDSA P-256.")
    var rsa: Int?

    @Option(name: .long, help: "Common name of the CA certificate.")
    var name: String = "Customs Interception CA"

    @Option(name: .long, help: "Validity in days.")
    var days: Int = 3650

    @Flag(name: .long, help: "Replace an existing CA in the directory.")
    var force = false

    func run() async throws {
        if let rsa, !(2048...8192).contains(rsa) { throw ValidationError("--rsa must be 2048 to 8192 bits") }
        guard (1...36500).contains(days) else { throw ValidationError("--days must be 1 to 36500") }
        guard !name.isEmpty, name.utf8.count <= 64 else { throw ValidationError("--name must be 1 to 64 bytes") }
        let options = CertificateAuthority.Options(commonName: name, keyKind: rsa.map { .rsa(bits: $0) } ?? .ecdsaP256,
                                                   validityDays: days)
        let authority = try CertificateAuthority.generate(options)
        try authority.write(to: out, force: force)
        let certificatePath = (out as NSString).appendingPathComponent(CertificateAuthority.certificateFileName)
        let absolute = URL(fileURLWithPath: certificatePath).standardizedFileURL.path
        print("""
        Created interception CA in \(out)
          certificate: \(certificatePath)  (give this to clients)
          private key: \((out as NSString).appendingPathComponent(CertificateAuthority.keyFileName))  (mode 0600; keep it secret)
          subject:     \(authority.certificate.subject)
          key:         \(authority.key.algorithmDescription)
          SHA-256:     \(authority.certificate.sha256Fingerprint)
          expires:     \(authority.certificate.notAfter)

        Start interception with:  customs serve --ca \(out)

        Install the CA certificate on clients:
          Debian/Ubuntu:  sudo cp \(absolute) /usr/local/share/ca-certificates/customs-ca.crt && sudo update-ca-certificates
          RHEL/Fedora:    sudo cp \(absolute) /etc/pki/ca-trust/source/anchors/customs-ca.crt && sudo update-ca-trust
          macOS:          sudo security add-trusted-cert -d -r trustRoot -k /Library/Keychains/System.keychain \(absolute)
          Windows:        certutil -addstore Root customs-ca.crt   (elevated prompt)
          Java:           keytool -importcert -noprompt -alias customs-ca -file \(absolute) -cacerts -storepass changeit
          Python:         export REQUESTS_CA_BUNDLE=\(absolute) SSL_CERT_FILE=\(absolute)
                          (these replace the default bundle: concatenate the system bundle if other hosts must still verify)
          Node.js:        export NODE_EXTRA_CA_CERTS=\(absolute)
          curl:           curl --cacert \(absolute) ...
        """)
    }
}

struct CAShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Print the subject, fingerprint and expiry of a CA.")

    @Argument(help: "CA directory (holding ca.crt and ca.key).")
    var directory: String

    func run() async throws {
        let authority = try CertificateAuthority.load(directory: directory)
        let certificate = authority.certificate
        let remaining = Int(certificate.notAfter.timeIntervalSinceNow / 86400)
        print("""
        subject:     \(certificate.subject)
        issuer:      \(certificate.issuer)
        key:         \(authority.key.algorithmDescription)
        serial:      \(certificate.serialHex)
        SHA-256:     \(certificate.sha256Fingerprint)
        not before:  \(certificate.notBefore)
        not after:   \(certificate.notAfter)\(remaining < 0 ? "  (EXPIRED)" : "  (\(remaining) days left)")
        """)
        for intermediate in authority.intermediates {
            print("chain:       \(intermediate.subject)  SHA-256 \(intermediate.sha256Fingerprint)")
        }
    }
}
