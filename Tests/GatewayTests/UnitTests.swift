import CustomsCore
import Foundation
@testable import Gateway
import Testing

@Suite struct DestinationGuardTests {
    let strict = DestinationGuard(allowed: [])

    @Test(arguments: [
        ("127.0.0.1", "loopback"), ("127.255.0.9", "loopback"), ("::1", "loopback"),
        ("10.1.2.3", "private (RFC 1918)"), ("172.16.0.1", "private (RFC 1918)"), ("172.31.255.255", "private (RFC 1918)"),
        ("192.168.1.1", "private (RFC 1918)"), ("100.64.0.1", "shared address space (CGNAT)"),
        ("100.127.255.254", "shared address space (CGNAT)"), ("169.254.169.254", "cloud metadata"),
        ("169.254.1.1", "link-local"), ("fd00:ec2::254", "cloud metadata"), ("fd12:3456::1", "unique local (ULA)"),
        ("fe80::1", "link-local"), ("224.0.0.1", "multicast"), ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified (this network)"), ("::", "unspecified"), ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"), ("2001:db8::1", "documentation"),
        ("::ffff:127.0.0.1", "IPv4-mapped loopback"), ("::ffff:169.254.169.254", "IPv4-mapped cloud metadata"),
        ("64:ff9b::a00:1", "NAT64 of private (RFC 1918)"), ("2002:c0a8:0101::1", "6to4 of private (RFC 1918)"),
    ])
    func refuses(_ address: String, _ category: String) throws {
        let ip = try #require(IPAddress(address))
        let refusal = try #require(strict.check(ip))
        #expect(refusal.category == category)
        #expect(refusal.description.contains(ip.description))
    }

    @Test(arguments: ["93.184.216.34", "8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "2606:4700::1111",
                      "64:ff9b::808:808", "2002:0808:0808::1"])
    func allowsPublic(_ address: String) throws {
        #expect(strict.check(try #require(IPAddress(address))) == nil)
    }

    @Test func allowListOverrides() throws {
        let g = DestinationGuard(allowed: [IPNetwork("127.0.0.0/8")!, IPNetwork("::1/128")!])
        #expect(g.check(IPAddress("127.0.0.1")!) == nil)
        #expect(g.check(IPAddress("::ffff:127.0.0.1")!) == nil)
        #expect(g.check(IPAddress("::1")!) == nil)
        #expect(g.check(IPAddress("169.254.169.254")!) != nil)
        #expect(g.check(IPAddress("10.0.0.1")!) != nil)
    }
}

@Suite struct ConfigurationTests {
    @Test func parsesListenAddresses() throws {
        #expect(try ListenAddress.parse("127.0.0.1:3128") == ListenAddress(ip: IPAddress("127.0.0.1")!, port: 3128))
        #expect(try ListenAddress.parse("[::1]:8080") == ListenAddress(ip: IPAddress("::1")!, port: 8080))
        #expect(try ListenAddress.parse(":0") == ListenAddress(ip: .v4(0), port: 0))
        #expect(try ListenAddress.parse("localhost:1").ip == IPAddress("127.0.0.1"))
        #expect(try ListenAddress.parse("[::1]:3128").description == "[::1]:3128")
    }

