import CustomsTestSupport
import Foundation
@testable import Interception

/// A throwaway CA on disk with a minter, for the tests.
struct TestAuthority {
    let directory: URL
    let authority: CertificateAuthority
    let minter: LeafMinter

    init(name: String = "Test Interception CA") throws {
        directory = try TestPaths.temporaryDirectory("interception")
        authority = try CertificateAuthority.generate(.init(commonName: name))
        try authority.write(to: directory.path)
        minter = try LeafMinter(authority: authority)
    }

    var certificateFile: String { directory.appendingPathComponent("ca.crt").path }

    /// Writes a leaf and the shared leaf key as PEM files, for servers such as openssl s_server.
    func writeServerIdentity(_ names: LeafNames, prefix: String = "server") throws -> (cert: String, key: String) {
        let leaf = try minter.mint(names)
        let cert = directory.appendingPathComponent("\(prefix).crt").path
        let key = directory.appendingPathComponent("\(prefix).key").path
        try leaf.certificate.pem.write(toFile: cert, atomically: true, encoding: .utf8)
        try minter.leafKey.pem.write(toFile: key, atomically: true, encoding: .utf8)
        return (cert, key)
    }

    func clientContext(maximumVersion: TLSVersion = .tls13, alpn: [String] = ["http/1.1"]) throws -> TLSClientContext {
        try TLSClientContext(configuration: .init(useSystemTrustStore: false, extraTrustFiles: [certificateFile],
                                                  alpn: alpn, maximumVersion: maximumVersion))
    }
}

/// Moves ciphertext between two in-memory engines until neither has anything to send.
func pump(_ a: TLSEngine, _ b: TLSEngine) {
    for _ in 0..<32 {
        let fromA = a.takeCiphertext()
        if !fromA.isEmpty { b.feedCiphertext(fromA) }
        let fromB = b.takeCiphertext()
        if !fromB.isEmpty { a.feedCiphertext(fromB) }
        if fromA.isEmpty && fromB.isEmpty { return }
    }
}

/// `openssl x509 -text` of a PEM certificate.
func opensslText(_ pem: String) throws -> String {
    let result = try runProcess("openssl", ["x509", "-noout", "-text"], stdin: Data(pem.utf8), timeout: 20)
    return result.stdout
}
