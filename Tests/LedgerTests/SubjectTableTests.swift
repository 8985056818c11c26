import CustomsCore
import Testing
@testable import Ledger

@Suite struct SubjectTableTests {
    @Test func setLookupGrowAndRemove() {
        var table = SubjectTable()
        let keys = (0..<5_000).map { SubjectKey(hi: UInt64($0 / 7), lo: UInt64($0 % 7)) }
        for (i, k) in keys.enumerated() { #expect(table.set(k, hour: UInt32(i)) == nil) }
        #expect(table.count == keys.count)
        #expect(table.capacity >= keys.count)
        for (i, k) in keys.enumerated() { #expect(table.lastSeen(k) == UInt32(i)) }
        #expect(table.lastSeen(SubjectKey(hi: 99_999, lo: 0)) == nil)
        #expect(table.set(keys[3], hour: 9) == 3)
        #expect(table.count == keys.count)
        // Remove every other key; the rest must stay reachable across the shifted runs.
        for k in keys.enumerated() where k.offset % 2 == 0 { table.remove(k.element) }
        #expect(table.count == keys.count / 2)
        for (i, k) in keys.enumerated() {
            if i % 2 == 0 { #expect(table.lastSeen(k) == nil) } else { #expect(table.lastSeen(k) == (i == 3 ? 9 : UInt32(i))) }
        }
        var visited = 0
        table.forEach { _, _ in visited += 1 }
        #expect(visited == table.count)
    }

    @Test func histogramCountsAtOrAfter() {
        var h = HourHistogram()
        for hour: UInt32 in [1_000, 1_000, 1_300, 5_000, 700] { h.add(hour) }
        #expect(h.total == 5)
        #expect(h.count(atOrAfter: 0) == 5)
        #expect(h.count(atOrAfter: 700) == 5)
        #expect(h.count(atOrAfter: 701) == 4)
        #expect(h.count(atOrAfter: 1_000) == 4)
        #expect(h.count(atOrAfter: 1_001) == 2)
        #expect(h.count(atOrAfter: 5_000) == 1)
        #expect(h.count(atOrAfter: 5_001) == 0)
        h.remove(1_000)
        #expect(h.count(atOrAfter: 1_000) == 3)
    }
}
