import Foundation
import CustomsTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A real gateway (`customs serve`) with a site file, in its own state folder, and two real
/// upstreams: 127.0.0.1 (domestic: loopback is inside the network) and 127.0.0.2 (pinned by the
/// site file to a recipient in the US). Everything listens on loopback and stops with the harness.
final class EnforcementHarness: @unchecked Sendable {
    // Used from one test at a time; the processes are killed in deinit.
    let dir: URL
    let state: URL
    let sitePath: URL
    let proxyPort = freeLoopbackPort()
    let adminPort = freeLoopbackPort()
    let upstreamPort = freeLoopbackPort()
    let journal: URL
    var gateway: BackgroundProcess?
    var upstreams: [BackgroundProcess] = []
    /// With interception: the TLS upstream on 127.0.0.2 and the CA clients trust.
    let tlsPort = freeLoopbackPort()
    var caDirectory: URL?

    /// `interception`: the gateway intercepts HTTPS with a fresh CA (`customs ca init`), and a TLS
    /// upstream listens on 127.0.0.2:`tlsPort` (its self-signed certificate is not verified).
    /// Extra `customs serve` flags.
    let extraArgs: [String]
    /// A soft limit on the size of every file the gateway writes (RLIMIT_FSIZE, KiB): a write past
    /// it fails with EFBIG, as one would on a full disk, and the test can lift it while it runs.
    let fileSizeLimitKiB: Int?

