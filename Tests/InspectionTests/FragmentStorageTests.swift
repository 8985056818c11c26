import CustomsCore
import Testing
@testable import Inspection

/// A `Fragment` keeps its values and account ids in memory it owns (non-copyable, moved or lent,
/// never copied): what goes in must come back out across growth, moves, absorbing and reuse.
@Suite("Fragment storage")
struct FragmentStorageTests {
    private func values(_ list: inout FragmentList, _ i: Int) -> [KeyedValue] {
        list.withFragment(i) { f in (0..<f.count).map { f.value($0) } }
    }

    @Test("a fragment's values and account ids grow past their first capacities, survive moves, and are reused after reset")
    func fragmentStorage() {
        var list = FragmentList()
        var f = Fragment()
        // 70 values of three kinds (past 8 and its doublings; none held twice) and 20 account ids
        // (past 4 and its doublings), each added twice: held ones are not added again.
        let kinds: [DetectorKind] = [.email, .mobile, .address]
        var expected: [KeyedValue] = []
        for round in 0..<2 {
            for i in 0..<70 {
                let v = KeyedValue(kind: kinds[i % 3], id: Int32(i))
                f.add(v.kind, id: v.id)
                if round == 0 { expected.append(v) }
            }
            for l in 0..<20 { f.addLink(Int32(500 + l)) }
        }
        #expect(f.count == 70 && f.linkCount == 20)
        #expect((0..<f.count).map { f.value($0) } == expected)
        #expect((0..<f.linkCount).map { f.link($0) } == (0..<20).map { Int32(500 + $0) })
        // Moved into a list: the list's slot holds it, `f` a spent (empty) one.
        list.append(taking: &f)
        #expect(f.count == 0 && f.linkCount == 0)
        let moved = values(&list, 0)
        #expect(moved == expected)
        // Absorbing adds only what is not held; the absorbed one is unchanged.
        var other = Fragment()
        other.add(.email, id: 3)
        other.add(.name, id: 900)
        other.addLink(500)
        other.addLink(600)
        other.minor = true
        other.fieldBirth = 20_150_601
        list.absorb(&other, into: 0)
        let joined = list.withFragment(0) { g in
            (g.count, g.linkCount, g.value(70), g.link(20), g.minor, g.hasName, g.fieldBirth)
        }
        #expect(joined.0 == 71 && joined.1 == 21)
        #expect(joined.2 == KeyedValue(kind: .name, id: 900) && joined.3 == 600)
        #expect(joined.4 && joined.5 && joined.6 == 20_150_601)
        #expect(other.count == 2 && other.linkCount == 2)
        // Emptied and refilled, the grown storage is reused and holds only the new values.
        list.withFragment(0) { g in
            g.reset()
            for i in 0..<40 { g.add(.bankCard, id: Int32(1000 + i)) }
        }
        let refilled = values(&list, 0)
        #expect(refilled == (0..<40).map { KeyedValue(kind: .bankCard, id: Int32(1000 + $0)) })
        let emptyLinks = list.withFragment(0) { $0.linkCount == 0 && !$0.minor && !$0.hasName && $0.fieldBirth == nil }
        #expect(emptyLinks)
    }
}
