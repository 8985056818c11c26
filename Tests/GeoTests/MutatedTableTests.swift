import CustomsCore
import CustomsTestSupport
import Foundation
import Testing
@testable import Geo

/// Country tables damaged in transit or by hand — an .mmdb from a vendor, the compiled table, the
/// CSV — load or are refused with a GeoError naming the file; never a trap, never a hang. The
/// gateway loads its table at start, so a bad file must stop it with a message, not a crash.
@Suite struct MutatedTableTests {
    static func mutate(_ input: [UInt8], _ g: inout SplitMix64) -> [UInt8] {
        var b = input
        for _ in 0..<Int.random(in: 1...4, using: &g) where !b.isEmpty {
            let at = Int.random(in: 0..<b.count, using: &g)
            switch Int.random(in: 0..<5, using: &g) {
            case 0: b[at] = UInt8.random(in: 0...255, using: &g)
            case 1: b[at] ^= 1 << UInt8.random(in: 0...7, using: &g)
            case 2: b.removeSubrange(at..<min(b.count, at + Int.random(in: 1...16, using: &g)))
            case 3: b.insert(contentsOf: b[at..<min(b.count, at + Int.random(in: 1...16, using: &g))], at: at)
            default: b.removeSubrange(at...)
            }
        }
        return b
    }

    @Test(arguments: ["mmdb", "bin", "csv"])
    func damagedTablesLoadOrAreRefused(format: String) throws {
        let (t, _) = try CountryTable.importing(.csv, from: [Fixture.path("table.csv")], date: "2026-10-27")
        let clean: [UInt8]
        switch format {
        case "mmdb": clean = t.mmdbBytes()
        case "bin": clean = t.compiledBytes()
        default: clean = Array(try Data(contentsOf: URL(fileURLWithPath: Fixture.path("table.csv"))))
        }
        let dir = try TestPaths.temporaryDirectory("geo-fuzz")
        var g = SplitMix64(state: 0x4745_4F00 &+ UInt64(format.utf8.count))
        let iterations = FuzzSettings.iterations(default: 300)
        var refused = 0
        for i in 0..<iterations {
            let path = dir.appendingPathComponent("t\(i).\(format)").path
            let bytes = Self.mutate(clean, &g)
            FileManager.default.createFile(atPath: path, contents: Data(bytes))
            defer { try? FileManager.default.removeItem(atPath: path) }
            do {
                let table = try CountryTable.load(path: path)
                _ = table.lookup(IPAddress("8.8.8.8")!)
                _ = table.lookup(IPAddress("2001:db8::1")!)
                // The compiled table's checksum refuses every change to it.
                if format == "bin" { #expect(bytes == clean, "iteration \(i): a changed compiled table loaded") }
            } catch {
                refused += 1
                #expect(error.description.contains(path) || error.description.contains("t\(i).\(format)"), "\(error)")
            }
        }
        // The compiled table's checksum refuses every change to it.

    }

    @Test func anEmptyTableFileIsRefused() throws {
        let dir = try TestPaths.temporaryDirectory("geo-empty")
        for name in ["empty.csv", "empty.bin", "empty.mmdb"] {
            let path = dir.appendingPathComponent(name).path
            FileManager.default.createFile(atPath: path, contents: Data())
            do {
                _ = try CountryTable.load(path: path)
                Issue.record("\(name): an empty file loaded as a table")
            } catch {
                #expect(error.description.contains(path), "\(error)")
            }
        }
        let header = dir.appendingPathComponent("header-only.csv").path
        try "start,end,country\n".write(toFile: header, atomically: true, encoding: .utf8)
        #expect(throws: GeoError.self) { _ = try CountryTable.load(path: header) }
    }
}
