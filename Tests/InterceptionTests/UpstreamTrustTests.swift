import CustomsTestSupport
import Foundation
import Testing
@testable import Interception

/// The table that picks the upstream client context per destination.
@Suite struct UpstreamTrustTableTests {
    @Test func firstMatchingOverrideWinsElseTheBaseContext() throws {
        let labCA = try TestAuthority(name: "Lab CA")
        let otherCA = try TestAuthority(name: "Other CA")
        let table = try UpstreamTrustTable(base: TLSClientConfiguration(), overrides: [
            try .extraCA("*.lab.example=\(labCA.certificateFile)"),
            .init(pattern: "legacy.lab.example", trust: .insecure),
            .init(pattern: ".legacy.example", trust: .insecure),
            try .extraCA("partner.example=\(labCA.certificateFile)"),
            try .extraCA("other.example=\(otherCA.certificateFile)"),
        ])
        // The trust override listed first shadows the insecure one for the same host.
        let legacy = table.choice(for: "legacy.lab.example")
        #expect(legacy.verifies)
        #expect(legacy.override?.pattern == "*.lab.example")
        #expect(legacy.context.configuration.extraTrustFiles == [labCA.certificateFile])

        let old = table.choice(for: "Old.Legacy.Example.")
        #expect(!old.verifies)
        #expect(old.override?.flag == "--insecure-upstream-host .legacy.example")

        let none = table.choice(for: "lab.example")
        #expect(none.override == nil)
        #expect(none.context === table.base)
        #expect(none.verifies)
        // One context per distinct trust: the lab CA is shared by two patterns, the insecure one too.
        #expect(table.choice(for: "partner.example").context === legacy.context)
        #expect(table.choice(for: "legacy.example").context === old.context)
        #expect(table.choice(for: "other.example").context !== legacy.context)
        #expect(table.overrideContextCount == 3)
    }

    @Test func overridesAddToTheBaseTrust() throws {
        let globalCA = try TestAuthority(name: "Global CA")
        let labCA = try TestAuthority(name: "Lab CA")
        let table = try UpstreamTrustTable(
            base: TLSClientConfiguration(useSystemTrustStore: false, extraTrustFiles: [globalCA.certificateFile]),
            overrides: [try .extraCA("localhost=\(labCA.certificateFile)")])
        let configuration = table.choice(for: "localhost").context.configuration
        #expect(configuration.extraTrustFiles == [globalCA.certificateFile, labCA.certificateFile])
        #expect(configuration.verifyPeer)
        #expect(table.choice(for: "127.0.0.1").context.configuration.extraTrustFiles == [globalCA.certificateFile])
    }

    @Test func badOverridesStopTheStartWithAReadableError() throws {
        let directory = try TestPaths.temporaryDirectory("upstream-trust")
        let missing = directory.appendingPathComponent("missing.pem").path
        #expect(throws: TLSError.invalidOverride("--upstream-trust localhost=\(missing)",
                                                 reason: "CA file \(missing): no such file")) {
            try UpstreamTrustTable(base: TLSClientConfiguration(), overrides: [try .extraCA("localhost=\(missing)")])
        }
        #expect(throws: TLSError.invalidOverride("--upstream-trust localhost=\(directory.path)",
                                                 reason: "CA file \(directory.path): is a directory")) {
            try UpstreamTrustTable(base: TLSClientConfiguration(), overrides: [try .extraCA("localhost=\(directory.path)")])
        }
        let garbage = directory.appendingPathComponent("garbage.pem").path
        try "not a certificate\n".write(toFile: garbage, atomically: true, encoding: .utf8)
        do {
            _ = try UpstreamTrustTable(base: TLSClientConfiguration(), overrides: [try .extraCA("localhost=\(garbage)")])
            Issue.record("a file without a certificate was accepted")
        } catch {
            #expect("\(error)".hasPrefix("upstream trust override '--upstream-trust localhost=\(garbage)': \(garbage): no valid PEM"), "\(error)")
            #expect(!"\(error)".contains("\n"))
        }
        #expect(throws: TLSError.invalidOverride("--upstream-trust localhost", reason: "expected PATTERN=CAFILE")) {
            try UpstreamTrustOverride.extraCA("localhost")
        }
        #expect(throws: TLSError.invalidOverride("--upstream-trust =ca.pem", reason: "expected PATTERN=CAFILE")) {
            try UpstreamTrustOverride.extraCA("=ca.pem")
        }
        #expect(throws: TLSError.invalidOverride("--insecure-upstream-host a.*.example",
                                                 reason: "\(TLSError.invalidName("a.*.example"))")) {
            try UpstreamTrustTable(base: TLSClientConfiguration(), overrides: [.init(pattern: "a.*.example", trust: .insecure)])
        }
    }
}

