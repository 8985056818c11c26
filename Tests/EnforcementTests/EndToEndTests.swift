import Foundation
import Testing
import CustomsTestSupport

/// A request's journey as users see it: curl through a real `customs serve` to a real upstream,
/// counted in the real SQLite ledger, judged by the shipped cn-2024-provisions regime.
func site(mode: String = "enforce", approvals: String = "", events: String = "",
          holdLimit: String = "16MiB", overLimit: String = "block", tunnels: String = "allow",
          uninspectable: String = "block") -> String {
    """
    kind: site
    regimes: [cn-2024-provisions]
    mode: \(mode)
    operator:
      blocked_by: "https://privacy.example.test/egress"
      contact: "privacy@example.test"
    recipients:
      - id: overseas-crm
        name: "Overseas CRM Inc."
        networks: ["127.0.0.2/32"]
        country: US
    approvals:
    \(approvals.isEmpty ? "  []" : approvals)
    events:
    \(events.isEmpty ? "  []" : events)
    inspection:
      uninspectable: \(uninspectable)
      tunnels: \(tunnels)
      body_hold_limit: \(holdLimit)
      over_limit: \(overLimit)
    gateway:
      allow_destinations: ["127.0.0.0/8"]
    """
}

func scc(validUntil: String) -> String {
    """
      - id: SCC-TEST-1
        kind: scc_filing
        recipients: [overseas-crm]
        issued: \(Date.chinaDay(offset: -10))
        valid_until: \(validUntil)
        status: active
    """
}

func gzip(_ data: Data) throws -> Data {
    let dir = try TestPaths.temporaryDirectory("gz")
    let f = dir.appendingPathComponent("b")
    try data.write(to: f)
    try runProcess("gzip", ["-9", f.path])
    return try Data(contentsOf: URL(fileURLWithPath: f.path + ".gz"))
}

