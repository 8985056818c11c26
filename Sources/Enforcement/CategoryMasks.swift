import CustomsCore
import Ledger
import Policy

/// The policy's detector kind → category mapping as bit masks over one list of categories, built
/// once per (re)load, so a flow ORs a mask per subject instead of building a set of names.
///
/// `PolicySnapshot.categories(forKinds:sensitive:)` is a union over the kinds (and the sensitive
/// mark): each regime contributes its categories for each kind, its sensitive category when the
/// record is marked sensitive, and what its sensitive category also counts as once that is
/// reached. Every step is a union, so a kind set's categories are the OR of its members' masks.
/// The tests hold this against `categories(forKinds:sensitive:)` for every set of kinds.
struct CategoryMasks: Sendable {
    /// Bit `i` of a mask stands for `categories[i]`.
    let categories: [Category]
    /// Indexed by `DetectorKind.ordinal`.
    private let byKind: [UInt64]
    private let sensitive: UInt64

    /// Nil when the loaded regimes define more categories than a mask holds.
    init?(policy: PolicySnapshot) {
        var categories: [Category] = []
        func mask(_ set: Set<Category>) -> UInt64? {
            var m: UInt64 = 0
            for c in set.sorted() {
                let i = categories.firstIndex(of: c) ?? { categories.append(c); return categories.count - 1 }()
                guard i < LedgerBatch.maximumCategories else { return nil }
                m |= 1 << UInt64(i)
            }
            return m
        }
        var byKind = [UInt64](repeating: 0, count: DetectorKind.allCases.count)
        for kind in DetectorKind.allCases {
            guard let m = mask(policy.categories(forKinds: [kind], sensitive: false)) else { return nil }
            byKind[kind.ordinal] = m
        }
        guard let s = mask(policy.categories(forKinds: [], sensitive: true)) else { return nil }
        self.categories = categories
        self.byKind = byKind
        self.sensitive = s
    }

    @inline(__always)
    func mask<Kinds: Sequence<DetectorKind>>(kinds: Kinds, sensitive isSensitive: Bool) -> UInt64 {
        var m = isSensitive ? sensitive : 0
        for k in kinds { m |= byKind[k.ordinal] }
        return m
    }

    /// The categories of `mask`, as a set (tests, and what a mask means).
    func categories(of mask: UInt64) -> Set<Category> {
        Set(categories.indices.filter { mask & (1 << UInt64($0)) != 0 }.map { categories[$0] })
    }
}
