import Foundation
import Testing
import CustomsTestSupport

/// People in the request target and header fields: GETs and header fields to an overseas
/// recipient are counted, judged and blocked like bodies; the access log never holds the query.
@Suite(.serialized) struct RequestHeadTests {
    static let key = "company/pi/calendar_year"

    @Test func identifiersInTheQueryAndHeadersAreCounted() throws {
        let h = try EnforcementHarness(site: site())
        let a = ResidentIDs.make(1), b = ResidentIDs.make(2), c = ResidentIDs.make(3)

        // One person (an ID and a phone of one requester) in the query of a GET.
        var r = try h.get(path: "/v1/users?id_card=\(a)&phone=13812345678")
        #expect(r.status == 200, "\(r.body)")
        #expect(try h.counts()[Self.key] == 1)
        #expect(try h.counts()["recipient:overseas-crm/pi/calendar_year"] == 1)
        #expect(h.received().last?["path"] as? String == "/v1/users?id_card=\(a)&phone=13812345678",
                "the request goes upstream unchanged")

        // Two more in path segments and a percent-encoded query; the first one again is not new.
        r = try h.get(path: "/v1/users/\(b)/orders?ids=\(a)&ids=\(c)&page=2")
        #expect(r.status == 200)
        #expect(try h.counts()[Self.key] == 3)

        // A header field carrying a phone number, with +86 percent-encoded in another.
        r = try h.get(path: "/v1/ping", headers: ["X-User-Phone: 139 1234 5678"])
        #expect(r.status == 200)
        #expect(try h.counts()[Self.key] == 4)
        r = try h.get(path: "/v1/ping?tel=%2B86%20139%201234%205678", headers: ["Cookie: sid=abc; mobile=13912345678"])
        #expect(r.status == 200)
        #expect(try h.counts()[Self.key] == 4, "the same phone number is the same person")

        // HEAD and DELETE have no body either.
        r = try h.get(path: "/v1/users/\(ResidentIDs.make(4))", method: "DELETE")
        #expect(r.status == 200)
        #expect(try h.counts()[Self.key] == 5)

        // Masked values and numbers failing the checksum count no one; plain GETs pass.
        let bad = String(a.dropLast()) + (a.last == "1" ? "2" : "1")
        r = try h.get(path: "/v1/users?phone=138****5678&id_card=\(bad)", headers: ["User-Agent: Mozilla/5.0 (X11) Chrome/120.0.6099.109"])
        #expect(r.status == 200)
        #expect(try h.counts()[Self.key] == 5)

        // Domestic destinations are not counted.
        r = try h.get(host: "127.0.0.1", path: "/v1/users?id_card=\(ResidentIDs.make(5))")
        #expect(r.status == 200)
        #expect(try h.counts()[Self.key] == 5)

        // A person in the query and in the body is one person.
        let d = ResidentIDs.make(6)
        r = try h.post(path: "/v1/customers?id_card=\(d)", body: Data("[{\"name\":\"张三\",\"id_card\":\"\(d)\"}]".utf8))
        #expect(r.status == 200)
        #expect(try h.counts()[Self.key] == 6)

