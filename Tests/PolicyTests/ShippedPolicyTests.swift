import CustomsCore
import CustomsTestSupport
import Foundation
import Policy
import Testing

@Suite struct ShippedPolicyTests {
    static let regimeIDs = ["cn-2024-provisions", "cn-2022-measures", "cn-2021-draft", "us-doj-2025-bulk"]

    @Test(arguments: regimeIDs) func shippedRegimeLoads(id: String) throws {
        let r = try PolicySnapshot.loadRegime(path: "\(shippedPolicies)/regimes/\(id).yaml")
        #expect(r.id == id)
        #expect(!r.ladder.isEmpty)
    }

    @Test func exampleSiteLoadsWithItsRegime() throws {
        let p = try PolicySnapshot.load(sitePath: "\(shippedPolicies)/example-site.yaml")
        #expect(p.regimes.map(\.id) == ["cn-2024-provisions"])
        #expect(p.site.recipients.map(\.id) == ["acme-crm", "payroll-hk"])
        #expect(p.calendar == .chinaStandardTime)
        #expect(p.blockedByURL == "https://privacy.example.cn/egress")
        #expect(p.bodyHoldLimit == 8 << 20)
        #expect(p.uninspectableAction == .block && p.tunnelAction == .requireInterception)
        #expect(p.gateway.listen == ["127.0.0.1:3128", "[::1]:3128"])
        #expect(p.gateway.clients.first?.name == "hr-system")
        #expect(p.gateway.timeouts["tunnel_idle"] == 300)
        #expect(p.countryOverrides.first?.country == "SG")
        #expect(p.extraFieldNames[.email] == ["contact_mail"])
        // 3 years from 2024-09-01, inclusive last day.
        let sa = try #require(p.site.approvals.first { $0.id == "SA-2024-0007" })
        #expect(sa.validUntil(kind: p.regimes[0].approvalKinds["security_assessment"])?.description == "2027-08-31")
    }

    @Test func defaultSiteIsFoundAndLoads() throws {
        let path = try #require(PolicySnapshot.shippedDefaultSitePath())
        let p = try PolicySnapshot.load(sitePath: path)
        #expect(p.regimes.first?.id == "cn-2024-provisions")
        #expect(p.site.mode == .enforce)
    }

    @Test func recipientMatching() throws {
        let p = try PolicySnapshot.load(sitePath: "\(shippedPolicies)/example-site.yaml")
        func id(_ host: String, sni: String? = nil, ip: String? = nil) -> String {
            p.recipient(host: host, sni: sni, address: ip.flatMap { IPAddress($0) }, country: "DE").id
        }
        #expect(id("crm.acme.com") == "acme-crm")
        #expect(id("CRM.Acme.com.:443") == "acme-crm")
        #expect(id("eu.acme-crm.com") == "acme-crm")
        #expect(id("a.b.acme-crm.com") == "acme-crm")
        #expect(id("api.eu.acme.com") == "acme-crm")          // wildcard in the middle: one label
        #expect(id("api.a.b.acme.com") == "acme.com")         // not two labels
        #expect(id("acme-crm.com") == "acme-crm.com")         // *.x needs at least one label
        #expect(id("", sni: "t.acme-crm.com") == "acme-crm")
        #expect(id("unknown.example", ip: "203.0.113.7") == "acme-crm")
        #expect(id("www.shop.foo.co.uk") == "foo.co.uk")
        #expect(id("cdn.img.example.com.cn") == "example.com.cn")
        #expect(id("", ip: "192.0.2.1") == "192.0.2.1")
        let m = p.recipient(host: "x.payroll.example.com.hk", sni: nil, address: nil, country: "US")
        #expect(m.configured && m.country == "HK")              // fixed country wins
        let u = p.recipient(host: "api.other.io", sni: nil, address: nil, country: "US")
        #expect(!u.configured && u.country == "US" && u.name == "other.io")
    }

    @Test func outsideAndUnknownCountry() throws {
        let p = try PolicySnapshot.load(sitePath: "\(shippedPolicies)/example-site.yaml")
        #expect(!p.isOutside("CN"))
        #expect(p.isOutside("HK") && p.isOutside("TW") && p.isOutside("US"))
        #expect(p.isOutside(nil))
    }

    @Test func categoryMappingFollowsTheChosenStandard() throws {
        let f = try PolicyFixture(); defer { f.cleanup() }
        let newer = try PolicySnapshot.load(sitePath: "\(shippedPolicies)/example-site.yaml")
        #expect(newer.categories(forKinds: [.idNumber], sensitive: false) == [.pi])
        #expect(newer.categories(forKinds: [.email, .health], sensitive: false) == [.pi, .sensitive])
        #expect(newer.categories(forKinds: [.email], sensitive: true) == [.pi, .sensitive])
        _ = try f.writeSite("""
        regimes: [cn-2024-provisions, cn-2022-measures]
        inspection: {sensitivity_mapping: gb-t-35273-2020}
        """)
        let older = try PolicySnapshot.load(sitePath: f.sitePath)
        // ID numbers are SPI under GB/T 35273-2020; the 2022 Measures also count an SPI person as PI.
        #expect(older.categories(forKinds: [.idNumber], sensitive: false) == [.pi, .sensitive])
        _ = try f.writeSite("regimes: [cn-2024-provisions]\ninspection: {sensitivity_mapping: gb-t-35273-2020}\n")
        let only2024 = try PolicySnapshot.load(sitePath: f.sitePath)
        #expect(only2024.categories(forKinds: [.idNumber], sensitive: false) == [.sensitive])
    }

    @Test func usRegimeCountsPerCounterpartyInCountriesOfConcern() throws {
        let f = try PolicyFixture(); defer { f.cleanup() }
        _ = try f.writeSite("regimes: [us-doj-2025-bulk]\n")
        let p = try PolicySnapshot.load(sitePath: f.sitePath)
        for c in ["CN", "HK", "MO", "CU", "IR", "KP", "RU", "VE"] { #expect(p.isOutside(CountryCode(c)!), "\(c)") }
        #expect(!p.isOutside("TW") && !p.isOutside("DE") && !p.isOutside("US"))
        let keys = p.countKeys(forRecipient: "r1")
        #expect(keys.contains(CountKey(scope: .recipient("r1"), category: "precise_geolocation", window: .rolling12Months)))
        #expect(p.categories(forKinds: [.geo], sensitive: false) == ["precise_geolocation"])
    }

    @Test func countKeysCoverCompanyAndRecipient() throws {
        let p = try PolicySnapshot.load(sitePath: "\(shippedPolicies)/example-site.yaml")
        let keys = p.countKeys(forRecipient: "acme-crm")
        #expect(keys == [
            CountKey(scope: .company, category: .pi, window: .calendarYear),
            CountKey(scope: .company, category: .sensitive, window: .calendarYear),
            CountKey(scope: .recipient("acme-crm"), category: .pi, window: .calendarYear),
            CountKey(scope: .recipient("acme-crm"), category: .sensitive, window: .calendarYear),
        ])
    }
}

