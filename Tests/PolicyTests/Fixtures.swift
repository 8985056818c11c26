import CustomsTestSupport
import Foundation
import Policy

/// A temporary directory with a site file and a `regimes/` folder beside it.
struct PolicyFixture {
    let dir: URL
    var sitePath: String { dir.appendingPathComponent("site.yaml").path }

    init() throws {
        dir = try TestPaths.temporaryDirectory("policy-test")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("regimes"), withIntermediateDirectories: true)
    }

    func write(_ name: String, _ text: String) throws -> String {
        let url = dir.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    func writeSite(_ text: String) throws -> String { try write("site.yaml", text) }

    func regimePath(_ id: String) -> String { dir.appendingPathComponent("regimes/\(id).yaml").path }

    /// Loads, expecting failure; returns the problems.
    func problems(regimeDirectories: [String] = []) -> [PolicyProblem] {
        do {
            _ = try PolicySnapshot.load(sitePath: sitePath, regimeDirectories: regimeDirectories)
            return []
        } catch {
            return error.problems
        }
    }

    func cleanup() { try? FileManager.default.removeItem(at: dir) }

    /// A small valid regime whose lines are easy to hit in tests.
    static let testRegime = """
    kind: regime
    id: test-regime
    home: CN
    outside: "outside:CN"
    utc_offset: "+08:00"
    window: calendar_year
    scopes: [company]
    categories: [pi, sensitive]
    sensitive_category: sensitive
    default_mapping: std
    mappings:
      std: {email: [pi], health: [sensitive]}
    approval_kinds:
      security_assessment: {validity_years: 3}
    instruments:
      - id: security_assessment
        satisfied_by: [security_assessment]
    ladder:
      pi:
        - {at_least: 100, instrument: security_assessment}
    exemptions:
      hr: {cite: "Art. 5(2)", counts: false}

    """
}

let shippedPolicies = TestPaths.packageRoot.appendingPathComponent("Policies").path