    init(site: String, interception: Bool = false, extraArgs: [String] = [], fileSizeLimitKiB: Int? = nil) throws {
        self.extraArgs = extraArgs
        self.fileSizeLimitKiB = fileSizeLimitKiB
        dir = try TestPaths.temporaryDirectory("e2e")
        state = dir.appendingPathComponent("state")
        sitePath = dir.appendingPathComponent("site.yaml")
        journal = dir.appendingPathComponent("upstream.jsonl")
        try site.write(to: sitePath, atomically: true, encoding: .utf8)
        try requireTool("curl")
        try requireTool("python3")
        let script = TestPaths.packageRoot.appendingPathComponent("Tests/EnforcementTests/Fixtures/upstream.py").path
        for host in ["127.0.0.1", "127.0.0.2"] {
            upstreams.append(try BackgroundProcess("python3", [script, "--host", host, "--port", String(upstreamPort),
                                                               "--journal", journal.path, "--lifetime", "600"]))
            try waitForListener(port: upstreamPort, host: host, process: upstreams.last)
        }
        if interception {
            try requireTool("openssl")
            let ca = dir.appendingPathComponent("ca")
            let made = try runProcess(TestPaths.customsBinary.path, ["ca", "init", "--out", ca.path])
            guard made.status == 0 else { throw TestSupportError.timeout("customs ca init failed: \(made.stderr)") }
            caDirectory = ca
            let cert = dir.appendingPathComponent("upstream.crt").path, key = dir.appendingPathComponent("upstream.key").path
            let made2 = try runProcess("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                                                   "-nodes", "-keyout", key, "-out", cert, "-days", "2",
                                                   "-subj", "/CN=127.0.0.2", "-addext", "subjectAltName=IP:127.0.0.2"])
            guard made2.status == 0 else { throw TestSupportError.timeout("openssl req failed: \(made2.stderr)") }
            upstreams.append(try BackgroundProcess("python3", [script, "--host", "127.0.0.2", "--port", String(tlsPort),
                                                               "--journal", journal.path, "--lifetime", "600",
                                                               "--cert", cert, "--key", key]))
            try waitForListener(port: tlsPort, host: "127.0.0.2", process: upstreams.last)
        }
        try startGateway()
    }

    func startGateway() throws {
        var args = [
            "serve", "--config", sitePath.path, "--listen", "127.0.0.1:\(proxyPort)",
            "--admin", "127.0.0.1:\(adminPort)", "--state", state.path, "--log-level", "notice",
        ]
        if let caDirectory { args += ["--ca", caDirectory.path, "--insecure-upstream-host", "127.0.0.2"] }
        args += extraArgs
        if let kib = fileSizeLimitKiB {
            // SIGXFSZ ignored, so the write fails instead of killing the process; exec keeps both.
            gateway = try BackgroundProcess("/bin/bash", ["-c", "trap '' XFSZ; ulimit -S -f \(kib); exec \"$0\" \"$@\"",
                                                          TestPaths.customsBinary.path] + args)
        } else {
            gateway = try BackgroundProcess(TestPaths.customsBinary.path, args)
        }
        // Patient: with every test target running at once on two cores, start-up can take a while.
        try waitForListener(port: proxyPort, timeout: 60, process: gateway)
    }

    func kill9AndRestart() throws {
        gateway?.signal(SIGKILL)
        gateway?.stop(grace: 1)
        try startGateway()
    }

    /// Lifts the file size limit of the running gateway: the disk has room again. Only the soft
    /// limit was lowered, so raising it back needs no privilege (util-linux's prlimit, as glibc's
    /// prlimit(2) wrapper is not visible to Swift).
    func liftFileSizeLimit() throws {
        guard let pid = gateway?.pid else { return }
        try requireTool("prlimit")
        let r = try runProcess("prlimit", ["--pid", String(pid), "--fsize=unlimited:"])
        guard r.status == 0 else { throw TestSupportError.timeout("prlimit failed: \(r.stderr)") }
    }

    deinit {
        gateway?.stop(grace: 2)
        for u in upstreams { u.stop(grace: 1) }
    }

    struct Response {
        let status: Int
        let headers: [String: String]
        let body: String
    }

    /// POSTs `body` through the gateway with curl.
    /// `url` overrides host, port and path (e.g. an upstream port nothing listens on).
    func post(host: String = "127.0.0.2", path: String = "/v1/customers", body: Data,
              contentType: String = "application/json", extraHeaders: [String] = [], url: String? = nil) throws -> Response {
        let bodyFile = dir.appendingPathComponent("body-\(UUID().uuidString)")
        try body.write(to: bodyFile)
        defer { try? FileManager.default.removeItem(at: bodyFile) }
        let headersFile = dir.appendingPathComponent("headers-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: headersFile) }
        var args = ["-sS", "-x", "http://127.0.0.1:\(proxyPort)", "-D", headersFile.path, "-o", "-",
                    "-H", "Content-Type: \(contentType)", "--data-binary", "@\(bodyFile.path)"]
        for h in extraHeaders { args += ["-H", h] }
        args.append(url ?? "http://\(host):\(upstreamPort)\(path)")
        return try curl(args, headersFile: headersFile)
    }

    /// A request without a body (GET by default) through the gateway; `https` goes through
    /// interception to the TLS upstream.
    func get(host: String = "127.0.0.2", path: String, headers: [String] = [], method: String = "GET",
             https: Bool = false) throws -> Response {
        let headersFile = dir.appendingPathComponent("headers-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: headersFile) }
        var args = ["-sS", "-x", "http://127.0.0.1:\(proxyPort)", "-D", headersFile.path, "-o", "-", "-X", method]
        for h in headers { args += ["-H", h] }
        if https {
            args += ["--cacert", caDirectory!.appendingPathComponent("ca.crt").path, "https://\(host):\(tlsPort)\(path)"]
        } else {
            args.append("http://\(host):\(upstreamPort)\(path)")
        }
        return try curl(args, headersFile: headersFile)
    }

    private func curl(_ args: [String], headersFile: URL) throws -> Response {
        let r = try runProcess("curl", args, timeout: 120)
        let headerText = (try? String(contentsOf: headersFile, encoding: .utf8)) ?? ""
        var status = 0
        var headers: [String: String] = [:]
        for line in headerText.split(separator: "\r\n") {
            if line.hasPrefix("HTTP/") { status = Int(line.split(separator: " ")[1]) ?? 0; headers = [:]; continue }
            if let colon = line.firstIndex(of: ":") {
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        return Response(status: status, headers: headers, body: r.stdout)
    }

    /// The gateway's access log (one JSON line per request).
    func accessLog() -> String {
        (try? String(contentsOf: state.appendingPathComponent("access.log"), encoding: .utf8)) ?? ""
    }

    /// The audit log's records, as `customs review --format json` prints them.
    func auditRecords() throws -> [[String: Any]] {
        let log = state.appendingPathComponent("audit.jsonl")
        let r = try runProcess(TestPaths.customsBinary.path, ["review", "--log", log.path, "--format", "json"])
        return r.stdout.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    /// Requests the upstream received whole, in order.
    func received() -> [[String: Any]] {
        guard let text = try? String(contentsOf: journal, encoding: .utf8) else { return [] }
        return text.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    /// Distinct counts straight from the ledger file: "company/pi/calendar_year" → n.
    func counts() throws -> [String: Int] {
        let r = try runProcess(TestPaths.customsBinary.path, ["ledger", "counts", "--db", state.appendingPathComponent("ledger.sqlite").path, "--json"])
        guard r.status == 0, let obj = try JSONSerialization.jsonObject(with: r.stdoutData) as? [String: Any],
              let rows = obj["counts"] as? [[String: Any]] else {
            throw TestSupportError.timeout("ledger counts failed: \(r.stderr)")
        }
        var out: [String: Int] = [:]
        for row in rows {
            let scope = (row["recipient"] as? String).map { "recipient:\($0)" } ?? "company"
            out["\(scope)/\(row["category"]!)/\(row["window"]!)"] = row["count"] as? Int
        }
        return out
    }

    func metrics() throws -> String {
        try runProcess("curl", ["-s", "http://127.0.0.1:\(adminPort)/metrics"]).stdout
    }

    /// Rewrites the site file the way an editor would (write a temp file, rename it over).
    func editSite(_ text: String) throws {
        try text.write(to: sitePath, atomically: true, encoding: .utf8)
    }

    /// Waits until the gateway has logged a policy reload outcome `n` times.
    func waitForReloads(_ n: Int, outcome: String = "success", timeout: TimeInterval = 15) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let m = (try? metrics()) ?? ""
            if m.contains("customs_policy_reloads_total{outcome=\"\(outcome)\"} \(n)") { return }
            usleep(100_000)
        }
        throw TestSupportError.timeout("no policy reload (\(outcome)) #\(n); gateway said: \(gateway?.output.suffix(2000) ?? "")")
    }
}

extension Date {
    /// YYYY-MM-DD of this instant in UTC+8, offset by `days`.
    static func chinaDay(offset days: Int) -> String {
        let d = Date().addingTimeInterval(Double(days) * 86_400 + 8 * 3600)
        let c = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: d)
        return String(format: "%04d-%02d-%02d", c.year!, c.month!, c.day!)
    }
}