    @Test(arguments: ["127.0.0.1", "127.0.0.1:99999", "::1:80", "[::1]80", "[::1", "example.com:80", "1.2.3.4:x"])
    func rejectsBadAddresses(_ text: String) {
        #expect(throws: GatewayError.self) { try ListenAddress.parse(text) }
        do { _ = try ListenAddress.parse(text) } catch { #expect(error.message.contains(text)) }
    }

    @Test func defaultsAreSane() throws {
        let c = GatewayConfiguration()
        #expect(c.listen == ["127.0.0.1:3128"])
        #expect(c.admin == "127.0.0.1:9090")
        #expect(c.holdLimit == 8 << 20)
        #expect(c.headerTimeout == 10 && c.idleTimeout == 60 && c.connectTimeout == 10 && c.responseTimeout == 60)
        #expect(c.maxHeaderBytes == 65_536 && c.maxRequestLine == 8_192 && c.maxConnections == 20_000)
        try c.validate()
    }

    @Test func validationNamesTheProblem() {
        var c = GatewayConfiguration()
        c.queues = 0
        #expect(throws: GatewayError(.invalidConfiguration, "queues must be between 1 and 256 (got 0)")) { try c.validate() }
        c = GatewayConfiguration(headerTimeout: 0)
        #expect(throws: GatewayError.self) { try c.validate() }
        c = GatewayConfiguration(listen: ["nonsense"])
        #expect(throws: GatewayError.self) { try c.validate() }
    }
}

@Suite struct CredentialsTests {
    @Test func plainAndHashedPasswords() throws {
        let digest = Credentials.sha256(Array("s3cret".utf8)).map { String(format: "%02x", $0) }.joined()
        let c = try Credentials(text: "# users\nalice:wonder land\nbob:{SHA256}\(digest)\n\n", source: "test")
        #expect(c.check(user: "alice", password: "wonder land"))
        #expect(!c.check(user: "alice", password: "wonder"))
        #expect(c.check(user: "bob", password: "s3cret"))
        #expect(!c.check(user: "bob", password: "s3cret "))
        #expect(!c.check(user: "carol", password: ""))
    }

    @Test func knownDigest() {
        let d = Credentials.sha256(Array("abc".utf8)).map { String(format: "%02x", $0) }.joined()
        #expect(d == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func badLinesAreReportedWithTheirNumber() {
        #expect(throws: GatewayError(.credentialsFile, "f:2: expected user:password or user:{SHA256}hex")) {
            try Credentials(text: "a:b\nnocolon\n", source: "f")
        }
        #expect(throws: GatewayError(.credentialsFile, "f:1: {SHA256} needs 64 hex digits")) {
            try Credentials(text: "a:{SHA256}abcd\n", source: "f")
        }
    }
}

@Suite struct MetricsTests {
    @Test func rendersPrometheusText() {
        let r = MetricsRegistry()
        let a = r.counter("x_total", help: "Things.", labels: [("kind", "a")])
        let b = r.counter("x_total", help: "Things.", labels: [("kind", "b\"q")])
        let g = r.gauge("open", help: "Open things.")
        let h = r.histogram("lat_seconds", help: "Latency.", buckets: [0.1, 1])
        a.increment(); a.increment(by: 2); b.increment()
        g.increment(); g.increment(); g.decrement()
        h.observe(0.05); h.observe(0.5); h.observe(3)
        #expect(r.counter("x_total", help: "Things.", labels: [("kind", "a")]) === a)
        let text = r.render()
        #expect(text.contains("# HELP x_total Things.\n# TYPE x_total counter\nx_total{kind=\"a\"} 3\nx_total{kind=\"b\\\"q\"} 1\n"))
        #expect(text.contains("# TYPE open gauge\nopen 1\n"))
        #expect(text.contains("lat_seconds_bucket{le=\"0.1\"} 1\nlat_seconds_bucket{le=\"1.0\"} 2\nlat_seconds_bucket{le=\"+Inf\"} 3\n"))
        #expect(text.contains("lat_seconds_sum 3.55\nlat_seconds_count 3\n"))
        #expect(text.components(separatedBy: "# TYPE x_total").count == 2)
    }
}

@Suite struct AccessLogFormatTests {
    @Test func timestampsAndDurations() {
        #expect(AccessLog.timestamp(Date(timeIntervalSince1970: 1_780_000_000.0425)) == "2026-05-28T20:26:40.042Z")
        #expect(AccessLog.timestamp(Date(timeIntervalSince1970: 0)) == "1970-01-01T00:00:00.000Z")
        #expect(AccessLog.millis(1.5) == "1.500")
        #expect(AccessLog.millis(0.0004) == "0.000")
        #expect(AccessLog.millis(12345.6789) == "12345.679")
        #expect(AccessLog.quote("a\"b\\c\nd\u{1}") == "\"a\\\"b\\\\c\\nd\\u0001\"")
    }

