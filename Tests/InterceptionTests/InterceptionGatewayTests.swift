import CustomsTestSupport
import Foundation
import Testing
@testable import Interception

/// End to end: the real `customs serve --ca` binary, curl as the client (trusting only the
/// interception CA), and a Python `ssl` HTTPS server as the upstream (trusted by the gateway
/// through --upstream-ca). Everything on 127.0.0.1.
@Suite(.serialized) struct InterceptionGatewayTests {
    static let upstreamScript = #"""
    import hashlib, http.server, ssl, sys
    port, cert, key = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def reply(self, body):
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        def do_GET(self):
            if self.path.startswith("/big/"):
                size = int(self.path[5:])
                self.send_response(200)
                self.send_header("Content-Length", str(size))
                self.end_headers()
                chunk = bytes(range(256)) * 256
                while size > 0:
                    piece = chunk[:min(size, len(chunk))]
                    self.wfile.write(piece)
                    size -= len(piece)
                return
            self.reply(("upstream GET %s host=%s\n" % (self.path, self.headers.get("Host"))).encode())
        def do_POST(self):
            data = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.reply(("upstream POST %s bytes=%d sha256=%s\n" % (self.path, len(data), hashlib.sha256(data).hexdigest())).encode())
        def log_message(self, *args):
            pass
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.serve_forever()
    """#

    /// An upstream CA, an HTTPS upstream with a certificate for `names`, the interception CA and a
    /// running gateway.
    final class Setup {
        let upstreamCA: TestAuthority
        let interceptionCA: TestAuthority
        let upstream: BackgroundProcess
        let upstreamPort: UInt16
        let gateway: BackgroundProcess
        let proxyPort: UInt16
        let adminPort: UInt16

        init(upstreamNames: LeafNames = try! LeafNames(primary: "localhost", additional: ["127.0.0.1"]),
             trustUpstream: Bool = true, extraGatewayArguments: [String] = [],
             upstreamCAArguments: (_ upstreamCAFile: String) -> [String] = { _ in [] }) throws {
            try requireTool("python3")
            try requireTool("curl")
            upstreamCA = try TestAuthority(name: "Upstream Test CA")
            interceptionCA = try TestAuthority(name: "Customs Test Interception CA")
            let identity = try upstreamCA.writeServerIdentity(upstreamNames)
            let script = upstreamCA.directory.appendingPathComponent("upstream.py").path
            try InterceptionGatewayTests.upstreamScript.write(toFile: script, atomically: true, encoding: .utf8)
            upstreamPort = freeLoopbackPort()
            upstream = try BackgroundProcess("python3", [script, "\(upstreamPort)", identity.cert, identity.key])
            try waitForListener(port: upstreamPort, process: upstream)
            proxyPort = freeLoopbackPort()
            adminPort = freeLoopbackPort()
            // Loopback is inside the network, and domestic destinations are spliced, so the site
            // pins the test upstream abroad: only flows to the outside are intercepted.
            let site = interceptionCA.directory.appendingPathComponent("site.yaml")
            try Self.site.write(to: site, atomically: true, encoding: .utf8)
            gateway = try BackgroundProcess(TestPaths.customsBinary.path, [
                "serve", "--config", site.path, "--listen", "127.0.0.1:\(proxyPort)", "--admin", "127.0.0.1:\(adminPort)",
                "--allow-destination", "127.0.0.0/8", "--ca", interceptionCA.directory.path,
                "--state", interceptionCA.directory.appendingPathComponent("state").path,
            ] + (trustUpstream ? ["--upstream-ca", upstreamCA.certificateFile] : []) + extraGatewayArguments
              + upstreamCAArguments(upstreamCA.certificateFile))
            try waitForListener(port: proxyPort, process: gateway)
        }

        deinit {
            gateway.stop()
            upstream.stop()
        }

        static let site = """
            kind: site
            regimes: [cn-2024-provisions]
            mode: enforce
            recipients:
              - {id: test-upstream, name: "Test upstream abroad", networks: ["127.0.0.1/32"], country: US}
            inspection:
              uninspectable: allow
              tunnels: allow
            """

        /// curl through the proxy, trusting only the interception CA.
        func curl(_ url: String, _ extra: [String] = [], cacert: String? = nil) throws -> ProcessResult {
            try runProcess("curl", ["-sS", "--max-time", "20", "--proxy", "http://127.0.0.1:\(proxyPort)",
                                    "--cacert", cacert ?? interceptionCA.certificateFile, "-w", "\n%{http_code}"]
                                    + extra + [url], timeout: 100)
        }

        func metrics() throws -> String {
            try runProcess("curl", ["-sS", "--max-time", "10", "http://127.0.0.1:\(adminPort)/metrics"]).stdout
        }

        /// The value of an unlabelled metric.
        func metric(_ name: String) throws -> Double? {
            for line in try metrics().split(separator: "\n") where line.hasPrefix(name + " ") {
                return Double(line.split(separator: " ")[1])
            }
            return nil
        }
    }

    @Test func getAndPostThroughAnInterceptedTunnel() throws {
        let setup = try Setup()
        let get = try setup.curl("https://localhost:\(setup.upstreamPort)/hello?q=1", ["-v"])
        #expect(get.stdout.contains("upstream GET /hello?q=1 host=localhost:\(setup.upstreamPort)"), "\(get.stdout)\n\(get.stderr)\n\(setup.gateway.output)")
        #expect(get.stdout.hasSuffix("\n200"))
        // The client saw our minted leaf, issued by the interception CA.
        #expect(get.stderr.contains("Customs Test Interception CA"), "\(get.stderr)")
        #expect(get.stderr.contains("ALPN: server accepted http/1.1") || get.stderr.contains("ALPN, server accepted to use http/1.1"))

        let body = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 13) }
        let file = setup.upstreamCA.directory.appendingPathComponent("body.bin")
        try Data(body).write(to: file)
        let expected = try runProcess("sha256sum", [file.path]).stdout.prefix(64)
        let post = try setup.curl("https://localhost:\(setup.upstreamPort)/upload",
                                  ["--data-binary", "@\(file.path)", "-H", "Content-Type: application/octet-stream"])
        #expect(post.stdout.contains("upstream POST /upload bytes=300000 sha256=\(expected)"), "\(post.stdout)\n\(post.stderr)")

        // The minted leaf: SNI plus the upstream certificate's names, issued by the interception CA.
        try requireTool("openssl")
        let shown = try runProcess("openssl", ["s_client", "-proxy", "127.0.0.1:\(setup.proxyPort)",
                                               "-connect", "localhost:\(setup.upstreamPort)", "-servername", "localhost",
                                               "-CAfile", setup.interceptionCA.certificateFile, "-verify_return_error"],
                                   stdin: Data(), timeout: 20)
        #expect(shown.stdout.contains("Verify return code: 0 (ok)"), "\(shown.stdout)\(shown.stderr)")
        let leafPEM = try #require(shown.stdout.range(of: "-----BEGIN CERTIFICATE-----").map { start in
            String(shown.stdout[start.lowerBound...]).components(separatedBy: "-----END CERTIFICATE-----")[0]
                + "-----END CERTIFICATE-----\n"
        })
        let text = try opensslText(leafPEM)
        #expect(text.contains("DNS:localhost"))
        #expect(text.contains("IP Address:127.0.0.1"), "upstream SAN copied into the leaf: \(text)")
        #expect(text.contains("Issuer: O = Customs, CN = Customs Test Interception CA"))
    }

    @Test func keepAliveReusesTheInterceptedUpstream() throws {
        let setup = try Setup()
        let base = "https://localhost:\(setup.upstreamPort)"
        let both = try setup.curl("\(base)/one", ["\(base)/two"])
        #expect(both.stdout.contains("upstream GET /one"), "\(both.stdout)\(both.stderr)")
        #expect(both.stdout.contains("upstream GET /two"))
        #expect(try setup.metric("customs_tls_intercepted_total") == 1, "one tunnel, two requests")
        #expect(try setup.metric("customs_upstream_reused_total") == 1)
        // A second tunnel to the same upstream resumes the TLS session instead of a full handshake.
        #expect(try setup.metric("customs_tls_upstream_resumed_total") == 0)
        #expect(try setup.curl("\(base)/three").stdout.contains("upstream GET /three"))
        #expect(try setup.metric("customs_tls_upstream_resumed_total") == 1)
    }

    @Test func largeDownloadAndUploadThroughTheTunnel() throws {
        let setup = try Setup()
        func peakKiB() throws -> Int {
            let status = try String(contentsOfFile: "/proc/\(setup.gateway.pid)/status", encoding: .utf8)
            return status.split(separator: "\n").first { $0.hasPrefix("VmHWM:") }
                .flatMap { Int($0.split(separator: " ", omittingEmptySubsequences: true)[1]) } ?? Int.max
        }
        // The gateway's own footprint (country table, ledger, leaf key) before any traffic.
        let startPeak = try peakKiB()
        let size = 64 << 20
        let out = setup.upstreamCA.directory.appendingPathComponent("big.out")
        let download = try setup.curl("https://localhost:\(setup.upstreamPort)/big/\(size)", ["-o", out.path, "--max-time", "90"])
        #expect(download.stdout.hasSuffix("200"), "\(download.stdout)\(download.stderr)")
        let data = try Data(contentsOf: out)
        #expect(data.count == size)
        #expect(data.prefix(512) == Data((0..<512).map { UInt8($0 % 256) }))

        let upload = setup.upstreamCA.directory.appendingPathComponent("big.in")
        let block = Data((0..<65_536).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        try Data(repeating: 0, count: 0).write(to: upload)
        let handle = try FileHandle(forWritingTo: upload)
        for _ in 0..<64 { handle.write(block) }
        try handle.close()
        let expected = try runProcess("sha256sum", [upload.path]).stdout.prefix(64)
        let posted = try setup.curl("https://localhost:\(setup.upstreamPort)/up", ["--data-binary", "@\(upload.path)"])
        #expect(posted.stdout.contains("bytes=\(4 << 20) sha256=\(expected)"), "\(posted.stdout)\(posted.stderr)")
        // Backpressure: the gateway never held the 64 MiB download; the 4 MiB upload is held for
        // inspection (below the 8 MiB hold limit), so growth stays well under the download's size.
        let grown = try peakKiB() - startPeak
        #expect(grown < 32_000, "peak RSS grew by \(grown) KiB over the idle \(startPeak) KiB")
    }

    /// The same pipeline as plain HTTP, inside TLS: people are counted, and a flow the policy
    /// stops gets the 451 over the intercepted connection and never reaches the upstream.
    @Test func residentIDsOverHTTPSAreCountedAndBlockedAsOverHTTP() throws {
        let setup = try Setup()
        let id = ResidentIDs.withCheck
        let adults = (0..<3).map { id("1101051985010100\($0)") }
        let body = "[" + adults.map { "{\"name\":\"A\",\"id_card\":\"\($0)\"}" }.joined(separator: ",") + "]"
        let ok = try setup.curl("https://localhost:\(setup.upstreamPort)/up",
                                ["-H", "Content-Type: application/json", "--data-binary", body])
        #expect(ok.stdout.hasSuffix("200"), "\(ok.stdout)\(ok.stderr)")
        let ledger = setup.interceptionCA.directory.appendingPathComponent("state/ledger.sqlite").path
        let counts = try runProcess(TestPaths.customsBinary.path, ["ledger", "counts", "--db", ledger])
        #expect(counts.stdout.contains("recipient:test-upstream"), "\(counts.stdout)")

        // A child's ID is sensitive (under 14): with no standard contract on file, blocked.
        let child = id("11010520200101001")
        let blocked = try setup.curl("https://localhost:\(setup.upstreamPort)/up",
                                     ["-H", "Content-Type: application/json", "-D", "-",
                                      "--data-binary", "[{\"name\":\"Kid\",\"id_card\":\"\(child)\"}]"])
        #expect(blocked.stdout.hasSuffix("451"), "\(blocked.stdout)")
        #expect(blocked.stdout.lowercased().contains("customs-incident: cus-"))
        #expect(blocked.stdout.contains("\"recipient\":\"test-upstream\""))
    }

    @Test func ipLiteralWithoutSNI() throws {
        let setup = try Setup()
        // curl sends no SNI for an IP address: the leaf is minted for the CONNECT host's IP.
        let get = try setup.curl("https://127.0.0.1:\(setup.upstreamPort)/ip", ["-v"])
        #expect(get.stdout.contains("upstream GET /ip"), "\(get.stdout)\n\(get.stderr)\n\(setup.gateway.output)")
        #expect(get.stdout.hasSuffix("\n200"))
    }

    @Test func noInterceptHostIsSpliced() throws {
        let setup = try Setup(extraGatewayArguments: ["--no-intercept", "*.example", "--no-intercept", "localhost"])
        let url = "https://localhost:\(setup.upstreamPort)/spliced"
        // The client sees the upstream's own certificate: it verifies with the upstream CA …
        let direct = try setup.curl(url, ["-v"], cacert: setup.upstreamCA.certificateFile)
        #expect(direct.stdout.contains("upstream GET /spliced"), "\(direct.stdout)\n\(direct.stderr)")
        #expect(direct.stderr.contains("Upstream Test CA"))
        // … and not with the interception CA.
        let refused = try setup.curl(url)
        #expect(refused.status == 60, "curl: certificate problem expected, got \(refused.status) \(refused.stderr)")
        #expect(try setup.metric("customs_tls_intercepted_total") == 0)
    }

    /// An upstream whose certificate does not name the host (and, second, one signed by a CA the
    /// gateway does not trust) is refused: the client gets a 502 page over its intercepted TLS.
    /// With room for one leaf, the same run shows cache hits, misses and evictions.
    @Test func badUpstreamCertificateIsRefusedAndLeafCacheEvicts() throws {
        let setup = try Setup(upstreamNames: try LeafNames(primary: "localhost"), extraGatewayArguments: ["--leaf-cache-size", "1"])
        let base = "https://localhost:\(setup.upstreamPort)"
        #expect(try setup.curl("\(base)/a").stdout.hasSuffix("\n200"))
        #expect(try setup.curl("\(base)/b").stdout.hasSuffix("\n200"))
        #expect(try setup.metric("customs_tls_leaf_cache_hits") == 1)
        #expect(try setup.metric("customs_tls_leaf_cache_misses") == 1)

        let mismatch = try setup.curl("https://127.0.0.1:\(setup.upstreamPort)/c")
        #expect(mismatch.stdout.hasSuffix("\n502"), "\(mismatch.stdout)\n\(mismatch.stderr)")
        #expect(mismatch.stdout.contains("IP address mismatch"))
        #expect(setup.gateway.output.contains("upstream TLS refused"))
        #expect(try setup.metric("customs_tls_upstream_refused_total") == 1)
        #expect(try setup.metric("customs_tls_leaf_cache_evictions") == 1)
        #expect(try setup.curl("\(base)/d").stdout.hasSuffix("\n200"))
        #expect(try setup.metric("customs_tls_leaf_cache_misses") == 3)
        #expect(try setup.metric("customs_tls_leaf_cache_evictions") == 2)
    }

    @Test func untrustedUpstreamIsRefused() throws {
        let setup = try Setup(trustUpstream: false)
        let result = try setup.curl("https://localhost:\(setup.upstreamPort)/x")
        #expect(result.stdout.hasSuffix("\n502"), "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains("unable to get local issuer certificate"))
    }

    @Test func clientAbortingMidHandshakeLeavesTheGatewayServing() throws {
        let setup = try Setup()
        let hello = try TLSEngine(client: TLSClientContext(), host: "localhost", port: Int(setup.upstreamPort)).takeCiphertext()
        for sendWholeHello in [false, true] {
            let socket = try LoopbackSocket(port: setup.proxyPort)
            try socket.send(Array("CONNECT localhost:\(setup.upstreamPort) HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8))
            var buffer = [UInt8](repeating: 0, count: 4096)
            let n = try socket.receive(into: &buffer)
            #expect(String(decoding: buffer[0..<n], as: UTF8.self).hasPrefix("HTTP/1.1 200"))
            try socket.send(sendWholeHello ? hello : Array(hello.prefix(40)))
            if sendWholeHello {
                // Wait for the ServerHello, then vanish.
                #expect(try socket.receive(into: &buffer) > 0)
            }
        }
        // The sockets are closed now (deinit); the gateway notices and keeps serving.
        var failures = 0.0
        for _ in 0..<50 where failures < 1 {
            failures = try setup.metric("customs_tls_client_handshake_failures_total") ?? 0
            usleep(100_000)
        }
        #expect(failures == 1)
        // Both connections are gone well before any timeout (the partial hello's hang-up is seen).
        var active = 1.0
        for _ in 0..<30 where active > 0 {
            active = try setup.metric("customs_active_connections") ?? 1
            usleep(100_000)
        }
        #expect(active == 0)
        #expect(try setup.curl("https://localhost:\(setup.upstreamPort)/after").stdout.contains("upstream GET /after"))
    }
}
