import CustomsCore
import CustomsTestSupport
import Foundation
import Testing
@testable import Geo

@Suite struct CompiledAndMMDBTests {
    @Test func compiledRoundTrip() throws {
        let (t, _) = try CountryTable.importing(.csv, from: [Fixture.path("table.csv")], date: "2026-10-27")
        let dir = try TestPaths.temporaryDirectory("geo")
        let out = dir.appendingPathComponent("t.bin").path
        try t.writeCompiled(to: out)
        let back = try CountryTable.load(path: out)
        #expect(back.data == t.data)
        #expect(back.info == t.info)
        #expect(back.info.date == "2026-10-27")
        for (a, expected) in fixtureExpectations { #expect(answer(back, a) == expected, "\(a)") }
    }

    @Test func compiledChecksumAndTruncationAreDetected() throws {
        let (t, _) = try CountryTable.importing(.csv, from: [Fixture.path("table.csv")])
        let dir = try TestPaths.temporaryDirectory("geo")
        var bytes = t.compiledBytes()
        bytes[bytes.count - 3] ^= 0x01
        let damaged = dir.appendingPathComponent("damaged.bin").path
        try Data(bytes).write(to: URL(fileURLWithPath: damaged))
        let e = geoError { _ = try CountryTable.load(path: damaged) }
        #expect(e?.hasPrefix("\(damaged): checksum mismatch (stored CRC-32 ") == true)
        #expect(e?.hasSuffix("): the file is damaged") == true)

        let truncated = dir.appendingPathComponent("short.bin").path
        try Data(t.compiledBytes().dropLast(4)).write(to: URL(fileURLWithPath: truncated))
        #expect(geoError { _ = try CountryTable.load(path: truncated) }?.contains("truncated or padded") == true)

        var future = t.compiledBytes()
        future[8] = 9
        let newer = dir.appendingPathComponent("v9.bin").path
        try Data(future).write(to: URL(fileURLWithPath: newer))
        #expect(geoError { _ = try CountryTable.load(path: newer) } == "\(newer): compiled table version 9 is not supported (this build reads version 1); re-run 'customs geo import'")
    }

    @Test func mmdbRoundTripThroughOwnWriter() throws {
        let (t, _) = try CountryTable.importing(.csv, from: [Fixture.path("table.csv")], date: "2026-10-27")
        let dir = try TestPaths.temporaryDirectory("geo")
        let path = dir.appendingPathComponent("t.mmdb").path
        try Data(t.mmdbBytes()).write(to: URL(fileURLWithPath: path))
        let back = try CountryTable.load(path: path)
        #expect(back.data.v4 == t.data.v4)
        #expect(back.data.v6 == t.data.v6)
        #expect(back.info.date == "2026-10-27")
        #expect(back.info.source == "mmdb: t.mmdb")
        for (a, expected) in fixtureExpectations { #expect(answer(back, a) == expected, "\(a)") }
    }

    /// libmaxminddb's own tool must read what our writer produces the same way our reader does.
    @Test func mmdbWriterAgreesWithLibmaxminddb() throws {
        try requireTool("mmdblookup")
        let (t, _) = try CountryTable.importing(.csv, from: [Fixture.path("table.csv")])
        let dir = try TestPaths.temporaryDirectory("geo")
        let path = dir.appendingPathComponent("t.mmdb").path
        try Data(t.mmdbBytes()).write(to: URL(fileURLWithPath: path))
        for (a, expected) in [("1.0.1.1", "CN"), ("8.8.8.8", "US"), ("119.29.255.255", "CN"), ("2001:4860:4860::8888", "US"), ("2400:3200::1", "CN")] {
            let r = try runProcess("mmdblookup", ["--file", path, "--ip", a, "country", "iso_code"])
            #expect(r.status == 0, "\(a): \(r.stderr)")
            #expect(r.stdout.contains("\"\(expected)\""), "\(a): \(r.stdout)")
        }
        let miss = try runProcess("mmdblookup", ["--file", path, "--ip", "1.0.4.1"])
        #expect(miss.stdout.contains("Could not find an entry") || miss.stderr.contains("Could not find an entry"))
    }

    @Test func mmdbDecoderReadsSizesPointersAndTypes() throws {
        // A map with a pointer to a string, an extended-size string, uint32 and a boolean.
        let long = String(repeating: "x", count: 40)
        var b: [UInt8] = [0xE4]                                  // map, 4 pairs
        b += [0x41, 0x61] + [0x20, 0x10]                         // "a" -> pointer to offset 16
        b += [0x41, 0x62] + [0x5D, UInt8(40 - 29)] + Array(long.utf8)  // "b" -> 40-byte string
        b += [0x41, 0x63] + [0xC2, 0x01, 0x02]                   // "c" -> uint32 258
        b += [0x41, 0x64] + [0x01, 0x07]                         // "d" -> true (extended type 14)
        let strOffset = b.count
        b += [0x43] + Array("hey".utf8)
        b[4] = UInt8(strOffset)
        var o = 0
        let v = try MMDBReader.decode(b, &o, base: 0, path: "x", depth: 0)
        #expect(v["a"]?.string == "hey")
        #expect(v["b"]?.string == long)
        #expect(v["c"]?.uint == 258)
        if case .bool(let flag)? = v["d"] { #expect(flag) } else { Issue.record("d is not a boolean") }
        #expect(o == strOffset)
    }
}