/// `customs serve --upstream-trust` and `--insecure-upstream-host` end to end: the upstream's CA is
/// never in --upstream-ca here, so only an override can make it acceptable.
@Suite(.serialized) struct UpstreamTrustGatewayTests {
    typealias Setup = InterceptionGatewayTests.Setup

    @Test func trustOverrideAcceptsOnlyTheMatchingHost() throws {
        let setup = try Setup(trustUpstream: false, upstreamCAArguments: { ["--upstream-trust", "localhost=\($0)"] })
        let trusted = try setup.curl("https://localhost:\(setup.upstreamPort)/trusted")
        #expect(trusted.stdout.contains("upstream GET /trusted"), "\(trusted.stdout)\n\(trusted.stderr)\n\(setup.gateway.output)")
        #expect(trusted.stdout.hasSuffix("\n200"))
        // The upstream's certificate names 127.0.0.1 too, but the override does not: refused.
        let other = try setup.curl("https://127.0.0.1:\(setup.upstreamPort)/other")
        #expect(other.stdout.hasSuffix("\n502"), "\(other.stdout)\n\(other.stderr)")
        #expect(other.stdout.contains("unable to get local issuer certificate"))
        #expect(try setup.metric("customs_tls_upstream_refused_total") == 1)
        #expect(try setup.metric("customs_tls_upstream_unverified_total") == 0)
    }

    @Test func nonMatchingPatternDoesNotHelp() throws {
        // `*.localhost` names hosts below localhost, not localhost itself.
        let setup = try Setup(trustUpstream: false, upstreamCAArguments: { ["--upstream-trust", "*.localhost=\($0)"] })
        let result = try setup.curl("https://localhost:\(setup.upstreamPort)/x")
        #expect(result.stdout.hasSuffix("\n502"), "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains("unable to get local issuer certificate"))
    }

    @Test func insecureHostIsNotVerifiedButLoggedAndCounted() throws {
        let setup = try Setup(trustUpstream: false, extraGatewayArguments: ["--insecure-upstream-host", "localhost"])
        let base = "https://localhost:\(setup.upstreamPort)"
        let first = try setup.curl("\(base)/one")
        #expect(first.stdout.contains("upstream GET /one"), "\(first.stdout)\n\(first.stderr)\n\(setup.gateway.output)")
        #expect(try setup.metric("customs_tls_upstream_unverified_total") == 1)
        let warnings = setup.gateway.output.split(separator: "\n").filter { $0.contains("NOT verified") }
        #expect(warnings.count == 1, "\(setup.gateway.output)")
        #expect(warnings.first?.contains("warning") == true)
        #expect(warnings.first?.contains("host=localhost") == true)
        #expect(warnings.first?.contains("--insecure-upstream-host localhost") == true)
        // Every unverified connection is counted, not just the first.
        #expect(try setup.curl("\(base)/two").stdout.contains("upstream GET /two"))
        #expect(try setup.metric("customs_tls_upstream_unverified_total") == 2)

        // Another host on the same upstream stays verified, and the CA is untrusted: refused.
        let other = try setup.curl("https://127.0.0.1:\(setup.upstreamPort)/other")
        #expect(other.stdout.hasSuffix("\n502"), "\(other.stdout)\n\(other.stderr)")
        #expect(other.stdout.contains("unable to get local issuer certificate"))
        #expect(try setup.metric("customs_tls_upstream_unverified_total") == 2)
        #expect(try setup.metric("customs_tls_upstream_refused_total") == 1)
    }

    @Test func missingCAFileIsAStartError() throws {
        let ca = try TestAuthority(name: "Customs Test Interception CA")
        let site = ca.directory.appendingPathComponent("site.yaml")
        try Setup.site.write(to: site, atomically: true, encoding: .utf8)
        let missing = ca.directory.appendingPathComponent("no-such-ca.pem").path
        let result = try runProcess(TestPaths.customsBinary.path, [
            "serve", "--config", site.path, "--listen", "127.0.0.1:\(freeLoopbackPort())", "--admin", "off",
            "--ca", ca.directory.path, "--state", ca.directory.appendingPathComponent("state").path,
            "--upstream-trust", "localhost=\(missing)",
        ], timeout: 30)
        #expect(result.status != 0)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1, "\(result.stderr)")
        #expect(result.stderr.contains("localhost=\(missing)"), "\(result.stderr)")
        #expect(result.stderr.contains("no such file"))
    }
}
