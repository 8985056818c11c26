import CustomsTestSupport
import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Transparent mode end to end, with the kernel doing the redirecting: each test builds a private
/// network namespace whose loopback carries the "remote" addresses 10.99.0.1 and fd99::1 (and
/// 10.99.0.2, which the gateway is not allowed to reach), an nftables `nat output` REDIRECT to the
/// gateway's transparent port, real upstreams (Python HTTP on :80, openssl s_server on :443), the
/// real `customs serve --transparent` binary, and curl as a client that knows nothing of a proxy.
/// Nothing leaves the namespace: every address used exists only inside it.
@Suite(.serialized) struct TransparentModeTests {
    @Test func plainHTTPIsRedirectedThroughTheGateway() throws {
        guard let lab = try RedirectLab.make() else { return }
        defer { lab.close() }

        try lab.expectReachedUpstream(host: "app.customs.test", address: "10.99.0.1", path: "/hello?q=1")

        let line = try #require(lab.waitForAccessLine { $0["path"] as? String == "/hello" }, "\(lab.diagnostics)")
        #expect(line["method"] as? String == "GET")
        #expect(line["scheme"] as? String == "http")
        #expect(line["host"] as? String == "app.customs.test")
        #expect(line["port"] as? Int == 80)
        #expect(line["status"] as? Int == 200)
        #expect(line["upstream"] as? String == "10.99.0.1:80", "the original destination was not recovered")
        #expect((line["client"] as? String)?.hasPrefix("10.99.0.1:") == true)
        #expect(line["outcome"] as? String == "forwarded")
    }

    @Test func keepAliveAndTheDestinationGuardApplyToRedirectedClients() throws {
        guard let lab = try RedirectLab.make() else { return }
        defer { lab.close() }

        // Two requests on one redirected client connection: both reach the original destination.
        let r = try lab.client(["-v", "--resolve", "app.customs.test:80:10.99.0.1",
                                "http://app.customs.test/a", "http://app.customs.test/b"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("Re-using existing connection"), "curl opened a second connection: \(r.stderr)")
        #expect(r.stdout.contains("\"/a\"") && r.stdout.contains("\"/b\""), "\(r.stdout)")
        for path in ["/a", "/b"] {
            let line = try #require(lab.waitForAccessLine { $0["path"] as? String == path }, "\(lab.diagnostics)")
            #expect(line["status"] as? Int == 200)
            #expect(line["upstream"] as? String == "10.99.0.1:80")
        }

        // 10.99.0.2 is redirected too but not in --allow-destination: the guard refuses it before any connect.
        let refused = try lab.client(["-i", "http://10.99.0.2/secret"])
        #expect(refused.stdout.hasPrefix("HTTP/1.1 403"), "\(refused.stdout)")
        #expect(refused.stdout.contains("10.99.0.2"), "the refusal should name the address: \(refused.stdout)")
        let line = try #require(lab.waitForAccessLine { $0["path"] as? String == "/secret" }, "\(lab.diagnostics)")
        #expect(line["status"] as? Int == 403)
        #expect(line["outcome"] as? String == "refused")
        #expect(line["upstream"] == nil)

        // A redirected TLS client cannot read an HTTP refusal: the connection just closes, and the log says why.
        let tls = try lab.client(["--insecure", "https://10.99.0.2/"])
        #expect(tls.status != 0, "a refused TLS flow must not complete: \(tls.stdout)")
        let tlsLine = try #require(lab.waitForAccessLine { $0["host"] as? String == "10.99.0.2" && $0["port"] as? Int == 443 },
                                   "\(lab.diagnostics)")
        #expect(tlsLine["status"] as? Int == 403)
        #expect(tlsLine["upstream"] == nil)
    }

