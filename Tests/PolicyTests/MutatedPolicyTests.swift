import CustomsTestSupport
import CustomsCore
import Foundation
import Policy
import Testing

/// Policy files broken the ways people break them — a line lost or doubled, indentation off, a
/// value replaced by one of the wrong type or range, an alias, a tab, the file cut short — loaded
/// by the same call the gateway's reload makes. Each either loads or is refused with problems that
/// name the file, a line inside it and what is wrong; none may trap (the debug build checks every
/// overflow and bound), because a reload that traps takes the running gateway and its policy with it.
///
/// `CUSTOMS_FUZZ_SEED` and `CUSTOMS_FUZZ_ITERATIONS` (default 200) as in the inspector's fuzzing.
@Suite struct MutatedPolicyTests {
    static let values = [
        "0", "-1", "99999999999999999999", "9223372036854775807", "-9223372036854775808", "1e309", "0x7f", "1.5",
        "2026-13-45", "2026-02-30", "0000-01-01", "9999-12-31", "2026-1-1", "yes", "no", "null", "~", "\"\"", "''",
        "[]", "{}", "[a, [b, [c]]]", "{a: {b: c}}", "&anchor x", "*anchor", "*nowhere", "!!binary aGVsbG8=", "!custom x",
        "\"\\u0000\"", "\"\\ud800\"", "|\n  block", ">-\n  folded", "10%", "-5MiB", "99999999999TiB", "0B", "1 KiB",
        "::1/200", "300.1.1.1/8", "*.", "*.*.com", "..", "张三", "\"\t\"", "[enforce, monitor]", "calendar_year", "sensitive",
    ]

    static func mutate(_ text: String, _ g: inout SplitMix64) -> String {
        var lines = text.components(separatedBy: "\n")
        for _ in 0..<Int.random(in: 1...4, using: &g) {
            guard !lines.isEmpty else { break }
            let i = Int.random(in: 0..<lines.count, using: &g)
            switch Int.random(in: 0..<8, using: &g) {
            case 0: lines.remove(at: i)
            case 1: lines.insert(lines[i], at: i)
            case 2: lines[i] = "  " + lines[i]
            case 3: lines[i] = String(lines[i].drop { $0 == " " })
            case 4, 5:
                // Replace a value after a colon, or a list item.
                if let colon = lines[i].firstIndex(of: ":") {
                    lines[i] = String(lines[i][...colon]) + " " + values.randomElement(using: &g)!
                } else if let dash = lines[i].firstIndex(of: "-") {
                    lines[i] = String(lines[i][...dash]) + " " + values.randomElement(using: &g)!
                }
            case 6: lines[i] = lines[i].replacingOccurrences(of: "  ", with: "\t")
            default: lines.removeSubrange(i...)
            }
        }
        return lines.joined(separator: "\n")
    }

    func check(site: String, regime: (id: String, text: String)?, label: String) throws -> Bool {
        let dir = try TestPaths.temporaryDirectory("policy-fuzz")
        defer { try? FileManager.default.removeItem(at: dir) }
        let sitePath = dir.appendingPathComponent("site.yaml").path
        try site.write(toFile: sitePath, atomically: true, encoding: .utf8)
        var regimePath: String?
        if let regime {
            try FileManager.default.createDirectory(at: dir.appendingPathComponent("regimes"), withIntermediateDirectories: true)
            regimePath = dir.appendingPathComponent("regimes/\(regime.id).yaml").path
            try regime.text.write(toFile: regimePath!, atomically: true, encoding: .utf8)
        }
        do {
            _ = try PolicySnapshot.load(sitePath: sitePath)
            return true
        } catch {
            #expect(!error.problems.isEmpty, "\(label): refused without a reason")
            for p in error.problems {
                let lines = ((try? String(contentsOfFile: p.file, encoding: .utf8)) ?? "").components(separatedBy: "\n").count
                #expect(p.file == sitePath || p.file == regimePath || p.file.hasSuffix(".yaml"), "\(label): \(p)")
                #expect(p.line >= 1 && p.line <= max(lines, 1) + 1, "\(label): line \(p.line) of \(lines): \(p)")
                #expect(!p.message.isEmpty, "\(label): \(p)")
            }
            return false
        }
    }

    @Test("mutated site and regime files load or are refused with file, line and reason")
    func mutatedFiles() throws {
        let seed = FuzzSettings.seed(default: 0x504F_4C49_4359)
        let iterations = FuzzSettings.iterations(default: 200)
        var g = SplitMix64(state: seed)
        let policies = TestPaths.packageRoot.appendingPathComponent("Policies")
        let example = try String(contentsOf: policies.appendingPathComponent("example-site.yaml"), encoding: .utf8)
        let regimeIDs = ["cn-2024-provisions", "cn-2022-measures", "cn-2021-draft", "us-doj-2025-bulk"]
        let regimes = try regimeIDs.map { try String(contentsOf: policies.appendingPathComponent("regimes/\($0).yaml"), encoding: .utf8) }
        #expect(try check(site: example, regime: nil, label: "the example as shipped"))
        var loaded = 0, refused = 0
        for i in 0..<iterations {
            let outcome: Bool
            if i % 3 == 2 {
                // A broken regime: the example site names cn-2024-provisions; the copy beside it wins.
                let r = Int.random(in: 0..<regimes.count, using: &g)
                let site = "kind: site\nregimes: [\(regimeIDs[r])]\nmode: enforce\n"
                outcome = try check(site: site, regime: (regimeIDs[r], Self.mutate(regimes[r], &g)), label: "iteration \(i) (seed \(seed)), regime \(regimeIDs[r])")
            } else {
                outcome = try check(site: Self.mutate(example, &g), regime: nil, label: "iteration \(i) (seed \(seed)), site")
            }
            if outcome { loaded += 1 } else { refused += 1 }
        }
        // Both ways out were taken: the mutations are neither all harmless nor all fatal.
        #expect(loaded > 0 && refused > 0, "loaded \(loaded), refused \(refused)")
    }
}
