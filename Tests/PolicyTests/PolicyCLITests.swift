import CustomsTestSupport
import Foundation
import Testing

/// `customs policy check` and `explain` on the built binary.
@Suite struct PolicyCLITests {
    var binary: String { TestPaths.customsBinary.path }

    @Test func checkAcceptsEveryShippedFile() throws {
        let dir = TestPaths.packageRoot.appendingPathComponent("Policies").path
        let files = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".yaml") }.map { "Policies/\($0)" }
            + FileManager.default.contentsOfDirectory(atPath: dir + "/regimes").filter { $0.hasSuffix(".yaml") }.map { "Policies/regimes/\($0)" }
        #expect(files.count >= 6)
        let r = try runProcess(binary, ["policy", "check"] + files, currentDirectory: TestPaths.packageRoot)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.split(separator: "\n").count == files.count)
        #expect(r.stdout.split(separator: "\n").allSatisfy { $0.contains(": ok") })
    }

    @Test func checkReportsEveryProblemAndExitsOne() throws {
        let dir = try TestPaths.temporaryDirectory("policy-cli"); defer { try? FileManager.default.removeItem(at: dir) }
        let bad = dir.appendingPathComponent("bad.yaml").path
        try "regimes: [cn-2024-provisions]\nmood: calm\nrecipients:\n  - {id: a, networks: [1.2.3.4/40]}\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let r = try runProcess(binary, ["policy", "check", bad])
        #expect(r.status == 1)
        let lines = r.stderr.split(separator: "\n").map(String.init)
        #expect(lines.contains { $0.hasPrefix("\(bad):2:1: unknown key 'mood'") })
        #expect(lines.contains { $0.hasPrefix("\(bad):4:24: bad CIDR '1.2.3.4/40'") })
    }

    @Test func explainPrintsVerdictRulesAndCounts() throws {
        let site = TestPaths.packageRoot.appendingPathComponent("Policies/example-site.yaml").path
        let r = try runProcess(binary, ["policy", "explain", "--config", site, "--host", "api.unknown-vendor.io", "--country", "US",
                                        "--new", "pi=3", "--existing", "company:pi=99998", "--at", "2025-06-01"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("recipient: unknown-vendor.io (unconfigured"))
        #expect(r.stdout.contains("verdict: block"))
        #expect(r.stdout.contains("rule: cn-2024-provisions/pi>=100000/scc_or_certification"))
        #expect(r.stdout.contains("company/pi/calendar_year: 99998 -> 100001"))
        let j = try runProcess(binary, ["policy", "explain", "--config", site, "--host", "crm.acme.com", "--new", "pi=1",
                                        "--existing", "company:pi=2000000", "--at", "2027-09-01", "--json"])
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(j.stdout.utf8)) as? [String: Any])
        #expect(obj["action"] as? String == "block")
        #expect((obj["approval_findings"] as? [String])?.contains("SA-2024-0007: expired; last valid day was 2027-08-31") == true)
    }
}
