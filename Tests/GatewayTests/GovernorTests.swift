import CustomsCore
import CustomsTestSupport
import Foundation
import Gateway
import Logging
import Testing

/// Holds request bodies and blocks those that contain "secret"; records what it was asked.
final class WordInspection: BodyInspection, @unchecked Sendable {
    // All fields are guarded by the lock (consume and verdict may run on different queues).
    private let lock = NSLock()
    private var bytes: [UInt8] = []
    private var finals: [Bool] = []

    func consume(_ chunk: UnsafeRawBufferPointer) {
        lock.lock(); bytes.append(contentsOf: chunk); lock.unlock()
    }

    func verdict(final: Bool, completion: @escaping @Sendable (BodyVerdict) -> Void) {
        lock.lock()
        finals.append(final)
        let blocked = String(decoding: bytes, as: UTF8.self).contains("secret")
        lock.unlock()
        // Answer from another queue, as a real inspection pipeline would.
        DispatchQueue.global().async {
            completion(blocked ? .block(SyntheticResponse(status: 451, reason: "Unavailable For Legal Reasons",
                                                          text: "blocked: personal data")) : .forward)
        }
    }

    var seen: [UInt8] { lock.lock(); defer { lock.unlock() }; return bytes }
    var verdicts: [Bool] { lock.lock(); defer { lock.unlock() }; return finals }
}

final class TestGovernor: FlowGovernor, @unchecked Sendable {
    // `inspections` and `done` are guarded by the lock.
    private let lock = NSLock()
    private var inspections: [WordInspection] = []
    private var done: [(path: String, status: Int, up: UInt64, down: UInt64)] = []

    func plan(for flow: FlowContext) -> FlowPlan {
        if flow.path == "/respond" {
            return .respond(SyntheticResponse(status: 451, reason: "Unavailable For Legal Reasons", text: "not here"))
        }
        if flow.path.hasPrefix("/inspect") {
            let i = WordInspection()
            lock.lock(); inspections.append(i); lock.unlock()
            return .inspect(i)
        }
        return .forward
    }

    /// Tunnels to 127.0.0.3 are refused once the test opens this gate (as a block waits for its
    /// audit record to be durable).
    let gate = DispatchSemaphore(value: 0)
    let asked = DispatchSemaphore(value: 0)

    func tunnel(for flow: FlowContext) -> TunnelPlan {
        if flow.host == "localhost" { return .intercept }
        if flow.host == "127.0.0.3" {
            asked.signal()
            let gate = self.gate
            return .respondWhenReady(SyntheticResponse(status: 451, reason: "Unavailable For Legal Reasons", text: "recorded")) { done in
                DispatchQueue.global().async { gate.wait(); done() }
            }
        }
        return .respond(SyntheticResponse(status: 451, reason: "Unavailable For Legal Reasons", text: "no tunnels"))
    }

    func finished(_ flow: FlowContext, status: Int, bytesUp: UInt64, bytesDown: UInt64) {
        lock.lock(); done.append((flow.path, status, bytesUp, bytesDown)); lock.unlock()
    }

    var lastInspection: WordInspection? { lock.lock(); defer { lock.unlock() }; return inspections.last }
    var finishedFlows: [(path: String, status: Int, up: UInt64, down: UInt64)] {
        lock.lock(); defer { lock.unlock() }; return done
    }
}

/// A gateway running in this process (port 0) with the test governor, and the Python upstream.
final class InProcessGateway: @unchecked Sendable {
    // Only used from the owning test.
    let dir: URL
    let upstream: BackgroundProcess
    let upstreamPort: UInt16
    let gateway: Gateway
    let governor = TestGovernor()
    let metrics = MetricsRegistry()
    let port: UInt16

    init(holdLimit: Int = 8 << 20, queues: Int = 2) throws {
        try requireTool("curl")
        try requireTool("python3")
        dir = try TestPaths.temporaryDirectory("gateway-inproc")
        upstreamPort = freeLoopbackPort()
        let script = dir.appendingPathComponent("upstream.py")
        try Upstream.script.write(to: script, atomically: true, encoding: .utf8)
        upstream = try BackgroundProcess("python3", [script.path, "\(upstreamPort)", "60"])
        let conf = GatewayConfiguration(listen: ["127.0.0.1:0"], admin: nil,
                                        allowDestinations: [IPNetwork("127.0.0.0/8")!, IPNetwork("::1/128")!],
                                        holdLimit: holdLimit, queues: queues)
        gateway = try Gateway(configuration: conf, governor: governor, metrics: metrics,
                              logger: Logger(label: "customs.test"))
        try gateway.start()
        port = try #require(gateway.boundPorts.first)
        try waitForListener(port: upstreamPort, process: upstream)
    }

    func curl(_ args: [String]) throws -> ProcessResult {
        try runProcess("curl", ["-sS", "-x", "http://127.0.0.1:\(port)"] + args, timeout: 60)
    }

    var origin: String { "http://127.0.0.1:\(upstreamPort)" }

    func stop() async {
        await gateway.shutdown(grace: 1)
        upstream.stop(grace: 1)
        try? FileManager.default.removeItem(at: dir)
    }
}

private func json(_ s: String) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(s.utf8)) as? [String: Any], "not JSON: \(s.prefix(200))")
}

