import CustomsCore
import CustomsTestSupport
import Foundation
import Testing
@testable import Geo

@Suite struct CLITests {
    let bin = TestPaths.customsBinary.path
    let table = Fixture.path("table.csv")

    @Test func lookupFromArguments() throws {
        let r = try runProcess(bin, ["geo", "lookup", "--table", table, "8.8.8.8", "127.0.0.1", "1.0.4.0", "2400:3200::1", "::ffff:1.0.1.1"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == "8.8.8.8\tUS\n127.0.0.1\tloopback\n1.0.4.0\tunknown\n2400:3200::1\tCN\n::ffff:1.0.1.1\tCN\n")
    }

    @Test func lookupMalformedArgumentIsReportedAndFails() throws {
        let r = try runProcess(bin, ["geo", "lookup", "--table", table, "8.8.8.8", "8.8.8.888"])
        #expect(r.status == 1)
        #expect(r.stdout == "8.8.8.8\tUS\n")
        #expect(r.stderr.contains("'8.8.8.888' is not an IP address"))
    }

    @Test func lookupFromStdinWithOverridesAndJSON() throws {
        let input = "8.8.8.8\n  119.28.1.1 \nnot-an-ip\n\r\n2001:db8::1\r\n10.0.0.1"
        let r = try runProcess(bin, ["geo", "lookup", "--table", table, "--overrides", Fixture.path("overrides.csv"), "--json"],
                               stdin: Data(input.utf8))
        #expect(r.status == 1)
        #expect(r.stdout == """
            {"ip":"8.8.8.8","answer":"JP","country":"JP"}
            {"ip":"119.28.1.1","answer":"HK","country":"HK"}
            {"ip":"2001:db8::1","answer":"documentation","country":null,"special":"documentation"}
            {"ip":"10.0.0.1","answer":"private","country":null,"special":"private"}

            """)
        #expect(r.stderr.contains("line 3: 'not-an-ip' is not an IP address"))
    }

    @Test func lookupManyLinesFromStdin() throws {
        var input = ""
        for i in 0..<20_000 { input += "1.0.\(i % 4).\(i % 256)\n" }
        let r = try runProcess(bin, ["geo", "lookup", "--table", table], stdin: Data(input.utf8))
        #expect(r.status == 0)
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.count == 20_000)
        #expect(lines[0] == "1.0.0.0\tAU" && lines[1] == "1.0.1.1\tCN" && lines[19_999] == "1.0.3.31\tCN")
    }

    @Test func importThenStatsThenLookup() throws {
        let dir = try TestPaths.temporaryDirectory("geo-cli")
        let out = dir.appendingPathComponent("rir.bin").path
        let inputs = ["delegated-apnic-extended-latest", "delegated-arin-extended-latest", "delegated-ripencc-extended-latest"].map(Fixture.path)
        let r = try runProcess(bin, ["geo", "import", "--format", "rir"] + inputs + ["--out", out])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("wrote \(out): 4 IPv4 ranges, 2 IPv6 ranges, 3 countries, date 2026-10-26"))
        #expect(r.stderr.contains("warning: ") && r.stderr.contains("code 'EU'"))
        let s = try runProcess(bin, ["geo", "stats", "--table", out])
        #expect(s.status == 0)
        for needle in ["ipv4_ranges\t4\n", "ipv6_ranges\t2\n", "countries\t3\n", "date\t2026-10-26\n", "source\trir: delegated-apnic-extended-latest"] {
            #expect(s.stdout.contains(needle), "\(needle) in \(s.stdout)")
        }
        let l = try runProcess(bin, ["geo", "lookup", "--table", out, "8.8.8.8", "5.5.5.5"])
        #expect(l.stdout == "8.8.8.8\tUS\n5.5.5.5\tunknown\n")
    }

    @Test func importToCSVAndEveryFormatFlag() throws {
        let dir = try TestPaths.temporaryDirectory("geo-cli")
        for (format, names) in ImportTests.formats {
            let out = dir.appendingPathComponent("\(format).csv").path
            let r = try runProcess(bin, ["geo", "import", "--format", format.rawValue] + names.map(Fixture.path) + ["--out", out])
            #expect(r.status == 0, "\(format): \(r.stderr)")
            let csv = try String(contentsOfFile: out, encoding: .utf8)
            #expect(csv.hasPrefix("start,end,country\n1.0.0.0,1.0.0.255,AU\n1.0.1.0,1.0.3.255,CN\n8.8.8.0,8.8.8.255,US\n"), "\(format)")
        }
    }

    @Test func importErrorShowsFileAndLine() throws {
        let p = try temporaryFile("bad.csv", "1.0.0.0,1.0.0.255,AU\n1.0.0.0,1.0.0.255,QQ\n")
        let r = try runProcess(bin, ["geo", "import", "--format", "csv", p, "--out", p + ".bin"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("\(p):2: unknown country code 'QQ' (not ISO 3166-1 alpha-2)"))
        let u = try runProcess(bin, ["geo", "import", "--format", "shapefile", p, "--out", p + ".bin"])
        #expect(u.status != 0 && u.stderr.contains("unknown format 'shapefile'"))
    }

    @Test func defaultTableIsTheShippedOne() throws {
        let r = try runProcess(bin, ["geo", "stats"], environment: ["CUSTOMS_COUNTRY_TABLE": ""])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("Policies/country-table.bin\n"))
        #expect(r.stdout.contains("date\t2026-10-27\n") && r.stdout.contains("ipv4_ranges\t143389\n"))
        let e = try runProcess(bin, ["geo", "lookup", "1.1.1.1"], environment: ["CUSTOMS_COUNTRY_TABLE": table])
        #expect(e.stdout == "1.1.1.1\tunknown\n")
    }
}