    @Test func endpointsWrittenAsWithPortSpellsThem() {
        for (text, port): (String, UInt16) in [("0.0.0.0", 0), ("127.0.0.1", 3128), ("10.200.3.45", 65_535),
                                               ("255.255.255.255", 9), ("::1", 40_000), ("2001:db8::7", 443)] {
            let address = IPAddress(text)!
            var bytes: [UInt8] = []
            AccessLog.appendEndpoint(address, port: port, to: &bytes)
            #expect(String(decoding: bytes, as: UTF8.self) == address.withPort(port))
        }
    }

    @Test func wholeLineIsValidJSON() throws {
        let record = AccessRecord(
            time: Date(timeIntervalSince1970: 1_780_000_000.5), flowID: FlowID(prefix: "f1-", number: 2),
            client: ClientIdentity(address: IPAddress("::1")!, port: 40_000, name: "büro \"2\"", user: nil),
            method: "GET", scheme: "http", host: "example.org", port: 8080, path: "/a\tb",
            status: 200, bytesIn: 0, bytesOut: 12_345_678_901, durationMs: 3.25, upstreamConnectMs: nil,
            upstream: "[2001:db8::1]:443", outcome: "forwarded")
        var bytes: [UInt8] = []
        var stamps = TimestampCache()
        record.write(into: &bytes, stamps: &stamps)
        #expect(bytes.last == UInt8(ascii: "\n"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        #expect(object["time"] as? String == "2026-05-28T20:26:40.500Z")
        #expect(object["client"] as? String == "[::1]:40000")
        #expect(object["client_name"] as? String == "büro \"2\"")
        #expect(object["user"] == nil)
        #expect(object["path"] as? String == "/a\tb")
        #expect(object["port"] as? Int == 8080)
        #expect(object["bytes_out"] as? Int == 12_345_678_901)
        #expect(object["duration_ms"] as? Double == 3.25)
        #expect(object["connect_ms"] == nil)
        #expect(object["upstream"] as? String == "[2001:db8::1]:443")
        #expect(object["flow"] as? String == "f1-2")
    }

    @Test func linesStayWithinTheirReservationWhenEveryFieldNeedsEscaping() throws {
        // Control characters are the worst case: six bytes each. The writer stops the process if
        // a line overruns the room reserved for it, so this line being written at all is the check.
        // (The flow ID and upstream label are the gateway's own text, written unquoted.)
        let nasty = String(repeating: "\u{1}", count: 300)
        let record = AccessRecord(
            time: Date(timeIntervalSince1970: 4_102_444_799.999), flowID: FlowID(prefix: "zzzzzzzz-zz-", number: .max),
            client: ClientIdentity(address: IPAddress("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")!, port: 65_535,
                                   name: nasty, user: nasty),
            method: nasty, scheme: "https", host: nasty, port: 65_535, path: "/" + nasty + "/12345678/a@b",
            status: Int.max, bytesIn: .max, bytesOut: .max, durationMs: 1e15, upstreamConnectMs: 1e15,
            upstream: "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535", outcome: "forwarded")
        var bytes: [UInt8] = []
        var stamps = TimestampCache()
        record.write(into: &bytes, stamps: &stamps)
        #expect(bytes.count <= record.maxBytes)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
        #expect(object["method"] as? String == nasty)
        #expect(object["path"] as? String == "/" + nasty + "/*/*")
    }

    @Test func flowIDsWrittenInPlaceSpellTheirDescription() {
        for number: UInt64 in [0, 1, 9, 10, 35, 36, 1295, 1296, 123_456_789, .max] {
            let id = FlowID(prefix: "k3-0-", number: number)
            var bytes: [UInt8] = []
            bytes.appendWriting(maxBytes: id.maxBytes) { id.write(to: &$0) }
            #expect(String(decoding: bytes, as: UTF8.self) == id.description)
            #expect(id.description == "k3-0-" + String(number, radix: 36))
        }
    }
}

