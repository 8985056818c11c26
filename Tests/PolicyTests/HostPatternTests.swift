import Policy
import Testing

/// Host patterns and registrable domains run per request, so they match in place; these tests pin
/// their meaning, partly against a plain split-and-compare statement of the same rules.
@Suite struct HostPatternTests {
    @Test func leadingWildcardStandsForOneOrMoreLabels() throws {
        let p = try #require(HostPattern("*.Example.com."))
        #expect(p.text == "*.example.com")
        #expect(p.hasWildcard)
        #expect(p.matches(normalizedHost: "api.example.com"))
        #expect(p.matches(normalizedHost: "a.b.example.com"))
        #expect(!p.matches(normalizedHost: "example.com"))
        #expect(!p.matches(normalizedHost: "badexample.com"))
        #expect(!p.matches(normalizedHost: "api.example.org"))
        #expect(!p.matches(normalizedHost: ""))
    }

    @Test func innerWildcardStandsForExactlyOneLabel() throws {
        let p = try #require(HostPattern("api.*.example.com"))
        #expect(p.matches(normalizedHost: "api.eu.example.com"))
        #expect(!p.matches(normalizedHost: "api.example.com"))
        #expect(!p.matches(normalizedHost: "api.a.b.example.com"))
        #expect(!p.matches(normalizedHost: "web.eu.example.com"))
    }

    @Test func exactPatternsMatchWholeNamesOnly() throws {
        let p = try #require(HostPattern("example.com"))
        #expect(!p.hasWildcard)
        #expect(p.matches(normalizedHost: "example.com"))
        #expect(!p.matches(normalizedHost: "www.example.com"))
        #expect(!p.matches(normalizedHost: "com"))
        #expect(!p.matches(normalizedHost: "xexample.com"))
        #expect(HostPattern("*") == nil)
        #expect(HostPattern("a..b") == nil)
        #expect(HostPattern("bad host") == nil)
    }

    @Test func inPlaceMatchingAgreesWithLabelByLabelComparison() throws {
        let patterns = ["*.example.com", "example.com", "api.*.example.com", "*.co.uk", "a.b.c", "*.b.c", "x.*.*.c"]
            .compactMap(HostPattern.init)
        let hosts = ["example.com", "api.example.com", "a.b.example.com", "api.eu.example.com", "bbc.co.uk",
                     "news.bbc.co.uk", "co.uk", "a.b.c", "b.c", "z.a.b.c", "x.y.z.c", "x.y.c", ".b.c", "a..c",
                     "", "c", "example.com.evil", "eexample.com"]
        for p in patterns {
            for h in hosts {
                #expect(p.matches(normalizedHost: h) == reference(p.text, h), "\(p.text) vs \(h)")
            }
        }
    }

    @Test func normalizeLowersAndStripsPortsBracketsAndTheTrailingDot() {
        #expect(HostPattern.normalize("api.example.com") == "api.example.com")
        #expect(HostPattern.normalize("API.Example.COM") == "api.example.com")
        #expect(HostPattern.normalize("api.example.com.") == "api.example.com")
        #expect(HostPattern.normalize("api.example.com:8443") == "api.example.com")
        #expect(HostPattern.normalize("[2001:DB8::1]:443") == "2001:db8::1")
        #expect(HostPattern.normalize("2001:db8::1") == "2001:db8::1")
        #expect(HostPattern.normalize("") == "")
    }

    @Test func registrableDomainKeepsTheLabelsAPublicSuffixNeeds() {
        #expect(RegistrableDomain.of("api.example.com") == "example.com")
        #expect(RegistrableDomain.of("a.b.Example.COM.") == "example.com")
        #expect(RegistrableDomain.of("example.com") == "example.com")
        #expect(RegistrableDomain.of("localhost") == "localhost")
        #expect(RegistrableDomain.of("news.bbc.co.uk") == "bbc.co.uk")
        #expect(RegistrableDomain.of("bbc.co.uk") == "bbc.co.uk")
        #expect(RegistrableDomain.of("shop.taobao.com.cn:443") == "taobao.com.cn")
        // Empty labels are skipped, as a split that omits them would.
        #expect(RegistrableDomain.of("a.b..example.com") == "example.com")
        #expect(RegistrableDomain.of("x.bbc..co.uk") == "bbc.co.uk")
    }

    /// The rule written plainly: split both into labels and compare them from the end.
    private func reference(_ pattern: String, _ host: String) -> Bool {
        let h = host.split(separator: ".", omittingEmptySubsequences: false)
        var labels = pattern.split(separator: ".", omittingEmptySubsequences: false)
        if labels.first == "*" {
            labels.removeFirst()
            guard h.count > labels.count else { return false }
            return zip(h.suffix(labels.count), labels).allSatisfy { $1 == "*" || $0 == $1 }
        }
        guard h.count == labels.count else { return false }
        return zip(h, labels).allSatisfy { $1 == "*" || $0 == $1 }
    }
}