    @Test func tlsIsTunnelledToTheOriginalDestinationByItsSNI() throws {
        guard let lab = try RedirectLab.make() else { return }
        defer { lab.close() }

        // --cacert, not --insecure: the certificate curl verifies is the upstream's own, so the
        // tunnel is end to end (not intercepted).
        let r = try lab.client(["--cacert", lab.certificate, "--resolve", "tls.customs.test:443:10.99.0.1",
                                "https://tls.customs.test/"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("s_server"), "expected the openssl status page, got \(r.stdout.prefix(300))")
        let line = try #require(lab.waitForAccessLine { $0["host"] as? String == "tls.customs.test" }, "\(lab.diagnostics)")
        #expect(line["method"] as? String == "CONNECT")
        #expect(line["scheme"] as? String == "tunnel")
        #expect(line["port"] as? Int == 443)
        #expect(line["status"] as? Int == 200)
        #expect(line["upstream"] as? String == "10.99.0.1:443")
        #expect((line["bytes_in"] as? Int ?? 0) > 0 && (line["bytes_out"] as? Int ?? 0) > 0)

        // Without SNI (an IP literal) the original destination address stands in for the host.
        let bare = try lab.client(["--insecure", "https://10.99.0.1/"])
        #expect(bare.status == 0, "\(bare.stderr)")
        #expect(bare.stdout.contains("s_server"))
        let bareLine = try #require(lab.waitForAccessLine { $0["host"] as? String == "10.99.0.1" }, "\(lab.diagnostics)")
        #expect(bareLine["upstream"] as? String == "10.99.0.1:443")
    }

    /// With a CA, a redirected TLS flow to an overseas destination is intercepted like a CONNECT:
    /// the client sees a leaf minted by the gateway's CA for its SNI, requests inside are logged as
    /// https, forwarded to the original destination over verified TLS, and inspected and blocked.
    @Test func redirectedTLSIsInterceptedWhenTheGatewayHasACA() throws {
        let setup = try TestPaths.temporaryDirectory("tp-intercept")
        defer { try? FileManager.default.removeItem(at: setup) }
        let ca = setup.appendingPathComponent("ca")
        let made = try runProcess(TestPaths.customsBinary.path, ["ca", "init", "--out", ca.path])
        try #require(made.status == 0, "customs ca init: \(made.stderr)")
        let site = setup.appendingPathComponent("site.yaml")
        try """
            kind: site
            regimes: [cn-2024-provisions]
            mode: enforce
            recipients:
              - {id: remote-app, name: "Redirected upstream abroad", networks: ["10.99.0.1/32"], country: US}
            inspection:
              uninspectable: allow
              tunnels: require_interception
            """.write(to: site, atomically: true, encoding: .utf8)
        // The gateway runs as the exempted user: it must read the CA key and the site file.
        chmod(setup.path, 0o755)
        for path in [ca.path, ca.appendingPathComponent("ca.key").path, site.path] {
            chown(path, uid_t(RedirectLab.gatewayUID), gid_t(RedirectLab.gatewayUID))
        }
        let caCert = ca.appendingPathComponent("ca.crt").path
        guard let lab = try RedirectLab.make(extra: ["--ca", ca.path, "--config", site.path,
                                                     "--upstream-ca", RedirectLab.upstreamCertificatePlaceholder]) else { return }
        defer { lab.close() }
        let resolve = ["--resolve", "tls.customs.test:443:10.99.0.1"]

        // Trusting only the gateway's CA works (and the upstream's own certificate does not):
        // the TLS was terminated by the gateway, and the upstream's answer came through it.
        let r = try lab.client(["--cacert", caCert] + resolve + ["https://tls.customs.test/inside?q=1"])
        #expect(r.status == 0, "\(r.stderr)\n\(lab.diagnostics)")
        #expect(r.stdout.contains("s_server"), "expected the openssl status page, got \(r.stdout.prefix(300))")
        let direct = try lab.client(["--cacert", lab.certificate] + resolve + ["https://tls.customs.test/"])
        #expect(direct.status == 60, "the client should have seen the gateway's leaf, not the upstream's: \(direct.stderr)")
        let line = try #require(lab.waitForAccessLine { $0["path"] as? String == "/inside" }, "\(lab.diagnostics)")
        #expect(line["method"] as? String == "GET")
        #expect(line["scheme"] as? String == "https")
        #expect(line["host"] as? String == "tls.customs.test")
        #expect(line["status"] as? Int == 200)
        #expect(line["upstream"] as? String == "10.99.0.1:443")

        // A child's resident ID (sensitive) to a recipient abroad with no contract on file: 451.
        let child = ResidentIDs.withCheck("11010520200101001")
        let blocked = try lab.client(["--cacert", caCert, "-w", "\n%{http_code}", "-H", "Content-Type: application/json",
                                      "--data-binary", "[{\"name\":\"Kid\",\"id_card\":\"\(child)\"}]"]
                                     + resolve + ["https://tls.customs.test/upload"])
        #expect(blocked.stdout.hasSuffix("451"), "\(blocked.stdout)\n\(blocked.stderr)\n\(lab.diagnostics)")
        #expect(blocked.stdout.contains("\"recipient\":\"remote-app\""), "\(blocked.stdout)")
        let blockedLine = try #require(lab.waitForAccessLine { $0["path"] as? String == "/upload" }, "\(lab.diagnostics)")
        #expect(blockedLine["status"] as? Int == 451)
        #expect(blockedLine["scheme"] as? String == "https")
    }

    @Test func ipv6IsRedirectedWithIP6TOriginalDst() throws {
        guard let lab = try RedirectLab.make() else { return }
        defer { lab.close() }
        if let refusal = lab.ipv6Refusal {
            Issue.record("IPv6 transparent mode not tested: the kernel refused IPv6 in the namespace: \(refusal)")
            return
        }

        try lab.expectReachedUpstream(host: "app6.customs.test", address: "fd99::1", path: "/six?x=1")
        let line = try #require(lab.waitForAccessLine { $0["path"] as? String == "/six" }, "\(lab.diagnostics)")
        #expect(line["host"] as? String == "app6.customs.test")
        #expect(line["upstream"] as? String == "[fd99::1]:80")
        #expect(line["status"] as? Int == 200)

        let tls = try lab.client(["--cacert", lab.certificate, "--resolve", "tls.customs.test:443:[fd99::1]",
                                  "https://tls.customs.test/"])
        #expect(tls.status == 0, "\(tls.stderr)")
        #expect(tls.stdout.contains("s_server"))
        let tlsLine = try #require(lab.waitForAccessLine { $0["upstream"] as? String == "[fd99::1]:443" }, "\(lab.diagnostics)")
        #expect(tlsLine["host"] as? String == "tls.customs.test")
        #expect(tlsLine["method"] as? String == "CONNECT")
    }

    @Test func redirectedClientsAreIdentifiedByAddressWhileProxyClientsAuthenticate() throws {
        let creds = try TestPaths.temporaryDirectory("tp-creds")
        defer { try? FileManager.default.removeItem(at: creds) }
        let file = creds.appendingPathComponent("credentials")
        try "alice:wonderland\n".write(to: file, atomically: true, encoding: .utf8)
        chmod(creds.path, 0o755)
        chmod(file.path, 0o644)
        guard let lab = try RedirectLab.make(extra: ["--credentials", file.path, "--listen", "127.0.0.1:3128"]) else { return }
        defer { lab.close() }

        // A redirected client cannot know it should send Proxy-Authorization: no 407 for it.
        let r = try lab.client(["-i", "--resolve", "app.customs.test:80:10.99.0.1", "http://app.customs.test/transparent"])
        #expect(r.stdout.hasPrefix("HTTP/1.1 200"), "\(r.stdout)")
        let line = try #require(lab.waitForAccessLine { $0["path"] as? String == "/transparent" }, "\(lab.diagnostics)")
        #expect(line["user"] == nil)
        #expect(line["upstream"] as? String == "10.99.0.1:80")

        // The explicit proxy listener of the same gateway still demands credentials.
        let anonymous = try lab.client(["-i", "-x", "http://127.0.0.1:3128", "http://10.99.0.1/explicit"])
        #expect(anonymous.stdout.hasPrefix("HTTP/1.1 407"), "\(anonymous.stdout)")
        let authed = try lab.client(["-i", "-x", "http://127.0.0.1:3128", "--proxy-user", "alice:wonderland",
                                     "http://10.99.0.1/explicit"])
        #expect(authed.stdout.hasPrefix("HTTP/1.1 200"), "\(authed.stdout)")
        let authedLine = try #require(lab.waitForAccessLine { $0["user"] as? String == "alice" }, "\(lab.diagnostics)")
        #expect(authedLine["path"] as? String == "/explicit")
    }
}

/// One network namespace with upstreams, a REDIRECT rule and a gateway; `close()` tears it all down.
final class RedirectLab: @unchecked Sendable {
    // Used from the owning test only; `closed` guards close() racing deinit.
    static let gatewayUID = 65534          // nobody: the nft rule exempts this user, as a deployment exempts "customs"
    static let transparentPort = 3129
    static let lifetime = 100              // seconds the upstream HTTP server lives at most
    /// In `extra` gateway arguments, stands for the upstreams' certificate (made when the lab is).
    static let upstreamCertificatePlaceholder = "@UPSTREAM_CERTIFICATE@"

