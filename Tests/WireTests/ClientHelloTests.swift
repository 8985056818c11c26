import Foundation
import Testing
import Wire
import CustomsTestSupport

/// Builds ClientHello bytes by hand (RFC 8446 §4.1.2 layout).
enum HelloBuilder {
    static func u16(_ v: Int) -> [UInt8] { [UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }

    static func ext(_ type: Int, _ body: [UInt8]) -> [UInt8] { u16(type) + u16(body.count) + body }

    static func sni(_ name: String) -> [UInt8] {
        let n = Array(name.utf8)
        let entry = [0] + u16(n.count) + n
        return ext(0, u16(entry.count) + entry)
    }

    static func alpn(_ names: [String]) -> [UInt8] {
        let list = names.flatMap { [UInt8($0.utf8.count)] + Array($0.utf8) }
        return ext(16, u16(list.count) + list)
    }

    static func versions(_ v: [Int]) -> [UInt8] {
        ext(43, [UInt8(v.count * 2)] + v.flatMap(u16))
    }

    /// The handshake message (type 1, 24-bit length, body).
    static func message(extensions: [[UInt8]]?) -> [UInt8] {
        var body = u16(0x0303) + [UInt8](repeating: 0xAB, count: 32)
        body += [32] + [UInt8](repeating: 0x11, count: 32)
        body += u16(4) + [0x13, 0x01, 0xC0, 0x2F]
        body += [1, 0]
        if let extensions {
            let all = extensions.flatMap { $0 }
            body += u16(all.count) + all
        }
        return [1, UInt8(body.count >> 16), UInt8(body.count >> 8 & 0xFF), UInt8(body.count & 0xFF)] + body
    }

    /// Wraps a handshake message in TLS records of at most `fragment` bytes each.
    static func records(_ message: [UInt8], fragment: Int = 16384) -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        while i < message.count {
            let n = min(fragment, message.count - i)
            out += [0x16, 0x03, 0x01] + u16(n) + message[i..<(i + n)]
            i += n
        }
        return out
    }
}

func clientHello(_ bytes: [UInt8]) -> ClientHelloResult {
    bytes.withUnsafeBytes { parseClientHello($0) }
}

@Suite struct ClientHelloTests {
    static let full = HelloBuilder.message(extensions: [
        HelloBuilder.ext(0x0A0A, []),   // GREASE, ignored
        HelloBuilder.sni("API.Example.com"),
        HelloBuilder.alpn(["h2", "http/1.1"]),
        HelloBuilder.versions([0x1A1A, 0x0304, 0x0303]),
        HelloBuilder.ext(10, HelloBuilder.u16(2) + HelloBuilder.u16(0x001D)),
    ])
    static let expected = ClientHello(serverName: "api.example.com", alpn: ["h2", "http/1.1"],
                                      supportedVersions: [0x1A1A, 0x0304, 0x0303], legacyVersion: 0x0303)

    @Test func singleRecord() {
        #expect(clientHello(HelloBuilder.records(Self.full)) == .hello(Self.expected))
    }

    @Test(arguments: [1, 7, 50, 100])
    func splitAcrossRecords(_ fragment: Int) {
        #expect(clientHello(HelloBuilder.records(Self.full, fragment: fragment)) == .hello(Self.expected))
    }

    @Test func withoutSNIOrExtensions() {
        let noSNI = HelloBuilder.message(extensions: [HelloBuilder.alpn(["http/1.1"])])
        #expect(clientHello(HelloBuilder.records(noSNI)) == .hello(ClientHello(alpn: ["http/1.1"])))
        let bare = HelloBuilder.message(extensions: nil)
        #expect(clientHello(HelloBuilder.records(bare)) == .hello(ClientHello()))
    }

    @Test func everyTruncationNeedsMore() {
        for fragment in [16384, 40] {
            let bytes = HelloBuilder.records(Self.full, fragment: fragment)
            for end in 0..<bytes.count {
                #expect(clientHello(Array(bytes[..<end])) == .needMore, "cut at \(end) of \(bytes.count)")
            }
        }
    }

    @Test func trailingBytesAfterHelloAreIgnored() {
        let bytes = HelloBuilder.records(Self.full) + [0x14, 0x03, 0x03, 0x00, 0x01, 0x01]
        #expect(clientHello(bytes) == .hello(Self.expected))
    }

    @Test(arguments: [
        Array("GET / HTTP/1.1\r\n".utf8),
        Array("CONNECT a:443 HTTP/1.1\r\n".utf8),
        [0x16, 0x02],
        [0x16, 0x03, 0x09],
        [0x80, 0x2E, 0x01],              // SSLv2-style hello
        [0x00],
    ])
    func notTLS(_ bytes: [UInt8]) {
        #expect(clientHello(bytes) == .notTLS)
    }

