import CustomsCore
import CustomsTestSupport
import Foundation
import Testing
@testable import Geo

@Suite(.serialized) struct ShippedTableTests {
    static let csv = try! CountryTable.load(path: Fixture.shippedCSV)

    @Test func answersAsItsSourceDoes() {
        // Each checked against ../shared/data/country-table.csv.gz (registration country).
        let known = [("8.8.8.8", "US"), ("1.0.1.1", "CN"), ("119.28.1.1", "CN"), ("223.5.5.5", "CN"),
                     ("1.1.1.1", "AU"), ("9.9.9.9", "US"), ("2001:4860:4860::8888", "US"),
                     ("2400:3200::1", "CN"), ("::ffff:223.5.5.5", "CN")]
        for (a, cc) in known { #expect(answer(Self.csv, a) == cc, "\(a)") }
        let i = Self.csv.info
        #expect(i.rangesV4 == 143_389 && i.rangesV6 == 69_252 && i.countries == 238)
    }

    /// Every range of the data file, parsed here independently with inet_pton: first and last
    /// address answer the row's country, and the address after a range that is followed by a
    /// gap answers unknown (or a special range).
    @Test func everyRangeBoundary() throws {
        let text = try String(decoding: gunzip(Fixture.shippedCSV), as: UTF8.self)
        var prevEnd: IPAddress? = nil
        var rows = 0
        for line in text.split(separator: "\n").dropFirst() {
            let f = line.split(separator: ",")
            let s = IPAddress(f[0])!, e = IPAddress(f[1])!
            let cc = CountryCode(f[2])!
            #expect(Self.csv.lookup(s) == .country(cc), "\(line)")
            #expect(Self.csv.lookup(e) == .country(cc), "\(line)")
            if let p = prevEnd, p.isV4 == s.isV4, next(p) != s {
                let gap = Self.csv.lookup(next(p))
                #expect(gap == .unknown || { if case .special = gap { return true } else { return false } }(), "after \(p)")
            }
            prevEnd = e
            rows += 1
        }
        #expect(rows == 212_641)
    }

    @Test func shippedCompiledTableMatchesTheCSV() throws {
        let bin = try CountryTable.load(path: Fixture.shippedBinary)
        #expect(bin.data.v4 == Self.csv.data.v4)
        #expect(bin.data.v6 == Self.csv.data.v6)
        #expect(bin.info.date == "2026-10-27")
        let (rebuilt, _) = try CountryTable.importing(.csv, from: [Fixture.shippedCSV], date: "2026-10-27")
        #expect(rebuilt.compiledBytes() == Array(try Data(contentsOf: URL(fileURLWithPath: Fixture.shippedBinary))))
    }

    @Test func shippedCopyIsTheSharedFile() throws {
        let shared = TestPaths.shared.appendingPathComponent("data/country-table.csv.gz")
        #expect(try Data(contentsOf: shared) == Data(contentsOf: URL(fileURLWithPath: Fixture.shippedCSV)))
    }

    private func next(_ a: IPAddress) -> IPAddress {
        switch a {
        case .v4(let v): return .v4(v &+ 1)
        case .v6(let h, let l): return l == .max ? .v6(h &+ 1, 0) : .v6(h, l + 1)
        }
    }

    private func gunzip(_ path: String) throws -> [UInt8] {
        let r = try runProcess("gzip", ["-dc", path])
        return Array(r.stdoutData)
    }
}