@Suite struct TimestampCacheTests {
    private func stamp(_ seconds: Double, _ cache: inout TimestampCache) -> String {
        var out: [UInt8] = []
        cache.append(Date(timeIntervalSince1970: seconds), to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    @Test func reusedWithinASecondAndRedoneAfterIt() {
        var cache = TimestampCache()
        #expect(stamp(1_780_000_000.5, &cache) == "2026-05-28T20:26:40.500Z")
        #expect(stamp(1_780_000_000.75, &cache) == "2026-05-28T20:26:40.750Z")
        #expect(stamp(1_780_000_001.125, &cache) == "2026-05-28T20:26:41.125Z")
        // Back in time (a clock step): formatted again, never the newer second.
        #expect(stamp(1_779_999_999.25, &cache) == "2026-05-28T20:26:39.250Z")
        #expect(stamp(1_780_086_400, &cache) == "2026-05-29T20:26:40.000Z")
    }

    @Test func sameTextAsTheUncachedFormatter() {
        var cache = TimestampCache()
        for seconds in [0.0, 951_782_400.123, 1_780_000_000.5, 4_102_444_799.999] {
            #expect(stamp(seconds, &cache) == AccessLog.timestamp(Date(timeIntervalSince1970: seconds)))
        }
    }
}

@Suite struct AccessLogPathTests {
    private func logged(_ path: String) -> String {
        var out: [UInt8] = []
        AccessLog.appendPath(path, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    @Test func segmentsThatCouldHoldIdentifiersAreMasked() {
        #expect(logged("/v1/users/110101199003074514/orders") == "\"/v1/users/*/orders\"")
        #expect(logged("/sms/13812345678") == "\"/sms/*\"")
        #expect(logged("/u/jane%40example.com/profile") == "\"/u/*/profile\"")
        #expect(logged("/u/jane@example.com") == "\"/u/*\"")
        #expect(logged("/users/%E5%BC%A0%E4%B8%89") == "\"/users/*\"")
        #expect(logged("/users/张三/x") == "\"/users/*/x\"")
        #expect(logged("/p/E12345678") == "\"/p/*\"")
    }

    @Test func ordinaryPathsAreKept() {
        #expect(logged("/v1/orders/12345/items") == "\"/v1/orders/12345/items\"")
        #expect(logged("/") == "\"/\"")
        #expect(logged("/a%20b/2026-11-29/c%2Fd") == "\"/a%20b/2026-11-29/c%2Fd\"")
        #expect(logged("") == "\"\"")
    }
}

@Suite struct ResolverTests {
    @Test func literalsAndCachedNamesAnswerAtOnce() async throws {
        let r = Resolver(cacheSeconds: 3600)   // long: a loaded machine can make the first lookup slow
        let q = DispatchQueue(label: "resolver-test")
        let literal = Once()
        r.resolve("::1", timeout: 1, on: q) { res in
            if case .success(let a) = res, a == [IPAddress("::1")!] { _ = literal.claim() }
        }
        #expect(!literal.claim(), "a literal must be answered synchronously")
        let first: Result<[IPAddress], Resolver.Failure> = await withCheckedContinuation { c in
            r.resolve("localhost", timeout: 5, on: q) { c.resume(returning: $0) }
        }
        let addrs = try first.get()
        #expect(addrs.allSatisfy { DestinationGuard(allowed: []).check($0)?.category == "loopback" })
        let cached = Once()
        r.resolve("localhost", timeout: 5, on: q) { res in
            if case .success(let again) = res, again == addrs { _ = cached.claim() }
        }
        #expect(!cached.claim(), "a cached name must be answered synchronously")
    }

    @Test func unknownNamesFail() async {
        let r = Resolver()
        let res: Result<[IPAddress], Resolver.Failure> = await withCheckedContinuation { c in
            r.resolve("no-such-host.invalid", timeout: 5, on: DispatchQueue(label: "t")) { c.resume(returning: $0) }
        }
        if case .success = res { Issue.record("a .invalid name resolved") }
    }
}
