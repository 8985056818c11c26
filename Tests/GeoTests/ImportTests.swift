import CustomsCore
import CustomsTestSupport
import Foundation
import Testing
@testable import Geo

@Suite struct ImportTests {
    static let formats: [(TableFormat, [String])] = [
        (.csv, ["table.csv"]),
        (.dbip, ["dbip-country-lite.csv"]),
        (.ip2location, ["IP2LOCATION-LITE-DB1.CSV"]),
        (.ip2location, ["IP2LOCATION-LITE-DB1.IPV6.CSV"]),
        (.geolite2, ["GeoLite2-Country-Blocks-IPv4.csv", "GeoLite2-Country-Blocks-IPv6.csv", "GeoLite2-Country-Locations-en.csv"]),
        (.rir, ["delegated-apnic-extended-latest", "delegated-arin-extended-latest", "delegated-ripencc-extended-latest"]),
        (.tor, ["geoip", "geoip6"]),
    ]

    @Test(arguments: 0..<formats.count)
    func everyFormatGivesTheSameTable(_ i: Int) throws {
        let (format, names) = Self.formats[i]
        let (t, _) = try CountryTable.importing(format, from: names.map(Fixture.path))
        for (a, expected) in fixtureExpectations {
            if format == .ip2location && names[0] == "IP2LOCATION-LITE-DB1.CSV" && a.contains(":") && !a.contains(".") { continue }
            #expect(answer(t, a) == expected, "\(format) \(a)")
        }
        // Every format describes the same ranges, so the merged tables are identical.
        let reference = try CountryTable.load(path: Fixture.path("table.csv"))
        #expect(t.data.v4 == reference.data.v4, "\(format)")
        if names[0] != "IP2LOCATION-LITE-DB1.CSV" { #expect(t.data.v6 == reference.data.v6, "\(format)") }
    }

    @Test func warningsForDroppedCodesAndDates() throws {
        let dir = Fixture.dir.path
        let (tor, torWarnings) = try CountryTable.importing(.tor, from: ["\(dir)/geoip", "\(dir)/geoip6"])
        #expect(torWarnings == [
            "\(dir)/geoip6:2: dropped 1 IPv6 range with code 'AP', which is not an ISO 3166-1 country (309485009821345068724781056 addresses; the first is on this line)",
            "\(dir)/geoip:5: dropped 1 IPv4 range with code 'EU', which is not an ISO 3166-1 country (256 addresses; the first is on this line)",
        ])
        #expect(tor.info.date == nil)
        let (rir, rirWarnings) = try CountryTable.importing(.rir, from: ImportTests.formats[5].1.map(Fixture.path))
        #expect(rirWarnings.count == 1 && rirWarnings[0].contains("delegated-ripencc-extended-latest:2: dropped 1 IPv4 range with code 'EU'"))
        #expect(rir.info.date == "2026-10-26")
        #expect(rir.info.rangesV4 == 4 && rir.info.rangesV6 == 2 && rir.info.countries == 3)
        let (geo, geoWarnings) = try CountryTable.importing(.geolite2, from: ImportTests.formats[4].1.map(Fixture.path))
        #expect(geoWarnings.count == 1 && geoWarnings[0].contains("GeoLite2-Country-Blocks-IPv4.csv:5: dropped 1 IPv4 range with code '(empty)'"))
        #expect(geo.info.source == "geolite2: GeoLite2-Country-Blocks-IPv4.csv, GeoLite2-Country-Blocks-IPv6.csv, GeoLite2-Country-Locations-en.csv")
        let (dated, _) = try CountryTable.importing(.csv, from: [Fixture.path("table.csv")], date: "2026-11-01")
        #expect(dated.info.date == "2026-11-01")
    }

    /// (format, file name, content, expected error after "path:")
    static let broken: [(TableFormat, String, String, String)] = [
        (.csv, "t.csv", "start,end,country\n1.0.0.0,1.0.0.255,AU\n1.0.0.128,1.0.1.255,CN\n",
         "3: range 1.0.0.128-1.0.1.255 overlaps the range on line 2 (1.0.0.0-1.0.0.255)"),
        (.csv, "t.csv", "1.0.1.0,1.0.1.255,AU\n1.0.0.0,1.0.0.255,CN\n",
         "2: range 1.0.0.0-1.0.0.255 is out of order: it starts before the range on line 1 (1.0.1.0-1.0.1.255)"),
        (.csv, "t.csv", "1.0.0.0,1.0.0.255,XX\n", "1: unknown country code 'XX' (not ISO 3166-1 alpha-2)"),
        (.csv, "t.csv", "1.0.0.0,1.0.0.255,EU\n", "1: unknown country code 'EU' (not ISO 3166-1 alpha-2)"),
        (.csv, "t.csv", "# c\n\n1.0.0.0,1.0.0.255\n", "3: expected 3 fields (start,end,country), found 2"),
        (.csv, "t.csv", "1.0.0.0,1.0.0.256,AU\n", "1: '1.0.0.256' is not an IP address"),
        (.csv, "t.csv", "1.0.0.9,1.0.0.1,AU\n", "1: range end 1.0.0.1 is before its start 1.0.0.9"),
        (.csv, "t.csv", "1.0.0.0,::1,AU\n", "1: start is IPv4 but end '::1' is IPv6"),
        (.dbip, "d.csv", "1.0.0.0,1.0.0.255,AU\n1.0.0.0,1.0.0.255,AU\n",
         "2: range 1.0.0.0-1.0.0.255 overlaps the range on line 1 (1.0.0.0-1.0.0.255)"),
        (.ip2location, "i.csv", "\"16777216\",\"16777471\",\"AU\"\n",
         "1: expected 4 fields (\"ip_from\",\"ip_to\",\"country_code\",\"country_name\"), found 3"),
        (.ip2location, "i.csv", "\"16777216\",\"1677747x\",\"AU\",\"Australia\"\n", "1: ip_to '1677747x' is not an integer address"),
        (.ip2location, "i.csv", "\"16777216\",\"16777471\",\"AU,\"Australia\"\n", "1: unbalanced double quote"),
        (.tor, "geoip", "16777216,16777471,AU\n16777300,16777500,CN\n",
         "2: range 1.0.0.84-1.0.1.28 overlaps the range on line 1 (1.0.0.0-1.0.0.255)"),
        (.tor, "geoip", "4294967296,4294967296,AU\n", "1: '4294967296' is not an IPv4 address as an integer"),
        (.rir, "delegated", "apnic|AU|ipv4|1.0.0.0|0|20110811|assigned\n", "1: '0' is not a valid address count for 1.0.0.0"),
        (.rir, "delegated", "apnic|CN|ipv6|2400:3200::1|32|20050412|allocated\n", "1: 2400:3200::1/32 has host bits set"),
        (.rir, "delegated", "apnic|AU|ipv5|1.0.0.0|256|20110811|assigned\n", "1: unknown record type 'ipv5'"),
        (.rir, "delegated", "apnic|AU|ipv4|1.0.0.0|256|20110811|assigned\napnic|CN|ipv4|1.0.0.128|256|20110811|assigned\n",
         "2: range 1.0.0.128-1.0.1.127 overlaps 1.0.0.0-1.0.0.255 from PATH:1"),
        (.geolite2, "GeoLite2-Country-Blocks-IPv4.csv", "network,geoname_id,registered_country_geoname_id\n1.0.0.0/24,42,42\n",
         "no GeoLite2 Locations file among the inputs (needed to map geoname_id to a country)"),
        (.mmdb, "x.mmdb", "not a database", "not a MaxMind DB file (no metadata marker)"),
    ]

    @Test(arguments: 0..<broken.count)
    func brokenInputsNameFileAndLine(_ i: Int) throws {
        let (format, name, content, expected) = Self.broken[i]
        let p = try temporaryFile(name, content)
        let sep = expected.first?.isNumber == true ? ":" : ": "
        #expect(geoError { _ = try CountryTable.importing(format, from: [p]) } == p + sep + expected.replacingOccurrences(of: "PATH", with: p))
    }

    @Test func geoliteWithUnknownGeonameID() throws {
        let loc = Fixture.path("GeoLite2-Country-Locations-en.csv")
        let p = try temporaryFile("GeoLite2-Country-Blocks-IPv4.csv", "network,geoname_id,registered_country_geoname_id\n1.0.0.0/24,42,42\n")
        #expect(geoError { _ = try CountryTable.importing(.geolite2, from: [p, loc]) } == "\(p):2: geoname_id 42 is not in the Locations file")
        let q = try temporaryFile("GeoLite2-Country-Blocks-IPv4.csv", "network,geoname_id,registered_country_geoname_id\n1.0.0.1/24,2077456,2077456\n")
        #expect(geoError { _ = try CountryTable.importing(.geolite2, from: [q, loc]) } == "\(q):2: 1.0.0.1/24 has host bits set")
    }

    @Test func missingFile() {
        #expect(geoError { _ = try CountryTable.load(path: "/nonexistent/table.csv") } == "/nonexistent/table.csv: cannot read: No such file or directory")
    }
}