    let name: String
    let dir: URL
    let certificate: String
    private(set) var ipv6Refusal: String?
    private var processes: [BackgroundProcess] = []
    private var gateway: BackgroundProcess?
    private var closed = false

    var accessLog: URL { dir.appendingPathComponent("state/access.log") }
    var diagnostics: String {
        "gateway output:\n\(gateway?.output ?? "-")\naccess log:\n\((try? String(contentsOf: accessLog, encoding: .utf8)) ?? "-")"
    }

    /// Nil (with a recorded issue saying why) when not run as root: creating a namespace and nftables
    /// rules needs CAP_NET_ADMIN. As root, any refusal by the kernel is thrown with its exact message.
    static func make(extra: [String] = []) throws -> RedirectLab? {
        guard geteuid() == 0 else {
            Issue.record("""
                transparent mode is not tested: this end-to-end test must run as root (CAP_NET_ADMIN) to create \
                a network namespace (ip netns add) and an nftables REDIRECT rule inside it; run the suite as root \
                (Deploy/test.sh installs nftables and iproute2)
                """)
            return nil
        }
        for tool in ["ip", "nft", "ss", "setpriv", "curl", "openssl", "python3"] { try requireTool(tool) }
        return try RedirectLab(extra: extra)
    }

    private init(extra: [String]) throws {
        name = "customs-tp-" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
        dir = try TestPaths.temporaryDirectory("transparent")
        certificate = dir.appendingPathComponent("cert.pem").path
        try host(["ip", "netns", "add", name], what: "create the network namespace")
        do { try setUp(extra: extra) } catch { close(); throw error }
    }