        // The access log has the path, never the query (nor header fields).
        let access = h.accessLog()
        #expect(access.contains("\"path\":\"/v1/users\""), "\(access.prefix(500))")
        for secret in [a, c, "13812345678", "id_card=", "?", "mobile=", "139 1234"] {
            #expect(!access.contains(secret), "the access log holds \(secret)")
        }
    }

    @Test func atTheLineABodilessRequestIsBlockedAndNeverSent() throws {
        let h = try EnforcementHarness(site: site())
        var r = try h.post(body: ResidentIDs.csvBody(0..<99_998), contentType: "text/csv")
        #expect(r.status == 200, "\(r.body)")
        #expect(try h.counts()[Self.key] == 99_998)

        // Two new people (the phone is one of theirs) would reach 100,000: a contract is needed.
        let sent = h.received().count
        r = try h.get(path: "/v1/lookup?ids=\(ResidentIDs.make(100_000))&ids=\(ResidentIDs.make(100_001))",
                      headers: ["X-User-Phone: 13812345678"])
        #expect(r.status == 451, "\(r.body)")
        #expect(r.headers["customs-incident"]?.hasPrefix("CUS-") == true)
        #expect(r.headers["link"] == "<https://privacy.example.test/egress>; rel=\"blocked-by\"")
        #expect(h.received().count == sent, "a blocked request reached the upstream")
        #expect(try h.counts()[Self.key] == 99_998, "a blocked flow was counted")

        // The one person left under the line still goes; a person already counted always does.
        r = try h.get(path: "/v1/lookup", headers: ["X-Id-Card: \(ResidentIDs.make(100_000))"])
        #expect(r.status == 200, "\(r.body)")
        #expect(try h.counts()[Self.key] == 99_999)
        r = try h.get(path: "/v1/lookup?id_card=\(ResidentIDs.make(5))")
        #expect(r.status == 200)

        // A minor is sensitive: without an approval even one is blocked.
        let child = ResidentIDs.make(11, birthYear: 2020)
        r = try h.get(path: "/v1/passengers/\(child)")
        #expect(r.status == 451)

        // The record says where the people were, and no raw value.
        let records = try h.auditRecords()
        let blocks = records.filter { $0["action"] as? String == "block" }
        #expect(blocks.count == 2, "\(records)")
        #expect(blocks.first?["found_in"] as? [String] == ["query", "header:x-user-phone"], "\(blocks)")
        #expect(blocks.last?["found_in"] as? [String] == ["path"])
        #expect(blocks.last?["path"] as? String == "/v1/passengers/*", "an identifier in the path is not logged")
        #expect(blocks.first?["path"] as? String == "/v1/lookup", "the audit path has no query")
        let log = try String(contentsOf: h.state.appendingPathComponent("audit.jsonl"), encoding: .utf8)
        #expect(!log.contains(ResidentIDs.make(100_001)) && !log.contains("13812345678") && !log.contains(child))
        let verify = try runProcess(TestPaths.customsBinary.path,
                                    ["review", "--log", h.state.appendingPathComponent("audit.jsonl").path, "--verify"])
        #expect(verify.status == 0, "\(verify.stderr)")
    }

    /// Chunk extensions and trailer fields go out with a chunked body: read as header fields are
    /// (they were forwarded unread, a way around the count for any client that writes its own framing).
    @Test func peopleInChunkExtensionsAndTrailerFieldsAreCounted() throws {
        let h = try EnforcementHarness(site: site())
        let script = #"""
import socket, sys
port, upstream, person, other = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
s = socket.create_connection(("127.0.0.1", port), timeout=30)
s.sendall((f"POST http://127.0.0.2:{upstream}/v1/customers HTTP/1.1\r\nHost: 127.0.0.2:{upstream}\r\n"
           f"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nTrailer: X-Id-Card\r\n"
           f"Connection: close\r\n\r\n1;for={other}\r\n{{\r\n1\r\n}}\r\n0\r\nX-Id-Card: {person}\r\n\r\n").encode())
out = b""
while True:
    b = s.recv(65536)
    if not b: break
    out += b
print(out.split(b"\r\n")[0].decode())
"""#
        let r = try runProcess("python3", ["-c", script, String(h.proxyPort), String(h.upstreamPort), ResidentIDs.make(3),
                                           ResidentIDs.make(4)], timeout: 60)
        #expect(r.stdout.hasPrefix("HTTP/1.1 200"), "\(r.stdout) \(r.stderr)")
        #expect(try h.counts()[Self.key] == 2, "the extension's and the trailer's people went out uncounted")
        #expect(h.received().count == 1)
    }

    @Test func monitorModeCountsAndLogsWhatItWouldBlock() throws {
        let h = try EnforcementHarness(site: site(mode: "monitor"))
        let child = ResidentIDs.make(7, birthYear: 2019)
        let r = try h.get(path: "/v1/passengers?passenger_id=\(child)")
        #expect(r.status == 200)
        #expect(h.received().count == 1)
        #expect(try h.counts()["company/sensitive/calendar_year"] == 1)
        let monitor = try h.auditRecords().first { $0["action"] as? String == "monitor" }
        #expect(monitor?["found_in"] as? [String] == ["query"])
    }

    @Test func peopleNextToAnUnreadableBodyAreStillCounted() throws {
        let body = Data([0, 1, 2, 3, 250, 251])
        let allowing = try EnforcementHarness(site: site(uninspectable: "allow"))
        var r = try allowing.post(path: "/v1/blob?id_card=\(ResidentIDs.make(1))", body: body,
                                  contentType: "application/octet-stream")
        #expect(r.status == 200, "\(r.body)")
        #expect(try allowing.counts()[Self.key] == 1, "the query's person went out with the body")

        let blocking = try EnforcementHarness(site: site())
        r = try blocking.post(path: "/v1/blob?id_card=\(ResidentIDs.make(1))", body: body, contentType: "application/octet-stream")
        #expect(r.status == 451)
        #expect(try blocking.counts()[Self.key] ?? 0 == 0)
    }

    /// A JSON upload that breaks after 20 whole records: a site that lets unreadable bodies pass
    /// counts the 20 people it read (they went out); one that blocks them counts no one.
    @Test func peopleReadBeforeABodyBreaksAreCounted() throws {
        var text = String(decoding: ResidentIDs.jsonBody(0..<20), as: UTF8.self)
        text.removeLast()   // the closing bracket
        let body = Data((text + ",{\"customer_id\":7,\"id_card\":").utf8)
        let allowing = try EnforcementHarness(site: site(uninspectable: "allow"))
        var r = try allowing.post(body: body)
        #expect(r.status == 200, "\(r.body)")
        #expect(try allowing.counts()[Self.key] == 20)
        #expect(allowing.received().count == 1)

        let monitoring = try EnforcementHarness(site: site(mode: "monitor", uninspectable: "allow"))
        r = try monitoring.post(body: body)
        #expect(r.status == 200, "\(r.body)")
        #expect(try monitoring.counts()[Self.key] == 20)

        let blocking = try EnforcementHarness(site: site())
        r = try blocking.post(body: body)
        #expect(r.status == 451)
        #expect(r.headers["customs-rule"] == "site/uninspectable")
        #expect(try blocking.counts()[Self.key] ?? 0 == 0)
        #expect(blocking.received().isEmpty)
    }

    @Test func explainAnswersForAGet() throws {
        let dir = try TestPaths.temporaryDirectory("explain-get")
        let sitePath = dir.appendingPathComponent("site.yaml")
        try site().write(to: sitePath, atomically: true, encoding: .utf8)
        let id = ResidentIDs.make(1)
        var r = try runProcess(TestPaths.customsBinary.path, [
            "policy", "explain", "--config", sitePath.path, "--ip", "127.0.0.2", "--method", "GET",
            "--url", "http://127.0.0.2/v1/users?id_card=\(id)&phone=13812345678", "--header", "X-User-Email: li.si@example.com",
            "--existing", "company:pi=99999"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("request line and headers: 1 people"), "\(r.stdout)")
        #expect(r.stdout.contains("in query, header:x-user-email"), "\(r.stdout)")
        #expect(r.stdout.contains("verdict: block"), "\(r.stdout)")
        r = try runProcess(TestPaths.customsBinary.path, [
            "policy", "explain", "--config", sitePath.path, "--ip", "127.0.0.2", "--method", "GET",
            "--url", "/v1/users?page=2", "--existing", "company:pi=99999"])
        #expect(r.stdout.contains("request line and headers: 0 people"), "\(r.stdout)")
        #expect(r.stdout.contains("verdict: allow"), "\(r.stdout)")
    }

    @Test func interceptedHTTPSRequestsAreInspectedToo() throws {
        let h = try EnforcementHarness(site: site(), interception: true)
        var r = try h.get(path: "/v1/users?id_card=\(ResidentIDs.make(1))", headers: ["X-User-Email: li.si@example.com"], https: true)
        #expect(r.status == 200, "\(r.body)")
        #expect(try h.counts()[Self.key] == 1)
        let child = ResidentIDs.make(12, birthYear: 2020)
        r = try h.get(path: "/v1/passengers?id=\(child)", https: true)
        #expect(r.status == 451, "\(r.body)")
        #expect(h.received().count == 1)
        #expect(!h.accessLog().contains(ResidentIDs.make(1)))
    }
}
