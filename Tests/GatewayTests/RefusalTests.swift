import CustomsTestSupport
import Foundation
import Testing

/// Every framing refusal answers with the right status and closes the connection.
@Suite(.serialized) struct FramingRefusalTests {
    static let cases: [(String, Int, String)] = [
        ("CL and TE together", 400, "POST http://127.0.0.1:PORT/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"),
        ("differing Content-Length", 400, "POST http://127.0.0.1:PORT/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd"),
        ("signed Content-Length", 400, "POST http://127.0.0.1:PORT/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: +3\r\n\r\nabc"),
        ("bad chunk size", 400, "POST http://127.0.0.1:PORT/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"),
        ("unknown transfer coding", 501, "POST http://127.0.0.1:PORT/ HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: gzip\r\n\r\n"),
        ("obs-fold", 400, "GET http://127.0.0.1:PORT/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: a\r\n  folded\r\n\r\n"),
        ("bare CR", 400, "GET http://127.0.0.1:PORT/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A: a\rb\r\n\r\n"),
        ("space before colon", 400, "GET http://127.0.0.1:PORT/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX-A : a\r\n\r\n"),
        ("invalid header name", 400, "GET http://127.0.0.1:PORT/ HTTP/1.1\r\nHost: 127.0.0.1\r\nX(A): a\r\n\r\n"),
        ("missing Host", 400, "GET http://127.0.0.1:PORT/ HTTP/1.1\r\n\r\n"),
        ("unknown version", 505, "GET http://127.0.0.1:PORT/ HTTP/3.0\r\nHost: 127.0.0.1\r\n\r\n"),
        ("https absolute URI", 501, "GET https://127.0.0.1:PORT/ HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"),
        ("origin form at a forward proxy", 400, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"),
        ("request line too long", 414, "GET http://127.0.0.1:PORT/" + String(repeating: "a", count: 9000) + " HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("header section too large", 431, "GET http://127.0.0.1:PORT/ HTTP/1.1\r\nHost: 127.0.0.1\r\n" + String(repeating: "X-Pad: " + String(repeating: "p", count: 1000) + "\r\n", count: 70) + "\r\n"),
    ]

    @Test func everyRefusalClosesWithItsStatus() throws {
        let h = try Harness()
        for (name, status, template) in Self.cases {
            let c = try RawClient(port: h.proxyPort)
            c.send(template.replacingOccurrences(of: "PORT", with: "\(h.upstreamPort)"))
            let (text, closed) = c.readAll()
            c.close()
            #expect(statusCode(text) == status, "\(name): got \(text.prefix(80))")
            #expect(closed, "\(name): connection left open")
            #expect(text.contains("Connection: close"), "\(name)")
        }
        // Only the bad chunk size, whose head was valid and streamed, reached the upstream (which was then reset).
        let m = try h.metrics()
        #expect(m.contains("customs_upstream_connects_total 1\n"))
    }

    @Test func slowlorisHitsTheHeaderTimeout() throws {
        let h = try Harness(extra: ["--header-timeout", "1"])
        let c = try RawClient(port: h.proxyPort)
        c.send("GET http://127.0.0.1:\(h.upstreamPort)/ HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        let start = Date()
        let (text, closed) = c.readAll(timeout: 6)
        c.close()
        #expect(closed)
        #expect(statusCode(text) == 408)
        #expect(Date().timeIntervalSince(start) < 5)
    }
}

@Suite(.serialized) struct DestinationRefusalTests {
    @Test func guardRefusesLoopbackAndMetadataWithoutTheAllowFlag() throws {
        let h = try Harness(allowLoopback: false)
        for target in ["http://127.0.0.1:\(h.upstreamPort)/", "http://[::1]:\(h.upstreamPort)/",
                       "http://169.254.169.254/latest/meta-data/", "http://localhost:\(h.upstreamPort)/"] {
            let r = try h.curl(["-D", "-", target])
            #expect(statusCode(r.stdout) == 403, "\(target): \(r.stdout.prefix(100))")
            #expect(r.stdout.contains("refused: destination"), "\(target)")
        }
        let tunnel = try h.curl(["-p", "-D", "-", "http://127.0.0.1:\(h.upstreamPort)/"])
        #expect(tunnel.stdout.contains("403"))
        let m = try h.metrics()
        #expect(m.contains("customs_upstream_connects_total 0\n"))
        #expect(m.contains("customs_http_request_outcomes_total{outcome=\"refused\"} 4"))
        #expect(m.contains("customs_tunnels_total{outcome=\"refused\"} 1"))
    }
}

@Suite(.serialized) struct AuthenticationTests {
    @Test func proxyAuthorizationBasic() throws {
        let dir = try TestPaths.temporaryDirectory("creds")
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("users")
        // bob's password is "hunter2", stored as its SHA-256.
        try "alice:wonderland\nbob:{SHA256}f52fbd32b2b3b86ff88ef6c490628285f482af15ddcb29541f94bcf526a3f6c7\n"
            .write(to: file, atomically: true, encoding: .utf8)
        let h = try Harness(extra: ["--credentials", file.path, "--client-name", "127.0.0.0/8=loopback-team"])
        let none = try h.curl(["-D", "-", "\(h.origin)/a"])
        #expect(statusCode(none.stdout) == 407)
        #expect(none.stdout.contains("Proxy-Authenticate: Basic realm=\"customs\""))
        let wrong = try h.curl(["-D", "-", "--proxy-user", "alice:nope", "\(h.origin)/a"])
        #expect(statusCode(wrong.stdout) == 407)
        let ok = try h.curl(["-D", "-", "--proxy-user", "alice:wonderland", "\(h.origin)/a"])
        #expect(statusCode(ok.stdout) == 200)
        #expect(!ok.stdout.lowercased().contains("proxy-authorization"), "credentials must not reach the upstream")
        let hashed = try h.curl(["-D", "-", "--proxy-user", "bob:hunter2", "\(h.origin)/b"])
        #expect(statusCode(hashed.stdout) == 200)
        let lines = h.waitForAccessLines(4)
        let users = lines.compactMap { $0["user"] as? String }
        #expect(users == ["alice", "bob"])
        #expect(lines.allSatisfy { $0["client_name"] as? String == "loopback-team" })
    }
}