    @Test func malformedHellos() {
        func isMalformed(_ r: ClientHelloResult) -> Bool { if case .malformed = r { return true } else { return false } }
        // ServerHello instead of ClientHello.
        var server = Self.full
        server[0] = 2
        #expect(isMalformed(clientHello(HelloBuilder.records(server))))
        // Extension length overruns the message.
        let overrun = HelloBuilder.message(extensions: [[0x00, 0x00, 0x00, 0x50, 0x00]])
        #expect(isMalformed(clientHello(HelloBuilder.records(overrun))))
        // Duplicate extensions.
        let dup = HelloBuilder.message(extensions: [HelloBuilder.sni("a.example"), HelloBuilder.sni("b.example")])
        #expect(isMalformed(clientHello(HelloBuilder.records(dup))))
        // Invalid host name bytes.
        let badName = HelloBuilder.message(extensions: [HelloBuilder.sni("a b\u{0}")])
        #expect(isMalformed(clientHello(HelloBuilder.records(badName))))
        // Empty ALPN name.
        let emptyALPN = HelloBuilder.message(extensions: [HelloBuilder.alpn([""])])
        #expect(isMalformed(clientHello(HelloBuilder.records(emptyALPN))))
        // Odd supported_versions.
        let oddVersions = HelloBuilder.message(extensions: [HelloBuilder.ext(43, [3, 3, 4, 3])])
        #expect(isMalformed(clientHello(HelloBuilder.records(oddVersions))))
        // An alert record interleaved before the hello completes.
        var interleaved = HelloBuilder.records(Self.full, fragment: 60)
        interleaved[65] = 0x15
        #expect(isMalformed(clientHello(interleaved)))
        // A claimed length beyond the bound.
        #expect(isMalformed(clientHello([0x16, 0x03, 0x01, 0x00, 0x04, 0x01, 0x10, 0x00, 0x00])))
        // Empty record.
        #expect(isMalformed(clientHello([0x16, 0x03, 0x01, 0x00, 0x00])))
    }

    /// A real ClientHello from `openssl s_client`, captured through a loopback listener.
    @Test(arguments: [["-tls1_3"], ["-tls1_2"]])
    func realOpenSSLClientHello(_ versionFlag: [String]) throws {
        try requireTool("openssl")
        let bytes = try captureClientHello(arguments: ["-servername", "Upload.Example.test", "-alpn", "h2,http/1.1"] + versionFlag)
        guard case .hello(let hello) = clientHello(bytes) else {
            Issue.record("not parsed: \(clientHello(bytes))"); return
        }
        #expect(hello.serverName == "upload.example.test")
        #expect(hello.alpn == ["h2", "http/1.1"])
        if versionFlag == ["-tls1_3"] {
            #expect(hello.supportedVersions.contains(0x0304))
        }
        // The same bytes re-fragmented into tiny records parse to the same hello.
        guard bytes.count > 5 else { return }
        let message = Array(bytes[5...])
        #expect(clientHello(HelloBuilder.records(message, fragment: 33)) == .hello(hello))
    }

    @Test func realOpenSSLClientHelloWithoutSNI() throws {
        try requireTool("openssl")
        let bytes = try captureClientHello(arguments: ["-noservername"])
        guard case .hello(let hello) = clientHello(bytes) else {
            Issue.record("not parsed: \(clientHello(bytes))"); return
        }
        #expect(hello.serverName == nil)
        #expect(hello.alpn.isEmpty)
    }
}

/// Runs `openssl s_client` against a one-shot listener on 127.0.0.1 and returns the bytes it sent
/// until a full ClientHello arrived (bounded in time and size).
func captureClientHello(arguments: [String]) throws -> [UInt8] {
    let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard listener >= 0 else { throw TestFailure("socket failed") }
    defer { close(listener) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, len) } }
    guard bound == 0, listen(listener, 1) == 0 else { throw TestFailure("bind/listen failed") }
    _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &len) } }
    let port = UInt16(bigEndian: addr.sin_port)

    let done = DispatchSemaphore(value: 0)
    DispatchQueue.global().async {
        _ = try? runProcess("openssl", ["s_client", "-connect", "127.0.0.1:\(port)"] + arguments, timeout: 15)
        done.signal()
    }
    defer { done.wait() }

    var pfd = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
    guard poll(&pfd, 1, 10_000) == 1 else { throw TestFailure("openssl did not connect") }
    let conn = accept(listener, nil, nil)
    guard conn >= 0 else { throw TestFailure("accept failed") }
    defer { close(conn) }
    var received: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    for _ in 0..<100 {
        if case .hello = clientHello(received) { break }
        var cfd = pollfd(fd: conn, events: Int16(POLLIN), revents: 0)
        guard poll(&cfd, 1, 5_000) == 1 else { break }
        let n = chunk.withUnsafeMutableBytes { recv(conn, $0.baseAddress, $0.count, 0) }
        if n <= 0 { break }
        received += chunk[..<n]
        if received.count > 70_000 { break }
    }
    return received
}