@Suite(.serialized) struct EndToEndTests {
    @Test func theLadderTheApprovalsAndTheLog() throws {
        let h = try EnforcementHarness(site: site())
        let key = "company/pi/calendar_year"

        // Under the line: 99,990 distinct people in two uploads, one CSV, one gzip'd JSON.
        var r = try h.post(body: ResidentIDs.csvBody(0..<60_000), contentType: "text/csv")
        #expect(r.status == 200, "\(r.body)")
        r = try h.post(body: try gzip(ResidentIDs.jsonBody(60_000..<99_990)), extraHeaders: ["Content-Encoding: gzip"])
        #expect(r.status == 200, "\(r.body)")
        #expect(try h.counts()[key] == 99_990)
        #expect(try h.counts()["recipient:overseas-crm/pi/calendar_year"] == 99_990)

        // Twenty more people would carry the company to 100,010: a standard contract is needed.
        let crossing = ResidentIDs.jsonBody(99_990..<100_010)
        let sentBefore = h.received().count
        r = try h.post(body: crossing)
        #expect(r.status == 451)
        #expect(r.headers["customs-incident"]?.hasPrefix("CUS-") == true)
        #expect(r.headers["customs-rule"]?.isEmpty == false)
        #expect(r.headers["link"] == "<https://privacy.example.test/egress>; rel=\"blocked-by\"")
        let block = try #require(try JSONSerialization.jsonObject(with: Data(r.body.utf8)) as? [String: Any])
        #expect(block["incident"] as? String == r.headers["customs-incident"])
        #expect(block["recipient"] as? String == "overseas-crm")
        #expect(block["missing_approval"] != nil)
        #expect(block["contact"] as? String == "privacy@example.test")
        #expect(h.received().count == sentBefore, "a blocked body reached the upstream")
        #expect(try h.counts()[key] == 99_990, "a blocked flow was counted")

        // People already counted can be sent again without raising the count.
        r = try h.post(body: ResidentIDs.jsonBody(0..<100))
        #expect(r.status == 200)
        #expect(try h.counts()[key] == 99_990)

        // Domestic destinations pass and count nothing.
        r = try h.post(host: "127.0.0.1", body: crossing)
        #expect(r.status == 200)
        #expect(try h.counts()[key] == 99_990)

        // A body the inspector cannot read is blocked by this site's rule.
        r = try h.post(body: Data([0, 1, 2, 3, 250, 251]), contentType: "application/octet-stream")
        #expect(r.status == 451)

        // The compliance team files the contract: editing the file unblocks the next flow.
        try h.editSite(site(approvals: scc(validUntil: Date.chinaDay(offset: 30))))
        try h.waitForReloads(1)
        r = try h.post(body: crossing)
        #expect(r.status == 200, "\(r.body)")
        #expect(try h.counts()[key] == 100_010)

        // The contract expired yesterday: the next new people are blocked again.
        try h.editSite(site(approvals: scc(validUntil: Date.chinaDay(offset: -1))))
        try h.waitForReloads(2)
        r = try h.post(body: ResidentIDs.jsonBody(100_010..<100_015))
        #expect(r.status == 451)
        #expect(r.body.contains("SCC-TEST-1"), "the block should say why the approval on file did not count: \(r.body)")

        // Valid again, but the recipient country's legal environment changed yesterday.
        let event = """
          - id: us-law-change
            type: legal_change
            country: US
            date: \(Date.chinaDay(offset: -1))
        """
        try h.editSite(site(approvals: scc(validUntil: Date.chinaDay(offset: 30)), events: event))
        try h.waitForReloads(3)
        r = try h.post(body: ResidentIDs.jsonBody(100_010..<100_015))
        #expect(r.status == 451)

        // A broken edit is refused and the running policy stays.
        try h.editSite("kind: site\nregimes: [no-such-regime]\nmode: sometimes\n")
        try h.waitForReloads(1, outcome: "failure")
        r = try h.post(body: ResidentIDs.jsonBody(100_010..<100_015))
        #expect(r.status == 451)
        try h.editSite(site(approvals: scc(validUntil: Date.chinaDay(offset: 30)), events: event))

        // Metrics: verdicts by action and rule; distinct counts per configured recipient.
        let metrics = try h.metrics()
        #expect(metrics.contains("customs_verdicts_total{action=\"block\""))
        #expect(metrics.contains("customs_distinct_subjects{recipient=\"overseas-crm\",category=\"pi\",window=\"calendar_year\"}"))

        // What the compliance team reads: where each count stands, and what a flow would meet.
        let status = try runProcess(TestPaths.customsBinary.path, ["ledger", "status", "--config", h.sitePath.path,
                                                                    "--state", h.state.path])
        #expect(status.status == 0, "\(status.stderr)")
        let companyLine = status.stdout.split(separator: "\n").first { $0.contains("company") && $0.contains(" pi ") && $0.contains("calendar_year") }
        #expect(companyLine?.contains("100010") == true, "\(status.stdout)")
        let bodyFile = h.dir.appendingPathComponent("next.json")
        try ResidentIDs.jsonBody(200_000..<200_003).write(to: bodyFile)
        let explain = try runProcess(TestPaths.customsBinary.path, ["policy", "explain", "--config", h.sitePath.path,
                                                                     "--ip", "127.0.0.2", "--body", bodyFile.path,
                                                                     "--existing", "company:pi=100010"])
        #expect(explain.status == 0, "\(explain.stderr)")
        #expect(explain.stdout.contains("3 people"), "\(explain.stdout)")
        #expect(explain.stdout.contains("verdict: block"), "\(explain.stdout)")

        // kill -9 and restart: the counts are what they were, and the gauges are seeded from them.
        let before = try h.counts()
        try h.kill9AndRestart()
        #expect(try h.counts() == before)
        #expect(before[key] == 100_010)
        #expect(try h.metrics().contains("customs_distinct_subjects{recipient=\"company\",category=\"pi\",window=\"calendar_year\"} 100010"))

        // The audit log holds every block, verifies, and fails after a one-byte edit.
        let log = h.state.appendingPathComponent("audit.jsonl")
        let verify = try runProcess(TestPaths.customsBinary.path, ["review", "--log", log.path, "--verify"])
        #expect(verify.status == 0, "\(verify.stderr)")
        let review = try runProcess(TestPaths.customsBinary.path, ["review", "--log", log.path, "--action", "block"])
        #expect(review.stdout.contains("overseas-crm"))
        #expect(!review.stdout.contains(ResidentIDs.make(99_995)), "raw identifiers must never reach the log")
        var bytes = [UInt8](try Data(contentsOf: log))
        let i = try #require(bytes.firstIndex(of: UInt8(ascii: "9")))
        bytes[i] = UInt8(ascii: "8")
        try Data(bytes).write(to: log)
        let broken = try runProcess(TestPaths.customsBinary.path, ["review", "--log", log.path, "--verify"])
        #expect(broken.status == 1)
        #expect(broken.stderr.contains("chain broken"))

    }

    @Test func monitorModeForwardsAndLogs() throws {
        let h = try EnforcementHarness(site: site(mode: "monitor"))
        // One child's ID is sensitive (a minor under 14): any sensitive person needs an SCC.
        let child = ResidentIDs.make(7, birthYear: 2019)
        let body = Data("[{\"name\":\"Kid\",\"id_card\":\"\(child)\"}]".utf8)
        let r = try h.post(body: body)
        #expect(r.status == 200)
        #expect(h.received().count == 1)
        #expect(try h.counts()["company/sensitive/calendar_year"] == 1)
        let log = h.state.appendingPathComponent("audit.jsonl")
        let review = try runProcess(TestPaths.customsBinary.path, ["review", "--log", log.path, "--format", "json"])
        #expect(review.stdout.contains("\"action\":\"monitor\""), "\(review.stdout)")
    }

    @Test func sensitiveFlowIsBlockedInEnforceModeAndGzipCountsTheSame() throws {
        let h = try EnforcementHarness(site: site())
        let plain = ResidentIDs.jsonBody(0..<500)
        #expect(try h.post(body: plain).status == 200)
        let a = try h.counts()["company/pi/calendar_year"]
        #expect(a == 500)
        #expect(try h.post(body: try gzip(plain), extraHeaders: ["Content-Encoding: gzip"]).status == 200)
        #expect(try h.counts()["company/pi/calendar_year"] == a)
        let child = ResidentIDs.make(9, birthYear: 2020)
        let r = try h.post(body: Data("{\"passenger\":{\"name\":\"Kid\",\"id\":\"\(child)\"}}".utf8))
        #expect(r.status == 451)
        #expect(try h.counts()["company/sensitive/calendar_year"] ?? 0 == 0)
    }

