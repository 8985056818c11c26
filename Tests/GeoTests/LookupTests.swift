import CustomsCore
import CustomsTestSupport
import Foundation
import Testing
@testable import Geo

@Suite struct LookupTests {
    let table: CountryTable

    init() throws { table = try CountryTable.load(path: Fixture.path("table.csv")) }

    @Test func boundariesGapsAndBothFamilies() {
        for (a, expected) in fixtureExpectations {
            #expect(answer(table, a) == expected, "\(a)")
        }
    }

    @Test func specialRangesAreNamed() {
        let cases = [
            ("10.1.2.3", "private"), ("172.16.0.1", "private"), ("172.32.0.1", "unknown"), ("192.168.1.1", "private"),
            ("100.64.0.1", "cgnat"), ("169.254.1.1", "link_local"), ("192.0.2.1", "documentation"),
            ("198.51.100.7", "documentation"), ("203.0.113.255", "documentation"), ("224.0.0.1", "multicast"),
            ("0.0.0.0", "unspecified"), ("0.0.0.1", "reserved"), ("255.255.255.255", "broadcast"),
            ("255.255.255.254", "reserved"), ("198.18.0.1", "benchmarking"), ("::", "unspecified"),
            ("fe80::1", "link_local"), ("fd12:3456::1", "private"), ("2001:db8::1", "documentation"),
            ("ff02::1", "multicast"), ("::ffff:10.0.0.1", "private"), ("::ffff:127.0.0.1", "loopback"),
        ]
        for (a, expected) in cases { #expect(answer(table, a) == expected, "\(a)") }
        #expect(table.lookup(ip("127.0.0.1")) == .special(.loopback))
        #expect(table.lookup(ip("8.8.8.8")) == .country("US"))
        #expect(table.lookup(ip("1.0.4.0")) == .unknown)
    }

    @Test func translatedAddressesUseTheIPv4Inside() {
        #expect(answer(table, "64:ff9b::808:808") == "US")      // NAT64 of 8.8.8.8
        #expect(answer(table, "2002:0808:0808::1") == "US")     // 6to4 of 8.8.8.8
        #expect(answer(table, "2002:7f00:1::") == "loopback")
    }

    @Test func overridesWin() throws {
        let o = try GeoOverrides.loadCSV(path: Fixture.path("overrides.csv"))
        #expect(o.count == 3)
        #expect(o[0].note == "Tencent Cloud Hong Kong (registered to a mainland company)")
        #expect(o[1].note == "pinned for a test")
        #expect(o[2].note == nil)
        let t = table.applying(overrides: o)
        #expect(answer(t, "119.28.5.5") == "HK")
        #expect(answer(t, "119.27.255.255") == "unknown")
        #expect(answer(t, "119.29.0.0") == "CN")
        #expect(answer(t, "8.8.8.7") == "US")
        #expect(answer(t, "8.8.8.8") == "JP")
        #expect(answer(t, "8.8.8.9") == "US")
        #expect(answer(t, "::ffff:8.8.8.8") == "JP")
        #expect(answer(t, "2001:4860:4860::8888") == "SG")
        #expect(answer(t, "2001:4861::") == "unknown")
        #expect(t.info.overrides == 3)
        // The original is unchanged, and a more specific override wins over a broader one.
        #expect(answer(table, "8.8.8.8") == "US")
        let nested = table.applying(overrides: [
            GeoOverride(network: IPNetwork("10.0.0.0/8")!, country: "DE"),
            GeoOverride(network: IPNetwork("10.1.0.0/16")!, country: "FR"),
            GeoOverride(network: IPNetwork("::ffff:9.9.9.0/120")!, country: "CH"),
        ])
        #expect(answer(nested, "10.0.0.1") == "DE")
        #expect(answer(nested, "10.1.2.3") == "FR")
        #expect(answer(nested, "10.2.0.0") == "DE")
        #expect(answer(nested, "9.9.9.9") == "CH")
    }

    /// Boundaries inside a /64 take the exact 128-bit path; whole /64s the fast one.
    @Test func ipv6BoundariesInsideA64() {
        let t = table.applying(overrides: [
            GeoOverride(network: IPNetwork("2001:4860:4860::8888/128")!, country: "SG"),
            GeoOverride(network: IPNetwork("2001:4860:4860:0:8000::/65")!, country: "JP"),
            GeoOverride(network: IPNetwork("2400:3200:1::/48")!, country: "HK"),
        ])
        let cases = [("2001:4860:4860::8887", "US"), ("2001:4860:4860::8888", "SG"), ("2001:4860:4860::8889", "US"),
                     ("2001:4860:4860:0:7fff:ffff:ffff:ffff", "US"), ("2001:4860:4860:0:8000::", "JP"),
                     ("2001:4860:4860:0:ffff:ffff:ffff:ffff", "JP"), ("2001:4860:4860:1::", "US"),
                     ("2001:4860:485f:ffff:ffff:ffff:ffff:ffff", "US"), ("2400:3200:0:ffff:ffff:ffff:ffff:ffff", "CN"),
                     ("2400:3200:1::", "HK"), ("2400:3200:1:ffff:ffff:ffff:ffff:ffff", "HK"), ("2400:3200:2::", "CN"),
                     ("::", "unspecified"), ("::1", "loopback"), ("::2", "unknown"), ("0:0:0:1::", "unknown")]
        for (a, expected) in cases { #expect(answer(t, a) == expected, "\(a)") }
    }

    @Test func overrideErrorsNameFileAndLine() throws {
        let p = try temporaryFile("o.csv", "1.2.3.0/24,DE\n1.2.3.4/24,DE\n")
        #expect(geoError { _ = try GeoOverrides.loadCSV(path: p) } == "\(p):2: 1.2.3.4/24 has host bits set (the network is 1.2.3.0/24)")
        let q = try temporaryFile("o.csv", "# x\n1.2.3.0/24,EU,europe\n")
        #expect(geoError { _ = try GeoOverrides.loadCSV(path: q) } == "\(q):2: unknown country code 'EU' (not ISO 3166-1 alpha-2)")
        let r = try temporaryFile("o.csv", "1.2.3.0/33,DE\n")
        #expect(geoError { _ = try GeoOverrides.loadCSV(path: r) }?.hasPrefix("\(r):1: '1.2.3.0/33' is not a network") == true)
    }

    @Test func countryCodes() {
        #expect(CountryCodes.isKnown("CN"))
        #expect(CountryCodes.isKnown("XK"))
        #expect(!CountryCodes.isKnown("EU"))
        #expect(!CountryCodes.isKnown("AP"))
        #expect(!CountryCodes.isKnown("ZZ"))
        #expect(CountryCodes.all.count == 250)
    }

    @Test func addressTextMatchesInetPton() {
        let samples = ["::", "::1", "1::", "1:2:3:4:5:6:7:8", "1::8", "fe80::1:2", "::ffff:1.2.3.4",
                       "2001:db8:0:0:1::1", "2001:DB8::A", "1:2:3:4:5:6:1.2.3.4", "::1.2.3.4", "ab:cd::ef:1.2.3.4"]
        for s in samples {
            let bytes = Array(s.utf8)
            let mine = bytes.withUnsafeBufferPointer { GeoText.address($0) }
            #expect(mine == IPAddress(s), "\(s)")
        }
        let bad = ["", ":", ":::", "1:::2", "1::2::3", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "12345::", "1.2.3",
                   "1.2.3.256", "1.2.3.4.5", "01.2.3.4x", "g::", "1:2:3:4:5:6:7:8::", "1:", ":1", "::1.2.3"]
        for s in bad {
            let bytes = Array(s.utf8)
            #expect(bytes.withUnsafeBufferPointer { GeoText.address($0) } == nil, "\(s)")
        }
    }
}