    private func setUp(extra: [String]) throws {
        try host(["ip", "-n", name, "link", "set", "lo", "up"], what: "bring up lo")
        for a in ["10.99.0.1/32", "10.99.0.2/32"] {
            try host(["ip", "-n", name, "addr", "add", a, "dev", "lo"], what: "add \(a)")
        }
        let v6 = try runProcess("ip", ["-n", name, "-6", "addr", "add", "fd99::1/128", "dev", "lo", "nodad"], timeout: 10)
        if v6.status != 0 { ipv6Refusal = "ip -6 addr add fd99::1/128: \(v6.stderr)" }

        // Everything to 80/443 of the namespace's "remote" addresses goes to the transparent port,
        // except the gateway's own upstream connections (its user), which would otherwise loop.
        let port = Self.transparentPort, uid = Self.gatewayUID
        try nft("""
            table ip customs_test {
                chain output {
                    type nat hook output priority -100; policy accept;
                    meta skuid != \(uid) ip daddr { 10.99.0.1, 10.99.0.2 } tcp dport { 80, 443 } redirect to :\(port)
                }
            }
            """, file: "rules4.nft")
        if ipv6Refusal == nil {
            do {
                try nft("""
                    table ip6 customs_test {
                        chain output {
                            type nat hook output priority -100; policy accept;
                            meta skuid != \(uid) ip6 daddr fd99::1 tcp dport { 80, 443 } redirect to :\(port)
                        }
                    }
                    """, file: "rules6.nft")
            } catch { ipv6Refusal = "\(error)" }
        }

        let key = dir.appendingPathComponent("key.pem").path
        try host(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                  "-keyout", key, "-out", certificate, "-days", "1", "-subj", "/CN=tls.customs.test",
                  "-addext", "subjectAltName=DNS:tls.customs.test"], what: "make the upstream certificate")

