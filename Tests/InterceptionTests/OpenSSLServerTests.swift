import CustomsTestSupport
import Foundation
import Testing
@testable import Interception

/// A TLSEngine client against a real `openssl s_server` on 127.0.0.1, pumped over a plain
/// blocking socket by the test.
@Suite(.serialized) struct OpenSSLServerTests {
    private func startServer(_ ca: TestAuthority, extra: [String] = []) throws -> (BackgroundProcess, UInt16) {
        try requireTool("openssl")
        let identity = try ca.writeServerIdentity(LeafNames(primary: "localhost", additional: ["127.0.0.1"]))
        let port = freeLoopbackPort()
        let server = try BackgroundProcess("openssl", ["s_server", "-accept", "127.0.0.1:\(port)", "-cert", identity.cert,
                                                       "-key", identity.key, "-www", "-alpn", "http/1.1"] + extra)
        try waitForListener(port: port, process: server)
        return (server, port)
    }

    /// Runs one HTTP/1.0 GET over a fresh connection; returns the engine and the response text.
    private func get(_ context: TLSClientContext, host: String, port: UInt16) throws -> (TLSEngine, String) {
        let socket = try LoopbackSocket(port: port)
        let engine = try TLSEngine(client: context, host: host, port: Int(port))
        var buffer = [UInt8](repeating: 0, count: 16384)
        var rounds = 0
        while engine.state == .handshaking && rounds < 50 {
            rounds += 1
            try socket.send(engine.takeCiphertext())
            let n = try socket.receive(into: &buffer)
            if n == 0 { engine.feedEndOfStream() } else { engine.feedCiphertext(Array(buffer[0..<n])) }
        }
        try socket.send(engine.takeCiphertext())  // the alert, when the handshake failed
        guard engine.state == .established else { return (engine, "") }
        engine.writePlaintext(Array("GET / HTTP/1.0\r\nHost: \(host)\r\n\r\n".utf8))
        try socket.send(engine.takeCiphertext())
        var response: [UInt8] = []
        rounds = 0
        while engine.state == .established && rounds < 200 {
            rounds += 1
            let n = try socket.receive(into: &buffer)
            if n == 0 { engine.feedEndOfStream() } else { engine.feedCiphertext(Array(buffer[0..<n])) }
            engine.readPlaintext(appendingTo: &response)
            try socket.send(engine.takeCiphertext())
        }
        return (engine, String(decoding: response, as: UTF8.self))
    }

    @Test(arguments: [TLSVersion.tls12, .tls13])
    func verifiedConnectionAndResumption(version: TLSVersion) throws {
        let ca = try TestAuthority()
        let (server, port) = try startServer(ca)
        defer { server.stop() }
        let context = try ca.clientContext(maximumVersion: version)
        let (first, page) = try get(context, host: "localhost", port: port)
        #expect(first.verifyResult == .ok)
        #expect(first.negotiatedALPN == "http/1.1")
        #expect(page.contains("HTTP/1.0 200 ok"), "\(page.prefix(300))")
        #expect(!first.sessionReused)
        #expect(context.cachedSessionCount == 1)
        let (second, secondPage) = try get(context, host: "localhost", port: port)
        #expect(second.sessionReused, "second connection to the same host:port resumes")
        #expect(secondPage.contains("Reused"), "s_server reports the resumed session")
        // IP literal upstream: checked against the IP SAN.
        let (byIP, _) = try get(context, host: "127.0.0.1", port: port)
        #expect(byIP.verifyResult == .ok)
    }

    @Test func wrongHostnameIsRefused() throws {
        let ca = try TestAuthority()
        let (server, port) = try startServer(ca)
        defer { server.stop() }
        let (engine, page) = try get(try ca.clientContext(), host: "bank.example", port: port)
        #expect(engine.state == .failed(.verificationFailed(host: "bank.example", reason: "hostname mismatch")))
        #expect(page.isEmpty)
    }

    @Test func untrustedCAIsRefused() throws {
        let ca = try TestAuthority()
        let (server, port) = try startServer(ca)
        defer { server.stop() }
        let other = try TestAuthority()
        let (engine, _) = try get(try other.clientContext(), host: "localhost", port: port)
        guard case let .failed(.verificationFailed(_, reason)) = engine.state else {
            Issue.record("expected a verification failure, got \(engine.state)")
            return
        }
        #expect(reason == "unable to get local issuer certificate")
    }
}

/// A blocking TCP client socket on 127.0.0.1 with a receive timeout, so a stuck test fails.
final class LoopbackSocket {
    private let fd: Int32

    init(port: UInt16) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw TestSupportError.timeout("socket() failed") }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else {
            close(fd)
            throw TestSupportError.timeout("cannot connect to 127.0.0.1:\(port)")
        }
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { return }  // the peer went away; the engine's state tells the story
            offset += n
        }
    }

    func receive(into buffer: inout [UInt8]) throws -> Int {
        let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n < 0 {
            if errno == EAGAIN || errno == EWOULDBLOCK { throw TestSupportError.timeout("no data from the server in 10s") }
            return 0
        }
        return n
    }
}
