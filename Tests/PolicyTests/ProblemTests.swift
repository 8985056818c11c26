import CustomsTestSupport
import Foundation
import Policy
import Testing

/// Every kind of mistake is reported at its exact place as `file:line:col: message`.
@Suite struct ProblemTests {
    /// Writes the test regime and `site`, loads, and returns "line:col: message" strings.
    func problems(site: String, regime: String = PolicyFixture.testRegime) throws -> [String] {
        let f = try PolicyFixture(); defer { f.cleanup() }
        _ = try f.write("regimes/test-regime.yaml", regime)
        _ = try f.writeSite(site)
        let ps = f.problems()
        for p in ps { #expect(p.file == f.sitePath || p.file == f.regimePath("test-regime")) }
        return ps.map { p in "\(p.file == f.sitePath ? "site" : "regime"):\(p.line):\(p.column): \(p.message)" }
    }

    func expectOne(_ got: [String], _ prefix: String, _ fragment: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(got.contains { $0.hasPrefix(prefix) && $0.contains(fragment) }, "expected \(prefix) …\(fragment)… in \(got)", sourceLocation: sourceLocation)
    }

    @Test func unknownKey() throws {
        let got = try problems(site: "regimes: [test-regime]\nmod: enforce\n")
        #expect(got.count == 1)
        expectOne(got, "site:2:1:", "unknown key 'mod'")
    }

    @Test func wrongTypes() throws {
        let got = try problems(site: """
        regimes: [test-regime]
        mode: [enforce]
        inspection:
          body_hold_limit: lots
          uninspectable: maybe
        recipients: {id: x}
        """)
        expectOne(got, "site:2:7:", "'mode' must be a string")
        expectOne(got, "site:4:20:", "body_hold_limit")
        expectOne(got, "site:5:18:", "'uninspectable' must be one of allow, block, require_interception")
        expectOne(got, "site:6:13:", "'recipients' must be a list")
        #expect(got.count == 4)
    }

    @Test func unknownRegimeReference() throws {
        let got = try problems(site: "regimes: [test-regime, nope-2030]\n")
        expectOne(got, "site:1:24:", "unknown regime 'nope-2030'")
    }

    @Test func unknownRecipientReferences() throws {
        let got = try problems(site: """
        regimes: [test-regime]
        recipients:
          - {id: a, hosts: [a.example]}
        approvals:
          - {id: SA1, kind: security_assessment, recipients: [a, ghost], issued: 2025-01-01}
        events:
          - {id: e1, type: stop_order, recipient: phantom, date: 2025-01-01}
        exemptions:
          - {id: x1, basis: hr, recipients: [spook]}
        """)
        expectOne(got, "site:5:58:", "unknown recipient 'ghost'")
        expectOne(got, "site:7:43:", "unknown recipient 'phantom'")
        expectOne(got, "site:9:38:", "unknown recipient 'spook'")
        #expect(got.count == 3)
    }

    @Test func datesThatDoNotParse() throws {
        let got = try problems(site: """
        regimes: [test-regime]
        recipients: [{id: a, hosts: [a.example]}]
        approvals:
          - id: SA1
            kind: security_assessment
            recipients: [a]
            issued: 2025-02-30
            valid_until: next year
        """)
        expectOne(got, "site:7:13:", "not a date (YYYY-MM-DD): '2025-02-30'")
        expectOne(got, "site:8:18:", "not a date (YYYY-MM-DD): 'next year'")
    }

    @Test func badNetworksAndPatterns() throws {
        let got = try problems(site: """
        regimes: [test-regime]
        recipients:
          - id: a
            hosts: ["api.*x.example", "ok.example"]
            networks: [10.0.0.0/33, "2001:db8::/32"]
            country: USA
        geo:
          overrides: {"300.1.1.0/24": US}
        """)
        expectOne(got, "site:4:13:", "bad host pattern 'api.*x.example'")
        expectOne(got, "site:5:16:", "bad CIDR '10.0.0.0/33'")
        expectOne(got, "site:6:14:", "two-letter country code")
        expectOne(got, "site:8:15:", "bad CIDR '300.1.1.0/24'")
        #expect(got.count == 4)
    }

    @Test func duplicateIDs() throws {
        let got = try problems(site: """
        regimes: [test-regime]
        recipients:
          - {id: a, hosts: [a.example]}
          - {id: a, hosts: [b.example]}
        approvals:
          - {id: SA1, kind: security_assessment, recipients: [a], issued: 2025-01-01}
          - {id: SA1, kind: security_assessment, recipients: [a], issued: 2025-01-02}
        """)
        expectOne(got, "site:4:10:", "duplicate recipient id 'a'")
        expectOne(got, "site:7:10:", "duplicate approval id 'SA1'")
    }

    @Test func unknownKindsCategoriesAndBases() throws {
        let got = try problems(site: """
        regimes: [test-regime]
        recipients: [{id: a, hosts: [a.example]}]
        approvals:
          - {id: X, kind: blessing, recipients: ["*"], categories: [pi, gossip], issued: 2025-01-01}
        exemptions:
          - {id: e, basis: vibes, methods: [GET]}
        inspection: {sensitivity_mapping: gb-t-1999}
        """)
        expectOne(got, "site:4:19:", "unknown approval kind 'blessing'")
        expectOne(got, "site:4:65:", "unknown category 'gossip'")
        expectOne(got, "site:6:20:", "unknown exemption basis 'vibes'")
        expectOne(got, "site:7:35:", "unknown sensitivity mapping 'gb-t-1999'")
        #expect(got.count == 4)
    }

    @Test func overlappingAndUnorderedBands() throws {
        let regime = PolicyFixture.testRegime.replacingOccurrences(of: """
          pi:
            - {at_least: 100, instrument: security_assessment}
        """, with: """
          pi:
            - {at_least: 100, below: 500, instrument: security_assessment}
            - {at_least: 400, instrument: security_assessment}
          sensitive:
            - {at_least: 50, instrument: security_assessment}
            - {more_than: 10, instrument: security_assessment}
            - {at_least: 60, below: 60, instrument: security_assessment}
            - {at_least: 70, instrument: wishful}
        """)
        let got = try problems(site: "regimes: [test-regime]\n", regime: regime)
        expectOne(got, "regime:21:7:", "band >=400 overlaps the band before it")
        expectOne(got, "regime:24:7:", "must be in ascending order: >10 is not above >=50")
        expectOne(got, "regime:25:7:", "is empty")
        expectOne(got, "regime:26:7:", "unknown instrument 'wishful'")
        #expect(got.count == 4)
    }

    @Test func regimeFileErrors() throws {
        let regime = PolicyFixture.testRegime
            .replacingOccurrences(of: "window: calendar_year", with: "window: fortnightly")
            .replacingOccurrences(of: "std: {email: [pi], health: [sensitive]}", with: "std: {email: [pi], telepathy: [sensitive], health: [secret]}")
            .replacingOccurrences(of: "utc_offset: \"+08:00\"", with: "utc_offset: \"8h\"")
        let got = try problems(site: "regimes: [test-regime]\n", regime: regime)
        expectOne(got, "regime:5:13:", "'utc_offset' must look like +08:00")
        expectOne(got, "regime:6:9:", "'window' must be one of calendar_year")
        expectOne(got, "regime:12:22:", "unknown detector kind 'telepathy'")
        expectOne(got, "regime:12:55:", "unknown category 'secret'")
    }

    @Test func yamlSyntaxErrorIsLocated() throws {
        let got = try problems(site: "regimes: [test-regime\nmode: enforce\n")
        #expect(got.count == 1)
        #expect(got.first?.hasPrefix("site:") == true)
        #expect(got.first?.contains("YAML syntax") == true)
    }

    @Test func everyProblemIsReportedNotJustTheFirst() throws {
        let got = try problems(site: """
        regimes: [test-regime]
        colour: blue
        mode: loud
        recipients:
          - {id: a}
        approvals:
          - {id: A1, kind: security_assessment, recipients: [b], issued: soon}
        """)
        #expect(got.count == 5, "\(got)")
        let err = PolicyLoadError(problems: [PolicyProblem(file: "f.yaml", line: 3, column: 7, message: "m1"),
                                             PolicyProblem(file: "f.yaml", line: 4, column: 1, message: "m2")])
        #expect(err.description == "f.yaml:3:7: m1\nf.yaml:4:1: m2")
    }

    @Test func regimeFileOnItsOwn() throws {
        let f = try PolicyFixture(); defer { f.cleanup() }
        let path = try f.write("r.yaml", PolicyFixture.testRegime + "surprise: 1\n")
        #expect(PolicySnapshot.isRegimeFile(path: path))
        do {
            _ = try PolicySnapshot.loadRegime(path: path)
            Issue.record("expected a problem")
        } catch {
            #expect(error.problems.map(\.description) == ["\(path):23:1: unknown key 'surprise' in regime (known: approval_kinds, categories, country_groups, default_mapping, effective_from, effective_until, exemptions, home, id, instruments, kind, ladder, mappings, outside, overrides, scopes, sensitive_also_counts_as, sensitive_category, title, utc_offset, window)"])
        }
    }
}