        let v4Only = ipv6Refusal != nil
        let script = dir.appendingPathComponent("upstream.py")
        try Self.upstreamScript.write(to: script, atomically: true, encoding: .utf8)
        processes.append(try inside(["python3", script.path, "80", "\(Self.lifetime)", "10.99.0.1"] + (v4Only ? [] : ["fd99::1"])))
        for accept in ["10.99.0.1:443"] + (v4Only ? [] : ["[fd99::1]:443"]) {
            // No `timeout` wrapper: spawned from the test it ignored SIGTERM (blocked mask) and, once
            // SIGKILLed, was never reaped by Foundation, hanging stop(); close() sweeps the namespace.
            processes.append(try inside(["openssl", "s_server", "-accept", accept,
                                         "-cert", certificate, "-key", key, "-www", "-quiet"]))
        }

        // The gateway runs unprivileged as the exempted user, so its state folder must be its own.
        let state = dir.appendingPathComponent("state")
        try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
        chmod(dir.path, 0o755)
        chown(state.path, uid_t(Self.gatewayUID), gid_t(Self.gatewayUID))
        var args = ["setpriv", "--reuid=\(uid)", "--regid=\(uid)", "--clear-groups", TestPaths.customsBinary.path, "serve",
                    "--transparent", "127.0.0.1:\(port)", "--admin", "127.0.0.1:9090", "--state", state.path,
                    "--allow-destination", "10.99.0.1/32", "--queues", "2"]
        if !v4Only { args += ["--transparent", "[::1]:\(port)", "--allow-destination", "fd99::1/128"] }
        let gw = try inside(args + extra.map { $0 == Self.upstreamCertificatePlaceholder ? certificate : $0 })
        gateway = gw
        processes.append(gw)

        var listeners = ["127.0.0.1:\(port)", "10.99.0.1:80", "10.99.0.1:443"]
        if !v4Only { listeners += ["[::1]:\(port)", "[fd99::1]:80", "[fd99::1]:443"] }
        try waitForListeners(listeners)
    }

    /// curl inside the namespace, as root (so the REDIRECT applies), with no proxy configured
    /// (unless `args` gives one with -x).
    func client(_ args: [String]) throws -> ProcessResult {
        try runProcess("ip", ["netns", "exec", name, "curl", "-sS", "--max-time", "15"] + args,
                       environment: ["http_proxy": "", "https_proxy": "", "HTTP_PROXY": "", "HTTPS_PROXY": ""],
                       timeout: 30)
    }

