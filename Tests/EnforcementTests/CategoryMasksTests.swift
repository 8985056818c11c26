import CustomsCore
import CustomsTestSupport
import Foundation
import Policy
import Testing
@testable import Enforcement

/// The masks a flow ORs per subject must say exactly what the policy's kind → category mapping
/// says, for every set of kinds, with every shipped regime loaded and under both mappings.
@Suite struct CategoryMasksTests {
    static func policy(mapping: String) throws -> PolicySnapshot {
        let dir = try TestPaths.temporaryDirectory("category-masks")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("site.yaml").path
        try """
        kind: site
        regimes: [cn-2024-provisions, cn-2022-measures, cn-2021-draft, us-doj-2025-bulk]
        inspection:
          sensitivity_mapping: \(mapping)
        """.write(toFile: path, atomically: true, encoding: .utf8)
        return try PolicySnapshot.load(sitePath: path, regimeDirectories: [TestPaths.packageRoot.appendingPathComponent("Policies/regimes").path])
    }

    @Test(arguments: ["gb-t-45574-2025", "gb-t-35273-2020"])
    func masksAgreeWithThePolicyForEveryKindSet(mapping: String) throws {
        let policy = try Self.policy(mapping: mapping)
        let masks = try #require(CategoryMasks(policy: policy))
        #expect(masks.categories.count >= 4, "the shipped regimes define pi, sensitive and the US categories")
        let kinds = DetectorKind.allCases
        var mismatches: [String] = []
        for bits in 0..<(1 << kinds.count) {
            let set = Set(kinds.indices.filter { bits & (1 << $0) != 0 }.map { kinds[$0] })
            for sensitive in [false, true] {
                let want = policy.categories(forKinds: set, sensitive: sensitive)
                let got = masks.categories(of: masks.mask(kinds: set, sensitive: sensitive))
                if got != want, mismatches.count < 5 { mismatches.append("\(set.sorted()) sensitive=\(sensitive): \(got) != \(want)") }
            }
        }
        #expect(mismatches.isEmpty, "\(mismatches)")
    }
}
