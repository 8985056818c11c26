import CustomsCore
import CustomsTestSupport
import Foundation
import Gateway
import Interception
import Logging
import Testing

/// Records every flow it is asked about; inspects https POSTs and blocks bodies with "secret".
final class RecordingGovernor: FlowGovernor, @unchecked Sendable {
    // Guarded by the lock: plan/tunnel run on event queues.
    private let lock = NSLock()
    private var plans: [FlowContext] = []
    private var tunnels: [FlowContext] = []

    func plan(for flow: FlowContext) -> FlowPlan {
        lock.withLock { plans.append(flow) }
        return flow.method == "POST" ? .inspect(WordInspection()) : .forward
    }

    func tunnel(for flow: FlowContext) -> TunnelPlan {
        lock.withLock { tunnels.append(flow) }
        return .intercept
    }

    func finished(_ flow: FlowContext, status: Int, bytesUp: UInt64, bytesDown: UInt64) {}

    var planned: [FlowContext] { lock.withLock { plans } }
    var tunnelled: [FlowContext] { lock.withLock { tunnels } }
}

/// The gateway in this process with interception on and a governor: intercepted requests are
/// planned like plain ones, with scheme "https", and a block verdict reaches the client as 451.
@Suite struct InterceptionGovernorTests {
    static let upstreamScript = #"""
    import http.server, ssl, sys
    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def do_any(self):
            n = int(self.headers.get("Content-Length", "0"))
            self.rfile.read(n)
            body = ("%s %s %d\n" % (self.command, self.path, n)).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        do_GET = do_POST = do_any
        def log_message(self, *a): pass
    s = http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H)
    c = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    c.load_cert_chain(sys.argv[2], sys.argv[3])
    s.socket = c.wrap_socket(s.socket, server_side=True)
    s.serve_forever()
    """#

    @Test func interceptedRequestsArePlannedAsHTTPSAndBlocked() async throws {
        try requireTool("curl")
        try requireTool("python3")
        let dir = try TestPaths.temporaryDirectory("intercept-governor")
        defer { try? FileManager.default.removeItem(at: dir) }
        // Upstream identity from its own CA, trusted by the gateway as an extra file.
        let upstreamCA = try CertificateAuthority.generate(.init(commonName: "Upstream CA"))
        try upstreamCA.write(to: dir.appendingPathComponent("upstream-ca").path)
        let upstreamMinter = try LeafMinter(authority: upstreamCA)
        let leaf = try upstreamMinter.mint(LeafNames(primary: "localhost"))
        let cert = dir.appendingPathComponent("up.crt").path, key = dir.appendingPathComponent("up.key").path
        try leaf.certificate.pem.write(toFile: cert, atomically: true, encoding: .utf8)
        try upstreamMinter.leafKey.pem.write(toFile: key, atomically: true, encoding: .utf8)
        let script = dir.appendingPathComponent("up.py").path
        try Self.upstreamScript.write(toFile: script, atomically: true, encoding: .utf8)
        let upstreamPort = freeLoopbackPort()
        let upstream = try BackgroundProcess("python3", [script, "\(upstreamPort)", cert, key])
        defer { upstream.stop() }

        let interceptionCA = try CertificateAuthority.generate(.init(commonName: "Interception CA"))
        let caDir = dir.appendingPathComponent("ca").path
        try interceptionCA.write(to: caDir)
        let registry = MetricsRegistry()
        var conf = GatewayConfiguration(listen: ["127.0.0.1:0"], admin: nil,
                                        allowDestinations: [IPNetwork("127.0.0.0/8")!], queues: 2)
        conf.interception = try InterceptionSettings(
            authority: interceptionCA, upstreamTrustFiles: [dir.appendingPathComponent("upstream-ca/ca.crt").path],
            registry: registry)
        let governor = RecordingGovernor()
        let gateway = try Gateway(configuration: conf, governor: governor, metrics: registry, logger: Logger(label: "customs.test"))
        try gateway.start()
        let port = try #require(gateway.boundPorts.first)
        try waitForListener(port: upstreamPort, process: upstream)

        func curl(_ extra: [String]) throws -> ProcessResult {
            try runProcess("curl", ["-sS", "--max-time", "20", "--proxy", "http://127.0.0.1:\(port)",
                                    "--cacert", caDir + "/ca.crt", "-w", "\n%{http_code}"] + extra, timeout: 30)
        }
        let url = "https://localhost:\(upstreamPort)/orders"
        let allowed = try curl(["--data-binary", "harmless", url])
        #expect(allowed.stdout.contains("POST /orders 8"), "\(allowed.stdout)\(allowed.stderr)")
        let blocked = try curl(["--data-binary", "a secret body", url])
        #expect(blocked.stdout.hasSuffix("\n451"), "\(blocked.stdout)\(blocked.stderr)")
        #expect(blocked.stdout.contains("blocked: personal data"))

        // Each CONNECT is asked twice: on its host before the 200 (so a refusal can be a 451),
        // then with the ClientHello's SNI.
        let tunnels = governor.tunnelled
        #expect(tunnels.count == 4)
        #expect(tunnels.allSatisfy { $0.scheme == "tunnel" && $0.method == "CONNECT" && $0.host == "localhost" })
        #expect(tunnels.filter { $0.sni == "localhost" }.count == 2)
        let plans = governor.planned
        #expect(plans.count == 2)
        #expect(plans.allSatisfy { $0.scheme == "https" && $0.host == "localhost" && $0.port == upstreamPort })
        #expect(plans.allSatisfy { $0.path == "/orders" && $0.method == "POST" && $0.sni == "localhost" })
        #expect(registry.render().contains("customs_tls_intercepted_total 2"))
        await gateway.shutdown(grace: 1)
    }
}
