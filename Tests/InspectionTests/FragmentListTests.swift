import CustomsCore
import Testing
@testable import Inspection

/// `FragmentList` keeps its fragments in memory it owns, grown by doubling, its spent slots
/// reused: what goes in must come back out unchanged across growth and reuse.
@Suite("Fragment list storage")
struct FragmentListTests {
    /// A fragment with an e-mail `id`, a name `id + 1000` and account `id + 2000`.
    private func person(_ id: Int32) -> Fragment {
        var f = Fragment()
        f.add(.email, id: id)
        f.add(.name, id: id + 1000)
        f.addLink(id + 2000)
        return f
    }

    private func values(_ list: inout FragmentList, _ i: Int) -> [KeyedValue] {
        list.withFragment(i) { f in (0..<f.count).map { f.value($0) } }
    }

    @Test("fragments moved in past every capacity come back in order; spent slots are reused after removeAll")
    func growthAndReuse() {
        var list = FragmentList()
        for round in 0..<3 {
            list.removeAll()
            let emptied = list.isEmpty
            #expect(emptied)
            let n = 5 + round * 20  // 5, 25, 45: past the first capacity (8) and its doublings
            for k in 0..<n {
                var f = person(Int32(round * 100 + k))
                list.append(taking: &f)
                // `f` now holds a spent slot (empty on first use, an earlier round's fragment after).
                #expect(f.count == 0 || f.count == 2)
            }
            let count = list.count
            #expect(count == n)
            for k in 0..<n {
                let id = Int32(round * 100 + k)
                let held = values(&list, k)
                let linked = list.withFragment(k) { $0.linkCount == 1 && $0.link(0) == id + 2000 }
                #expect(held == [KeyedValue(kind: .email, id: id), KeyedValue(kind: .name, id: id + 1000)])
                #expect(linked)
            }
        }
    }

    @Test("joining: the fragment sharing a strong value is found and absorbs the other's values")
    func joining() {
        var list = FragmentList()
        for k in 0..<12 {
            var f = person(Int32(k))
            list.append(taking: &f)
        }
        var other = Fragment()
        other.add(.email, id: 9)
        other.add(.mobile, id: 500)
        let sharing = list.firstJoinable(&other, .sharing)
        #expect(sharing == 9)
        var stranger = Fragment()
        stranger.add(.mobile, id: 77)  // no kind in common: shares nothing, conflicts with no one
        let none = list.firstJoinable(&stranger, .sharing), named = list.firstJoinable(&stranger, .named)
        #expect(none == nil)
        #expect(named == 0)
        var secondMail = Fragment()
        secondMail.add(.email, id: 77)  // another e-mail: one person often has several, it conflicts with no one
        let mailJoins = list.firstJoinable(&secondMail, .named)
        #expect(mailJoins == 0)
        var rival = Fragment()
        rival.add(.mobile, id: 78)
        var phoned = Fragment()
        phoned.add(.mobile, id: 79)
        phoned.add(.name, id: 1079)
        var phones = FragmentList()
        phones.append(taking: &phoned)
        let conflicting = phones.firstJoinable(&rival, .named), anyone = phones.firstJoinable(&rival, .any)
        #expect(conflicting == nil && anyone == nil, "another mobile number: someone else")
        list.absorb(&other, into: 9)
        let joined = values(&list, 9), untouched = values(&list, 8)
        #expect(joined == [KeyedValue(kind: .email, id: 9), KeyedValue(kind: .name, id: 1009), KeyedValue(kind: .mobile, id: 500)])
        #expect(untouched == [KeyedValue(kind: .email, id: 8), KeyedValue(kind: .name, id: 1008)])
    }
}