@Suite(.serialized) struct GovernorTests {
    @Test func inspectedBodyIsForwardedAfterTheFinalVerdict() async throws {
        let g = try InProcessGateway()
        let r = try g.curl(["-H", "Transfer-Encoding: chunked", "-H", "Expect: 100-continue",
                            "--data-binary", "name=Li Lei&note=hello", "\(g.origin)/inspect/ok"])
        let body = try json(r.stdout)
        #expect(body["length"] as? Int == 22)
        let headers = try #require(body["headers"] as? [String: String])
        #expect(headers["expect"] == nil, "Expect must not go upstream when the gateway answers 100 itself")
        let inspection = try #require(g.governor.lastInspection)
        #expect(String(decoding: inspection.seen, as: UTF8.self) == "name=Li Lei&note=hello")
        #expect(inspection.verdicts == [true])
        await g.stop()
        #expect(g.governor.finishedFlows.first?.status == 200)
    }

    @Test func blockedBodyNeverReachesTheUpstream() async throws {
        let g = try InProcessGateway()
        let r = try g.curl(["-D", "-", "--data-binary", "id=secret", "\(g.origin)/inspect/no"])
        #expect(r.stdout.hasPrefix("HTTP/1.1 451"))
        #expect(r.stdout.contains("blocked: personal data"))
        #expect(g.metrics.render().contains("customs_upstream_connects_total 0\n"))
        #expect(g.metrics.render().contains("customs_http_request_outcomes_total{outcome=\"blocked\"} 1\n"))
        await g.stop()
    }

    @Test func beyondTheHoldLimitEveryPieceIsApproved() async throws {
        let g = try InProcessGateway(holdLimit: 4096)
        let file = g.dir.appendingPathComponent("big.txt")
        let text = String(repeating: "harmless text ", count: 40_000)   // 560,000 bytes
        try text.write(to: file, atomically: true, encoding: .utf8)
        let r = try g.curl(["--data-binary", "@\(file.path)", "\(g.origin)/inspect/big"])
        #expect(try json(r.stdout)["length"] as? Int == text.utf8.count)
        let inspection = try #require(g.governor.lastInspection)
        #expect(inspection.seen.count == text.utf8.count)
        #expect(inspection.verdicts.count > 2)
        #expect(inspection.verdicts.last == true && inspection.verdicts.dropLast().allSatisfy { !$0 })
        await g.stop()
    }

    @Test func blockPastTheHoldLimitAbortsTheUpstreamRequest() async throws {
        let g = try InProcessGateway(holdLimit: 4096)
        let file = g.dir.appendingPathComponent("leak.txt")
        let text = String(repeating: "harmless text ", count: 20_000) + "secret" + String(repeating: "x", count: 200_000)
        try text.write(to: file, atomically: true, encoding: .utf8)
        let r = try g.curl(["-D", "-", "--data-binary", "@\(file.path)", "\(g.origin)/inspect/leak"])
        #expect(r.stdout.hasPrefix("HTTP/1.1 451"), "\(r.stdout.prefix(200)) \(r.stderr)")
        let inspection = try #require(g.governor.lastInspection)
        // The gateway stopped reading once a piece was refused: nothing after it was consumed.
        #expect(inspection.seen.count < text.utf8.count)
        #expect(inspection.verdicts.allSatisfy { !$0 })
        await g.stop()
    }

    @Test func respondPlanAnswersWithoutTheUpstream() async throws {
        let g = try InProcessGateway()
        let r = try g.curl(["-D", "-", "\(g.origin)/respond"])
        #expect(r.stdout.hasPrefix("HTTP/1.1 451"))
        #expect(r.stdout.hasSuffix("not here\n"))
        #expect(g.metrics.render().contains("customs_upstream_connects_total 0\n"))
        await g.stop()
    }

    @Test func tunnelPlans() async throws {
        let g = try InProcessGateway()
        let intercept = try g.curl(["-p", "-D", "-", "http://localhost:\(g.upstreamPort)/"])
        #expect(intercept.stdout.contains("501"), "\(intercept.stdout)")
        let refused = try g.curl(["-p", "-D", "-", "\(g.origin)/"])
        #expect(refused.stdout.contains("451"))
        await g.stop()
        #expect(g.governor.finishedFlows.map(\.status).sorted() == [451, 501])
    }

    /// A refusal that must wait (for an audit fsync) does not hold the event queue: with one
    /// queue, a request on another connection is served while the CONNECT waits.
    @Test func aWaitingRefusalDoesNotHoldTheQueue() async throws {
        let g = try InProcessGateway(queues: 1)
        let connect = try BackgroundProcess("curl", ["-sS", "-p", "-x", "http://127.0.0.1:\(g.port)", "-o", "/dev/null",
                                                     "-w", "%{http_connect}", "http://127.0.0.3:\(g.upstreamPort)/"])
        #expect(g.governor.asked.wait(timeout: .now() + 30) == .success, "the CONNECT never reached the governor")
        // Served while the CONNECT is still waiting for its gate.
        let meanwhile = try g.curl(["-o", "/dev/null", "-w", "%{http_code}", "\(g.origin)/"])
        #expect(meanwhile.stdout == "200")
        g.governor.gate.signal()
        let deadline = Date().addingTimeInterval(30)
        while connect.process.isRunning && Date() < deadline { try await Task.sleep(nanoseconds: 20_000_000) }
        connect.stop(grace: 1)
        #expect(connect.output.contains("451"), "\(connect.output)")
        await g.stop()
        #expect(g.governor.finishedFlows.map(\.status).contains(451))
    }
}
