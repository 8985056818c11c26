import Foundation
import Testing
import CustomsTestSupport

/// What users see when something outside the request fails: the disk, the upstream. Nothing
/// carrying people goes out uncounted, and the client gets an answer that says what happened.
@Suite(.serialized) struct ErrorPathTests {
    /// A disk that fills while the gateway runs: flows carrying people are refused (503, nothing
    /// sent upstream, nothing counted), flows carrying no one still pass, and once there is room
    /// again the gateway counts and forwards without a restart. Every forwarded person is in the
    /// ledger file.
    @Test func aFullDiskRefusesFlowsWithPeopleAndLosesNoCount() throws {
        // 512 KiB per file: the ledger's write-ahead log fills after a few dozen thousand people;
        // the access and audit logs stay far below it.
        let h = try EnforcementHarness(site: site(), fileSizeLimitKiB: 512)
        let perFlow = 1_000
        var next = 0
        var forwarded = 0
        var refused: EnforcementHarness.Response?
        var refusedPath = ""
        for i in 0..<60 where refused == nil {
            let path = "/upload-\(i)"
            let r = try h.post(path: path, body: ResidentIDs.jsonBody(next..<(next + perFlow)))
            next += perFlow
            switch r.status {
            case 200: forwarded += 1
            case 503: refused = r; refusedPath = path
            default: Issue.record("unexpected \(r.status): \(r.body)"); return
            }
        }
        let r = try #require(refused, "the ledger never filled: \(h.gateway?.output.suffix(2000) ?? "")")
        #expect(forwarded > 0, "the first flows fit")
        #expect(r.headers["customs-rule"] == "customs/ledger-unavailable")
        #expect(r.headers["customs-incident"] != nil)
        #expect(r.body.contains("ledger"), "\(r.body)")
        #expect(!h.received().contains { $0["path"] as? String == refusedPath }, "the refused flow went out")
        #expect(h.gateway?.output.contains("ledger refused a batch; blocking the flow") == true)

        // Still full: a request with no person in it is not held back by the ledger.
        #expect(try h.get(path: "/status").status == 200)
        #expect(try h.post(path: "/still-full", body: ResidentIDs.jsonBody(next..<(next + perFlow))).status == 503)
        next += perFlow

        // Room again: the next flow is counted and forwarded, with no restart.
        try h.liftFileSizeLimit()
        #expect(try h.post(path: "/after", body: ResidentIDs.jsonBody(next..<(next + perFlow))).status == 200)
        forwarded += 1

        // What went out is what was counted: every forwarded flow's people, and no refused one's.
        let uploads = h.received().filter { ($0["path"] as? String).map { $0.hasPrefix("/upload-") || $0 == "/after" } ?? false }
        #expect(uploads.count == forwarded)
        // Read from the file after kill -9: what was counted was durable before it was forwarded.
        h.gateway?.signal(SIGKILL)
        h.gateway?.stop(grace: 1)
        #expect(try h.counts()["company/pi/calendar_year"] == forwarded * perFlow)
        let log = h.state.appendingPathComponent("audit.jsonl").path
        #expect(try runProcess(TestPaths.customsBinary.path, ["review", "--log", log, "--verify"]).status == 0)
    }

    /// An overseas upstream that is down: the client gets a 502 naming it. As in any DLP proxy the
    /// upstream is connected only once the flow is allowed (a blocked flow never touches its
    /// recipient), and an allowed flow's people are committed durably before that: so they stay
    /// counted although nothing reached the recipient. The count errs on the side that can only
    /// block too early, and the client's retry, once the upstream is back, counts nobody twice.
    @Test func aDeadOverseasUpstreamGetsA502AndItsRetryCountsNoOneTwice() throws {
        let h = try EnforcementHarness(site: site())
        let deadPort = freeLoopbackPort()
        let r = try h.post(body: ResidentIDs.jsonBody(0..<100), url: "http://127.0.0.2:\(deadPort)/v1/customers")
        #expect(r.status == 502, "\(r.status) \(r.body)")
        #expect(r.body.contains("127.0.0.2"), "\(r.body)")
        #expect(h.received().isEmpty)
        #expect(try h.counts()["company/pi/calendar_year"] == 100)
        #expect(try h.post(body: ResidentIDs.jsonBody(0..<100)).status == 200)
        #expect(try h.counts()["company/pi/calendar_year"] == 100)
        #expect(h.received().count == 1)
    }

    /// A client that goes away mid-body (a Content-Length body cut short, a chunked body without
    /// its last chunk): nothing of it reaches the upstream and nobody in its first half is counted.
    @Test func aClientThatHangsUpMidBodySendsAndCountsNothing() throws {
        let h = try EnforcementHarness(site: site())
        let body = ResidentIDs.jsonBody(0..<300)
        let bodyFile = h.dir.appendingPathComponent("cut-body")
        try body.write(to: bodyFile)
        let script = """
        import socket, sys
        port, up, path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
        body = open(path, 'rb').read(); half = body[:len(body) // 2]
        head = 'POST http://127.0.0.2:%s/%s HTTP/1.1\\r\\nHost: 127.0.0.2:%s\\r\\nContent-Type: application/json\\r\\n'
        for name, framing, payload in [
            ('cut-length', 'Content-Length: %d\\r\\n\\r\\n' % len(body), half),
            ('cut-chunked', 'Transfer-Encoding: chunked\\r\\n\\r\\n', b'%x\\r\\n' % len(half) + half + b'\\r\\n'),
        ]:
            s = socket.create_connection(('127.0.0.1', port), timeout=10)
            s.sendall((head % (up, name, up) + framing).encode() + payload)
            s.close()
        """
        let r = try runProcess("python3", ["-c", script, String(h.proxyPort), String(h.upstreamPort), bodyFile.path])
        #expect(r.status == 0, "\(r.stderr)")
        // The gateway is still serving; a whole upload of 100 other people goes through, and they
        // are all it has counted.
        #expect(try h.post(path: "/whole", body: ResidentIDs.jsonBody(1_000..<1_100)).status == 200)
        #expect(h.received().map { $0["path"] as? String } == ["/whole"])
        #expect(try h.counts()["company/pi/calendar_year"] == 100)
    }