    func waitForAccessLine(timeout: TimeInterval = 5, _ match: ([String: Any]) -> Bool) -> [String: Any]? {
        let deadline = Date().addingTimeInterval(timeout)
        repeat {
            let text = (try? String(contentsOf: accessLog, encoding: .utf8)) ?? ""
            for line in text.split(separator: "\n") {
                if let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], match(object) {
                    return object
                }
            }
            usleep(50_000)
        } while Date() < deadline
        return nil
    }

    /// A plain `curl http://host/path` (host resolved to `address`, no proxy) answered 200 by the
    /// upstream listening on `address`, with the gateway's Via added on the way.
    func expectReachedUpstream(host: String, address: String, path: String) throws {
        let literal = address.contains(":") ? "[\(address)]" : address
        let r = try client(["-i", "--resolve", "\(host):80:\(literal)", "http://\(host)\(path)"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.hasPrefix("HTTP/1.1 200"), "\(r.stdout)")
        let body = try #require(r.stdout.range(of: "\r\n\r\n").map { String(r.stdout[$0.upperBound...]) }, "\(r.stdout)")
        let seen = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any], "\(body)")
        #expect(seen["host"] as? String == host)
        #expect(seen["path"] as? String == path)
        #expect(seen["via"] as? String == "1.1 customs", "the request did not pass through the gateway")
        #expect(seen["local"] as? String == address)
    }

    func close() {
        if closed { return }
        closed = true
        gateway?.stop(grace: 5)
        // Whatever else runs inside (upstreams) goes now; leftovers would outlive the namespace.
        if let pids = try? runProcess("ip", ["netns", "pids", name], timeout: 10).stdout {
            for pid in pids.split(separator: "\n").compactMap({ Int32($0) }) { kill(pid, SIGKILL) }
        }
        for p in processes.reversed() { p.stop(grace: 2) }
        _ = try? runProcess("ip", ["netns", "del", name], timeout: 10)
        try? FileManager.default.removeItem(at: dir)
    }

    deinit { close() }

    private func inside(_ args: [String]) throws -> BackgroundProcess {
        try BackgroundProcess("ip", ["netns", "exec", name] + args)
    }

    private func host(_ args: [String], what: String) throws {
        let r = try runProcess(args[0], Array(args.dropFirst()), timeout: 30)
        if r.status != 0 { throw LabError("cannot \(what): `\(args.joined(separator: " "))` exited \(r.status): \(r.stderr)") }
    }

    private func nft(_ rules: String, file: String) throws {
        let url = dir.appendingPathComponent(file)
        try rules.write(to: url, atomically: true, encoding: .utf8)
        try host(["ip", "netns", "exec", name, "nft", "-f", url.path], what: "load nftables rules \(file)")
    }

    /// Polls the namespace's listening sockets (connecting would itself be redirected).
    private func waitForListeners(_ expected: [String], timeout: TimeInterval = 45) throws {
        let deadline = Date().addingTimeInterval(timeout)
        var listening = ""
        repeat {
            listening = (try? runProcess("ip", ["netns", "exec", name, "ss", "-Hltn"], timeout: 10).stdout) ?? ""
            let present = Set(listening.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init))
            if expected.allSatisfy(present.contains) { return }
            if let gw = gateway, !gw.process.isRunning { break }
            usleep(100_000)
        } while Date() < deadline
        throw LabError("listeners \(expected) not all up in \(name); listening:\n\(listening)\n\(diagnostics)")
    }

    struct LabError: Error, CustomStringConvertible {
        let description: String
        init(_ d: String) { description = d }
    }

    /// Echoes what arrived (Host, path, Via, the address it was accepted on) as JSON; lives `argv[2]` seconds.
    static let upstreamScript = #"""
import http.server, json, socket, socketserver, sys, threading, time

class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_GET(self):
        body = json.dumps({"path": self.path, "host": self.headers.get("Host"), "via": self.headers.get("Via"),
                           "local": self.connection.getsockname()[0]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

class S4(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True

class S6(S4):
    address_family = socket.AF_INET6

for address in sys.argv[3:]:
    server = (S6 if ":" in address else S4)((address, int(sys.argv[1])), H)
    threading.Thread(target=server.serve_forever, daemon=True).start()
time.sleep(float(sys.argv[2]))
"""#
}