    @Test func bodiesOverTheHoldLimitFollowTheSite() throws {
        let blocked = try EnforcementHarness(site: site(holdLimit: "64KiB", overLimit: "block"))
        let big = ResidentIDs.jsonBody(0..<5_000)   // ~450 KiB
        let r = try blocked.post(body: big)
        #expect(r.status == 451)
        #expect(r.headers["customs-rule"] == "site/body-over-hold-limit")
        #expect(blocked.received().isEmpty)

        let streamed = try EnforcementHarness(site: site(holdLimit: "64KiB", overLimit: "stream"))
        let s = try streamed.post(body: big)
        #expect(s.status == 200, "\(s.body)")
        // Streamed past the hold limit, the body is still inspected and counted piece by piece.
        #expect(try streamed.counts()["company/pi/calendar_year"] == 5_000)
        #expect(streamed.received().first?["length"] as? Int == big.count)
    }

    /// With interception on, the gateway answers CONNECT 200 before it sees the first bytes. Plain
    /// HTTP inside that tunnel cannot be intercepted as TLS: the site's rule for uninspected
    /// tunnels decides, and a refusal reaches the client as an HTTP 451 it can read.
    @Test(arguments: ["block", "allow"])
    func plainBytesInsideAnInterceptingGatewaysTunnelFollowTheTunnelRule(rule: String) throws {
        let h = try EnforcementHarness(site: site(tunnels: rule), interception: true)
        let r = try runProcess("curl", ["-sS", "-p", "-x", "http://127.0.0.1:\(h.proxyPort)", "-o", "/dev/null",
                                        "-w", "%{http_code} %{http_connect}", "http://127.0.0.2:\(h.upstreamPort)/inside"])
        if rule == "block" {
            #expect(r.stdout == "451 200", "\(r.stdout) \(r.stderr)")
            #expect(h.received().isEmpty)
            let log = h.state.appendingPathComponent("audit.jsonl")
            let review = try runProcess(TestPaths.customsBinary.path, ["review", "--log", log.path, "--format", "json"])
            #expect(review.stdout.contains("\"rule\":\"site/tunnel\""), "\(review.stdout)")
        } else {
            #expect(r.stdout == "200 200", "\(r.stdout) \(r.stderr)")
            #expect(h.received().count == 1)
        }
    }

    /// With interception on, a tunnel the gateway will not intercept (a no-intercept host) and
    /// the site refuses is refused at CONNECT time, as a 451 the client reads, not after a 200.
    @Test func aNoInterceptHostIsRefusedBeforeThe200() throws {
        let h = try EnforcementHarness(site: site(tunnels: "block"), interception: true,
                                       extraArgs: ["--no-intercept", "127.0.0.2"])
        let r = try runProcess("curl", ["-sS", "-k", "-p", "-x", "http://127.0.0.1:\(h.proxyPort)", "-o", "/dev/null",
                                        "-w", "%{http_connect}", "https://127.0.0.2:\(h.tlsPort)/inside"])
        #expect(r.stdout == "451", "\(r.stdout) \(r.stderr)")
        #expect(h.received().isEmpty)
        let log = h.state.appendingPathComponent("audit.jsonl")
        let review = try runProcess(TestPaths.customsBinary.path, ["review", "--log", log.path, "--format", "json"])
        #expect(review.stdout.components(separatedBy: "\"rule\":\"site/tunnel\"").count == 2, "one record: \(review.stdout)")
    }

    @Test(arguments: ["block", "allow"])
    func uninspectedTunnelsToTheOutsideFollowTheSite(rule: String) throws {
        let h = try EnforcementHarness(site: site(tunnels: rule))
        // curl -p: CONNECT to the overseas upstream, then plain HTTP inside the tunnel.
        let r = try runProcess("curl", ["-sS", "-p", "-x", "http://127.0.0.1:\(h.proxyPort)", "-o", "/dev/null",
                                        "-w", "%{http_code} %{http_connect}", "http://127.0.0.2:\(h.upstreamPort)/inside"])
        let log = h.state.appendingPathComponent("audit.jsonl")
        if rule == "block" {
            #expect(r.stdout.hasSuffix("451"), "CONNECT answer: \(r.stdout) \(r.stderr)")
            #expect(h.received().isEmpty)
            let review = try runProcess(TestPaths.customsBinary.path, ["review", "--log", log.path, "--format", "json"])
            #expect(review.stdout.contains("\"rule\":\"site/tunnel\""), "\(review.stdout)")
            #expect(try runProcess(TestPaths.customsBinary.path, ["review", "--log", log.path, "--verify"]).status == 0)
        } else {
            #expect(r.stdout == "200 200", "\(r.stdout) \(r.stderr)")
            #expect(h.received().count == 1)
        }
    }
}
