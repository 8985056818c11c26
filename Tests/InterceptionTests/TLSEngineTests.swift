import CustomsTestSupport
import Foundation
import Testing
@testable import Interception

@Suite struct TLSEngineMemoryTests {
    private func handshake(_ ca: TestAuthority, host: String = "shop.example", clientHost: String? = nil,
                           maximumVersion: TLSVersion = .tls13, alpn: [String] = ["h2", "http/1.1"])
        throws -> (client: TLSEngine, server: TLSEngine) {
        let leaf = try ca.minter.mint(LeafNames(primary: host))
        let server = try TLSEngine(server: TLSServerContext(minter: ca.minter), leaf: leaf)
        let client = try TLSEngine(client: ca.clientContext(maximumVersion: maximumVersion, alpn: alpn),
                                   host: clientHost ?? host, port: 443)
        #expect(client.pendingCiphertextCount > 0, "the ClientHello is ready at once")
        pump(client, server)
        return (client, server)
    }

    @Test(arguments: [TLSVersion.tls12, .tls13])
    func handshakeAndDataBothWays(version: TLSVersion) throws {
        let ca = try TestAuthority()
        let (client, server) = try handshake(ca, maximumVersion: version)
        #expect(client.state == .established)
        #expect(server.state == .established)
        #expect(client.protocolVersion == (version == .tls12 ? "TLSv1.2" : "TLSv1.3"))
        #expect(client.negotiatedALPN == "http/1.1", "server selects http/1.1 even when h2 is offered first")
        #expect(server.negotiatedALPN == "http/1.1")
        #expect(server.requestedServerName == "shop.example")
        #expect(client.verifyResult == .ok)
        #expect(client.peerCertificateNames == ["shop.example"])

        let request = Array("POST /orders HTTP/1.1\r\nHost: shop.example\r\nContent-Length: 5\r\n\r\nhello".utf8)
        #expect(client.writePlaintext(request) == request.count)
        pump(client, server)
        var received: [UInt8] = []
        server.readPlaintext(appendingTo: &received)
        #expect(received == request)

        let big = [UInt8]((0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
        #expect(server.writePlaintext(big) == big.count)
        pump(client, server)
        var reply: [UInt8] = []
        client.readPlaintext(appendingTo: &reply)
        #expect(reply == big)

        server.close()
        pump(client, server)
        var rest: [UInt8] = []
        #expect(client.readPlaintext(appendingTo: &rest) == 0)
        #expect(client.state == .closed)
        #expect(client.receivedCloseNotify)
    }

    @Test func noALPNWhenClientOffersOnlyOtherProtocols() throws {
        let ca = try TestAuthority()
        let (client, server) = try handshake(ca, alpn: ["h2"])
        #expect(client.state == .established)
        #expect(server.negotiatedALPN == nil)
    }

    @Test func hostnameMismatchIsRefused() throws {
        let ca = try TestAuthority()
        let (client, server) = try handshake(ca, host: "shop.example", clientHost: "bank.example")
        #expect(client.state == .failed(.verificationFailed(host: "bank.example", reason: "hostname mismatch")))
        #expect(server.state != .established)
    }

    @Test func untrustedCAIsRefused() throws {
        let ca = try TestAuthority()
        let stranger = try TestAuthority()
        let leaf = try stranger.minter.mint(LeafNames(primary: "shop.example"))
        let server = try TLSEngine(server: TLSServerContext(minter: stranger.minter), leaf: leaf)
        let client = try TLSEngine(client: ca.clientContext(), host: "shop.example", port: 443)
        pump(client, server)
        guard case let .failed(.verificationFailed(host, reason)) = client.state else {
            Issue.record("expected a verification failure, got \(client.state)")
            return
        }
        #expect(host == "shop.example")
        #expect(reason.contains("unable to get local issuer certificate"))
    }

    @Test func insecureContextAcceptsAnyCertificateButStillReportsWhy() throws {
        let ca = try TestAuthority()
        let leaf = try ca.minter.mint(LeafNames(primary: "shop.example"))
        let server = try TLSEngine(server: TLSServerContext(minter: ca.minter), leaf: leaf)
        let insecure = try TLSClientContext(configuration: .init(verifyPeer: false, useSystemTrustStore: false))
        let client = try TLSEngine(client: insecure, host: "shop.example", port: 443)
        pump(client, server)
        #expect(client.state == .established)
        guard case .failed = client.verifyResult else {
            Issue.record("verifyResult should still say the chain is untrusted")
            return
        }
    }

    @Test func ipAddressUpstreamIsCheckedAgainstIPSANs() throws {
        let ca = try TestAuthority()
        let leaf = try ca.minter.mint(LeafNames(primary: "127.0.0.1"))
        let context = try TLSServerContext(minter: ca.minter)
        let good = try TLSEngine(client: ca.clientContext(), host: "127.0.0.1", port: 443)
        let server = try TLSEngine(server: context, leaf: leaf)
        pump(good, server)
        #expect(good.state == .established)
        #expect(server.requestedServerName == nil, "no SNI for an IP literal")
        let bad = try TLSEngine(client: ca.clientContext(), host: "127.0.0.2", port: 443)
        pump(bad, try TLSEngine(server: context, leaf: leaf))
        #expect(bad.state == .failed(.verificationFailed(host: "127.0.0.2", reason: "IP address mismatch")))
    }

    @Test func garbageFromTheClientFailsTheServerHandshake() throws {
        let ca = try TestAuthority()
        let server = try TLSEngine(server: TLSServerContext(minter: ca.minter),
                                   leaf: ca.minter.mint(LeafNames(primary: "shop.example")))
        server.feedCiphertext(Array("GET / HTTP/1.1\r\nHost: shop.example\r\n\r\n".utf8))
        guard case .failed(.handshakeFailed) = server.state else {
            Issue.record("expected a handshake failure, got \(server.state)")
            return
        }
    }

    @Test func peerClosingMidHandshake() throws {
        let ca = try TestAuthority()
        let server = try TLSEngine(server: TLSServerContext(minter: ca.minter),
                                   leaf: ca.minter.mint(LeafNames(primary: "shop.example")))
        let client = try TLSEngine(client: ca.clientContext(), host: "shop.example", port: 443)
        let hello = client.takeCiphertext()
        server.feedCiphertext(Array(hello.prefix(20)))
        #expect(server.state == .handshaking)
        server.feedEndOfStream()
        #expect(server.state == .failed(.closedDuringHandshake))
    }
}
