import Testing
import Foundation
#if canImport(Glibc)
import Glibc
#endif
@testable import CustomsCore

@Suite struct IPAddressTests {
    @Test func parsesAndPrintsBothFamilies() {
        #expect(IPAddress("8.8.8.8") == .v4(0x0808_0808))
        #expect(IPAddress("8.8.8.8")?.description == "8.8.8.8")
        #expect(IPAddress("2001:db8::1")?.description == "2001:db8::1")
        #expect(IPAddress("[::1]")?.description == "::1")
        #expect(IPAddress("1.2.3") == nil)
        #expect(IPAddress("256.1.1.1") == nil)
        #expect(IPAddress("gibberish") == nil)
    }

    @Test func mappedAddressesBecomeIPv4() {
        #expect(IPAddress("::ffff:1.2.3.4")?.v4MappedOrSelf == IPAddress("1.2.3.4"))
        #expect(IPAddress("::1")?.v4MappedOrSelf == IPAddress("::1"))
    }

    @Test func networksContainTheirEdgesOnly() throws {
        let n = try #require(IPNetwork("10.1.2.3/8"))
        #expect(n.description == "10.0.0.0/8")
        #expect(n.contains(IPAddress("10.0.0.0")!))
        #expect(n.contains(IPAddress("10.255.255.255")!))
        #expect(!n.contains(IPAddress("11.0.0.0")!))
        #expect(!n.contains(IPAddress("9.255.255.255")!))
        #expect(n.contains(IPAddress("::ffff:10.9.9.9")!))
        let v6 = try #require(IPNetwork("fe80::/10"))
        #expect(v6.contains(IPAddress("febf:ffff::1")!))
        #expect(!v6.contains(IPAddress("fec0::")!))
        #expect(IPNetwork("0.0.0.0/0")!.contains(IPAddress("255.255.255.255")!))
        #expect(IPNetwork("1.2.3.4/33") == nil)
    }
}

@Suite struct CalendarTests {
    @Test func windowsStartAtLocalMidnight() {
        let cst = CivilCalendar.chinaStandardTime
        // 2026-01-01T00:30+08:00 is 2025-12-31T16:30Z: already the new year in China.
        let t = Date(timeIntervalSince1970: 1_767_198_600)
        #expect(cst.civilDate(t) == (2026, 1, 1))
        #expect(cst.windowStart(.calendarYear, now: t).timeIntervalSince1970 == 1_767_196_800)
        #expect(CivilCalendar.utc.civilDate(t) == (2025, 12, 31))
    }
}

@Suite struct SharedTextTests {
    @Test func civilDaysRoundTrip() {
        for day in [-800_000, -1, 0, 1, 10_957, 20_454, 20_513, 2_932_896] {
            let (y, m, d) = CivilDays.date(fromDayNumber: day)
            #expect(CivilDays.dayNumber(year: y, month: m, day: d) == day)
        }
        #expect(CivilDays.date(fromDayNumber: 0) == (1970, 1, 1))
        #expect(CivilDays.date(fromDayNumber: 20_513) == (2026, 3, 1))
        #expect(CivilDays.dayNumber(year: 2024, month: 2, day: 29) == 19_782)
    }

    @Test func jsonQuoting() {
        #expect(JSONText.quote("a\"b\\c\nd\u{1}\u{2028}é") == "\"a\\\"b\\\\c\\nd\\u0001\\u2028é\"")
    }
}

@Suite struct DetectorKindTests {
    @Test func ordinalsAreTheAllCasesIndices() {
        for (i, k) in DetectorKind.allCases.enumerated() { #expect(k.ordinal == i, "\(k)") }
        #expect(DetectorKind.allCases.count <= 31, "masks keep bit 31 for the sensitive flag")
    }
}

@Suite struct IPAddressParsingTests {
    /// What inet_pton makes of `text`, the reference the byte-level fast path must agree with.
    private func reference(_ text: String) -> IPAddress? {
        var s = text
        if s.hasPrefix("[") && s.hasSuffix("]") { s = String(s.dropFirst().dropLast()) }
        if let zone = s.firstIndex(of: "%") { s = String(s[..<zone]) }
        var a4 = in_addr()
        if inet_pton(AF_INET, s, &a4) == 1 { return .v4(UInt32(bigEndian: a4.s_addr)) }
        var a6 = in6_addr()
        if inet_pton(AF_INET6, s, &a6) == 1 { return IPAddress(in6: a6) }
        return nil
    }

    @Test(arguments: ["127.0.0.1", "0.0.0.0", "255.255.255.255", "10.1.2.3", "1.2.3", "1.2.3.4.5", "01.2.3.4",
                      "1.2.3.04", "256.1.1.1", "1..2.3", ".1.2.3", "1.2.3.4.", "1.2.3.0400", "", "example.com",
                      "api.acme.com", "deadbeef", "face.b00c", "::1", "[::1]", "fe80::1%eth0", "[fe80::1%25eth0]",
                      "::ffff:1.2.3.4", "2001:db8::", "2001:db8:::1", "1.2.3.4%x", "localhost", "a", "1e100.net",
                      "123", "9999999999.1.1.1"])
    func fastPathAgreesWithInetPton(_ text: String) {
        #expect(IPAddress(text) == reference(text), "\(text)")
    }

    @Test func randomDottedQuadsAgree() {
        var rng = SplitMix64(state: 7)
        for _ in 0..<5_000 {
            let parts = (0..<Int(rng.next() % 3 + 3)).map { _ -> String in
                switch rng.next() % 5 {
                case 0: return String(rng.next() % 1000)
                case 1: return "0" + String(rng.next() % 100)
                case 2: return ""
                default: return String(rng.next() % 256)
                }
            }
            let text = parts.joined(separator: ".")
            #expect(IPAddress(text) == reference(text), "\(text)")
        }
    }
}
