import CustomsTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

@Suite(.serialized) struct TunnelTests {
    @Test func connectToATLSServer() throws {
        try requireTool("openssl")
        let h = try Harness()
        let key = h.dir.appendingPathComponent("key.pem").path, cert = h.dir.appendingPathComponent("cert.pem").path
        let gen = try runProcess("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                                             "-days", "1", "-subj", "/CN=localhost"], timeout: 60)
        #expect(gen.status == 0, "\(gen.stderr)")
        let tlsPort = freeLoopbackPort()
        let server = try BackgroundProcess("openssl", ["s_server", "-accept", "127.0.0.1:\(tlsPort)", "-cert", cert,
                                                       "-key", key, "-www", "-quiet"])
        defer { server.stop(grace: 1) }
        try waitForListener(port: tlsPort, process: server)
        let r = try h.curl(["-k", "-D", "-", "https://127.0.0.1:\(tlsPort)/"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("HTTP/1.1 200 Connection established"))
        #expect(r.stdout.contains("s_server"), "expected the openssl status page, got \(r.stdout.prefix(300))")
        let lines = h.waitForAccessLines(1)
        let line = try #require(lines.first)
        #expect(line["method"] as? String == "CONNECT")
        #expect(line["scheme"] as? String == "tunnel")
        #expect((line["bytes_in"] as? Int ?? 0) > 0 && (line["bytes_out"] as? Int ?? 0) > 0)
        let m = try h.metrics()
        #expect(m.contains("customs_tunnels_total{outcome=\"spliced\"} 1"))
    }

    @Test func bulkBytesThroughATunnel() throws {
        let h = try Harness()
        let file = h.dir.appendingPathComponent("tunnel.bin")
        var bytes = [UInt8](repeating: 0, count: 8 << 20)
        var x: UInt32 = 12345
        for i in bytes.indices { x = x &* 1_103_515_245 &+ 12345; bytes[i] = UInt8(truncatingIfNeeded: x >> 16) }
        try Data(bytes).write(to: file)
        let expected = try runProcess("sha256sum", [file.path]).stdout.prefix(64)
        let r = try h.curl(["-p", "--data-binary", "@\(file.path)", "\(h.origin)/upload"], timeout: 60)
        let body = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(body["length"] as? Int == bytes.count)
        #expect(body["sha256"] as? String == String(expected))
        // Inside a tunnel the request is not rewritten: no Via.
        #expect((body["headers"] as? [String: String])?["via"] == nil)
    }
}

@Suite(.serialized) struct LifecycleTests {
    @Test func sigtermLetsInFlightRequestsFinish() throws {
        let h = try Harness()
        let out = h.dir.appendingPathComponent("slow.out")
        let curl = try BackgroundProcess("curl", ["-sS", "-o", out.path, "-w", "%{http_code}", "-x", h.proxy, "\(h.origin)/slow"])
        usleep(700_000)
        h.gateway.signal(SIGTERM)
        usleep(300_000)
        #expect(!canConnect(host: "127.0.0.1", port: h.proxyPort), "still accepting after SIGTERM")
        let deadline = Date().addingTimeInterval(15)
        while h.gateway.process.isRunning && Date() < deadline { usleep(50_000) }
        #expect(!h.gateway.process.isRunning)
        #expect(h.gateway.process.terminationStatus == 0)
        _ = curl.stop(grace: 10)
        #expect(curl.output == "200")
        #expect((try? String(contentsOf: out, encoding: .utf8)) == "late")
        #expect(h.gateway.output.contains("draining"))
    }

    @Test func transparentListenerWithoutARedirectClosesQuietly() throws {
        // Without an iptables/nftables REDIRECT there is no original destination to go to;
        // the gateway must not treat its own address as one (that would loop).
        let tport = freeLoopbackPort()
        let h = try Harness(extra: ["--transparent", "127.0.0.1:\(tport)"])
        try waitForListener(port: tport, process: h.gateway)
        let c = try RawClient(port: tport)
        c.send("GET / HTTP/1.1\r\nHost: 127.0.0.1:\(h.upstreamPort)\r\n\r\n")
        let (text, closed) = c.readAll()
        c.close()
        #expect(closed)
        #expect(text.isEmpty)
        let m = try h.metrics()
        #expect(m.contains("customs_upstream_connects_total 0\n"))
    }

    @Test func portTakenIsAOneLineError() throws {
        let h = try Harness()
        let r = try runProcess(TestPaths.customsBinary.path,
                               ["serve", "--listen", "127.0.0.1:\(h.proxyPort)", "--admin", "off", "--state", h.dir.path],
                               timeout: 20)
        #expect(r.status != 0)
        #expect(r.stderr.contains("127.0.0.1:\(h.proxyPort) is already in use"), "\(r.stderr)")
        #expect(r.stderr.split(separator: "\n").count == 1)
    }

    @Test func invalidFlagsAreOneLineErrors() throws {
        for args in [["--allow-destination", "nonsense"], ["--listen", "nowhere"], ["--hold-limit", "lots"],
                     ["--client-name", "10.0.0.0/8"], ["--queues", "0"]] {
            let r = try runProcess(TestPaths.customsBinary.path, ["serve", "--admin", "off"] + args, timeout: 20)
            #expect(r.status != 0, "\(args)")
            #expect(r.stderr.split(separator: "\n").count == 1, "\(args): \(r.stderr)")
        }
    }

    @Test func helpDescribesEveryOption() throws {
        let r = try runProcess(TestPaths.customsBinary.path, ["serve", "--help"], timeout: 20)
        for flag in ["--listen", "--admin", "--allow-destination", "--transparent", "--state", "--config",
                     "--credentials", "--client-name", "--access-log", "--hold-limit", "--header-timeout",
                     "--idle-timeout", "--connect-timeout", "--response-timeout", "--shutdown-grace",
                     "--max-connections", "--max-header-bytes", "--max-request-line", "--queues"] {
            #expect(r.stdout.contains(flag), "help lacks \(flag)")
        }
    }
}