    /// Hostile clients (`Fixtures/hostile_client.py`): 300 mutated requests — uploads with people
    /// in them, chunked (with extensions and trailers), pipelined, Expect, CONNECT, conflicting lengths, bytes flipped, lines cut
    /// or doubled, connections dropped mid-request. The gateway must answer or close each, stay up,
    /// keep its audit chain whole, and go on serving and counting a well-formed upload.
    @Test func hostileClientsLeaveTheGatewayServing() throws {
        let h = try EnforcementHarness(site: site())
        let script = TestPaths.packageRoot.appendingPathComponent("Tests/EnforcementTests/Fixtures/hostile_client.py").path
        let iterations = FuzzSettings.iterations(default: 300), seed = FuzzSettings.seed(default: 7)
        let r = try runProcess("python3", [script, String(h.proxyPort), String(h.upstreamPort), String(iterations), String(seed)],
                               timeout: 240 + Double(iterations) / 5)
        #expect(r.status == 0, "\(r.stderr)")
        let outcomes = try #require(try JSONSerialization.jsonObject(with: r.stdoutData) as? [String: Int], "\(r.stdout)")
        #expect(outcomes["HTTP/1.1 400", default: 0] > 0, "malformed requests get 400: \(outcomes)")
        #expect(h.gateway?.process.isRunning == true, "the gateway died: \(h.gateway?.output.suffix(3000) ?? "")")
        #expect(try runProcess("curl", ["-s", "http://127.0.0.1:\(h.adminPort)/healthz"]).stdout.hasPrefix("ok"))
        let before = try h.counts()["company/pi/calendar_year"] ?? 0
        #expect(try h.post(path: "/after", body: ResidentIDs.jsonBody(900_000..<900_010)).status == 200)
        #expect(try h.counts()["company/pi/calendar_year"] == before + 10)
        let log = h.state.appendingPathComponent("audit.jsonl").path
        #expect(try runProcess(TestPaths.customsBinary.path, ["review", "--log", log, "--verify"]).status == 0)
        #expect(!(h.gateway?.output.contains("Fatal error") ?? true))
    }

    /// logrotate moves the access log away and sends SIGUSR1: the gateway finishes the old file
    /// and goes on in a new one at the same path, losing no line.
    @Test func sigusr1ReopensTheAccessLogAfterLogrotate() throws {
        let h = try EnforcementHarness(site: site())
        let log = h.state.appendingPathComponent("access.log").path
        let rotated = log + ".1"
        #expect(try h.get(host: "127.0.0.1", path: "/before-rotation").status == 200)
        try FileManager.default.moveItem(atPath: log, toPath: rotated)
        h.gateway?.signal(SIGUSR1)
        try waitFor("a new access log") { FileManager.default.fileExists(atPath: log) }
        #expect(try h.get(host: "127.0.0.1", path: "/after-rotation").status == 200)
        try waitFor("the request in the new log") { ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("/after-rotation") }
        let old = try String(contentsOfFile: rotated, encoding: .utf8)
        #expect(old.contains("/before-rotation") && !old.contains("/after-rotation"))
        #expect(h.gateway?.process.isRunning == true)
    }

    /// An access log that cannot be written (its file at the size limit) loses lines, never
    /// traffic: requests are answered, the loss is counted and logged once, and the lines come
    /// back once there is room.
    @Test func aFullDiskCostsAccessLogLinesNotRequests() throws {
        let h = try EnforcementHarness(site: site(), fileSizeLimitKiB: 64)
        let longPath = "/" + String(repeating: "p", count: 4_000)
        for i in 0..<30 { #expect(try h.get(host: "127.0.0.1", path: longPath + "/\(i)").status == 200) }
        try waitFor("a counted write error") {
            ((try? h.metrics()) ?? "").range(of: #"customs_access_log_write_errors_total [1-9]"#, options: .regularExpression) != nil
        }
        let output = h.gateway?.output ?? ""
        #expect(output.components(separatedBy: "access log write failed").count == 2, "logged once: \(output.suffix(2000))")
        try h.liftFileSizeLimit()
        #expect(try h.get(host: "127.0.0.1", path: "/with-room-again").status == 200)
        let log = h.state.appendingPathComponent("access.log").path
        try waitFor("lines written again") { ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").contains("/with-room-again") }
        try waitFor("the recovery logged") { h.gateway?.output.contains("access log writes succeed again") == true }
    }

    func waitFor(_ what: String, timeout: TimeInterval = 10, _ condition: () -> Bool) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if condition() { return }
            usleep(50_000)
        }
        throw TestSupportError.timeout("waited \(Int(timeout)) s for \(what)")
    }
}
