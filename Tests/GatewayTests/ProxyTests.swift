import CustomsTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

private func json(_ s: String) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(s.utf8)) as? [String: Any])
}

@Suite(.serialized) struct ForwardProxyTests {
    @Test func getThroughTheProxy() throws {
        let h = try Harness()
        let r = try h.curl(["-D", "-", "\(h.origin)/hello?secret=1", "-H", "X-Test: yes",
                            "-H", "Proxy-Connection: keep-alive"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix("HTTP/1.1 200"))
        #expect(r.stdout.lowercased().contains("via: 1.1 customs"))
        let body = try json(String(r.stdout[r.stdout.range(of: "\r\n\r\n")!.upperBound...]))
        #expect(body["path"] as? String == "/hello?secret=1")
        let headers = try #require(body["headers"] as? [String: String])
        #expect(headers["x-test"] == "yes")
        #expect(headers["via"] == "1.1 customs")
        #expect(headers["host"] == "127.0.0.1:\(h.upstreamPort)")
        #expect(headers["proxy-connection"] == nil)
        let log = h.waitForAccessLines(1)
        let line = try #require(log.first)
        #expect(line["method"] as? String == "GET")
        #expect(line["path"] as? String == "/hello")
        #expect(line["status"] as? Int == 200)
        #expect(line["host"] as? String == "127.0.0.1")
        #expect(line["upstream"] as? String == "127.0.0.1:\(h.upstreamPort)")
        #expect((line["flow"] as? String)?.isEmpty == false)
    }

    @Test func responseHopByHopFieldsStayOnTheUpstreamHop() throws {
        let h = try Harness()
        let r = try h.curl(["-D", "-", "\(h.origin)/hop"])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.components(separatedBy: "\r\n")
        #expect(lines.first == "HTTP/1.1 200 OK")
        let names = Set(lines.dropFirst().compactMap { $0.split(separator: ":").first?.lowercased() })
        for gone in ["x-hop", "keep-alive", "upgrade", "connection"] { #expect(!names.contains(gone), "\(gone) relayed") }
        #expect(lines.contains("X-End: kept"))
        #expect(lines.contains("Content-Length: 2"))
        #expect(lines.contains("Via: 1.1 customs"))
        #expect(r.stdout.hasSuffix("\r\n\r\nok"))
    }

    @Test func chunkedResponseAndHead() throws {
        let h = try Harness()
        let r = try h.curl(["\(h.origin)/chunked"])
        #expect(r.stdout == "hello chunked world")
        let head = try h.curl(["-I", "\(h.origin)/hello"])
        #expect(head.stdout.hasPrefix("HTTP/1.1 200"))
    }

    @Test func largeStreamedUploadKeepsMemoryFlat() throws {
        let h = try Harness()
        let file = h.dir.appendingPathComponent("upload.bin")
        let size = 64 << 20
        var rng = SystemRandomNumberGenerator()
        var block = [UInt8](repeating: 0, count: 1 << 20)
        _ = FileManager.default.createFile(atPath: file.path, contents: nil)
        let out = try FileHandle(forWritingTo: file)
        for _ in 0..<(size >> 20) {
            for i in stride(from: 0, to: block.count, by: 8) {
                withUnsafeBytes(of: rng.next() as UInt64) { for j in 0..<8 { block[i + j] = $0[j] } }
            }
            out.write(Data(block))
        }
        try out.close()
        let expected = try runProcess("sha256sum", [file.path]).stdout.prefix(64)
        // The kernel's high-water mark (VmHWM) cannot miss a short peak the way sampling can on a
        // loaded machine; what matters is how far it rises over the gateway's idle footprint.
        let idlePeak = try #require(residentKiB(pid: h.gateway.pid, field: "VmHWM:"))
        let r = try h.curl(["--data-binary", "@\(file.path)", "-H", "Content-Type: application/octet-stream",
                            "\(h.origin)/upload"], timeout: 120)
        let grown = try #require(residentKiB(pid: h.gateway.pid, field: "VmHWM:")) - idlePeak
        #expect(r.status == 0, "\(r.stderr)")
        let body = try json(r.stdout)
        #expect(body["length"] as? Int == size)
        #expect(body["sha256"] as? String == String(expected))
        #expect(grown < 32 * 1024, "gateway peak RSS grew by \(grown) KiB over its idle \(idlePeak) KiB for a \(size >> 20) MiB upload")
        let chunked = try h.curl(["-H", "Transfer-Encoding: chunked", "--data-binary", "@\(file.path)",
                                  "\(h.origin)/upload"], timeout: 120)
        let cbody = try json(chunked.stdout)
        #expect(cbody["length"] as? Int == size)
        #expect(cbody["sha256"] as? String == String(expected))
        #expect((cbody["headers"] as? [String: String])?["transfer-encoding"] == "chunked")
    }

    @Test func chunkedUpload() throws {
        let h = try Harness()
        let r = try h.curl(["-H", "Transfer-Encoding: chunked", "--data-binary", "hello chunked upload",
                            "\(h.origin)/upload"])
        let body = try json(r.stdout)
        #expect(body["length"] as? Int == 20)
        let sha = try runProcess("sh", ["-c", "printf 'hello chunked upload' | sha256sum"]).stdout.prefix(64)
        #expect(body["sha256"] as? String == String(sha))
    }

    @Test func keepAliveReusesOneUpstreamConnection() throws {
        let h = try Harness()
        let r = try h.curl(["\(h.origin)/a", "\(h.origin)/b", "\(h.origin)/c"])
        // Three JSON bodies back to back; each names the upstream connection's source port.
        let ports = r.stdout.components(separatedBy: "\"upstream_port\": ").dropFirst().map { $0.prefix { $0.isNumber } }
        #expect(ports.count == 3)
        #expect(Set(ports).count == 1, "upstream ports \(ports)")
        let metrics = try h.metrics()
        #expect(metrics.contains("customs_upstream_connects_total 1\n"))
        #expect(metrics.contains("customs_upstream_reused_total 2\n"))
    }

    @Test func http10Client() throws {
        let h = try Harness()
        let r = try h.curl(["-0", "-D", "-", "\(h.origin)/chunked"])
        #expect(r.stdout.hasPrefix("HTTP/1.1 200"))
        #expect(r.stdout.hasSuffix("hello chunked world"))
        #expect(!r.stdout.lowercased().contains("transfer-encoding"))
        let c = try RawClient(port: h.proxyPort)
        c.send("GET \(h.origin)/x HTTP/1.0\r\n\r\n")
        let (text, closed) = c.readAll()
        c.close()
        #expect(statusCode(text) == 200)
        #expect(closed)
    }

    @Test func ipv6Listener() throws {
        let h = try Harness(listenV6: true)
        try waitForListener(port: h.proxyPort, host: "::1", process: h.gateway)
        let r = try runProcess("curl", ["-sS", "-x", "http://[::1]:\(h.proxyPort)", "\(h.origin)/v6"], timeout: 30)
        #expect(try json(r.stdout)["path"] as? String == "/v6")
    }

    @Test func ipv6Upstream() throws {
        let h = try Harness()
        let port = freeLoopbackPort()
        try "over v6\n".write(to: h.dir.appendingPathComponent("v6.txt"), atomically: true, encoding: .utf8)
        let server = try BackgroundProcess("python3", ["-m", "http.server", "--bind", "::1", "\(port)",
                                                       "--directory", h.dir.path])
        defer { server.stop(grace: 1) }
        try waitForListener(port: port, host: "::1", process: server)
        let r = try h.curl(["http://[::1]:\(port)/v6.txt"])
        #expect(r.stdout == "over v6\n", "\(r.stderr)")
        let tunnel = try h.curl(["-p", "http://[::1]:\(port)/v6.txt"])
        #expect(tunnel.stdout == "over v6\n", "\(tunnel.stderr)")
        let lines = h.waitForAccessLines(2)
        #expect(lines.contains { $0["upstream"] as? String == "[::1]:\(port)" })
    }

    @Test func unreachableUpstreamIs502() throws {
        let h = try Harness(withUpstream: false)
        let closedPort = freeLoopbackPort()
        let r = try h.curl(["-D", "-", "http://127.0.0.1:\(closedPort)/"])
        #expect(statusCode(r.stdout) == 502)
        #expect(r.stdout.contains("cannot connect"))
    }

    @Test func upstreamTimeoutIs504() throws {
        let h = try Harness(extra: ["--response-timeout", "1"])
        let r = try h.curl(["-D", "-", "\(h.origin)/slow"])
        #expect(statusCode(r.stdout) == 504)
    }

    @Test func adminEndpoints() throws {
        let h = try Harness()
        _ = try h.curl(["\(h.origin)/m"])
        let health = try runProcess("curl", ["-sS", "-i", "http://127.0.0.1:\(h.adminPort)/healthz"])
        #expect(health.stdout.hasPrefix("HTTP/1.1 200"))
        #expect(health.stdout.hasSuffix("ok\n"))
        let m = try h.metrics()
        for name in ["customs_http_requests_total{code=\"2xx\"} 1", "customs_active_connections",
                     "customs_tunnels_total{outcome=\"spliced\"}", "customs_client_bytes_received_total",
                     "customs_client_bytes_sent_total", "customs_upstream_connect_seconds_bucket",
                     "customs_http_request_duration_seconds_count 1", "# TYPE customs_http_requests_total counter"] {
            #expect(m.contains(name), "metrics lack \(name)")
        }
        let missing = try runProcess("curl", ["-sS", "-o", "/dev/null", "-w", "%{http_code}",
                                              "http://127.0.0.1:\(h.adminPort)/nope"])
        #expect(missing.stdout == "404")
    }
}
