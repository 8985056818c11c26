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
             extraGatewayArguments: [String] = []) throws {
            try requireTool("python3")
            try requireTool("curl")
            upstreamCA = try TestAuthority(name: "Upstream Test CA")
            interceptionCA = try TestAuthority(name: "Customs Test Interception CA")
            let identity = try upstreamCA.writeServerIdentity(upstreamNames)
            let script = upstreamCA.directory.appendingPathComponent("upstream.py").path
            try InterceptionGatewayTests.upstreamScript.write(toFile: script, atomically: true, encoding: .utf8)
            upstreamPort = freeLoopbackPort()
            upstream = try BackgroundProcess("python3", [script, "\(upstreamPort)", identity.cert, identity.key])
            try waitForListener(port: upstreamPort)
            proxyPort = freeLoopbackPort()
            adminPort = freeLoopbackPort()
            gateway = try BackgroundProcess(TestPaths.customsBinary.path, [
                "serve", "--listen", "127.0.0.1:\(proxyPort)", "--admin", "127.0.0.1:\(adminPort)",
                "--allow-destination", "127.0.0.0/8", "--ca", interceptionCA.directory.path,
                "--upstream-ca", upstreamCA.certificateFile,
                "--state", interceptionCA.directory.appendingPathComponent("state").path,
            ] + extraGatewayArguments)
            try waitForListener(port: proxyPort)
        }

        deinit {
            gateway.stop()
            upstream.stop()
        }

        /// curl through the proxy, trusting only the interception CA.
        func curl(_ url: String, _ extra: [String] = [], cacert: String? = nil) throws -> ProcessResult {
            try runProcess("curl", ["-sS", "--max-time", "20", "--proxy", "http://127.0.0.1:\(proxyPort)",
                                    "--cacert", cacert ?? interceptionCA.certificateFile, "-w", "\n%{http_code}"]
                                    + extra + [url], timeout: 30)
        }

        func metrics() throws -> String {
            try runProcess("curl", ["-sS", "--max-time", "10", "http://127.0.0.1:\(adminPort)/metrics"]).stdout
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
    }
}
