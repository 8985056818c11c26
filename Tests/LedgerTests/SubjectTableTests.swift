import CustomsCore
import Foundation
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

    @Test func growthMovesOneShardAtATime() {
        var table = SubjectTable()
        #expect(table.memoryBytes < 8 << 10, "an empty table allocates no slots per shard")
        var rng = SplitMix64(state: 3)
        let keys = (0..<100_000).map { _ in SubjectKey(hi: rng.next(), lo: rng.next()) }
        var largest = 0, inserted = 0
        for (n, k) in keys.enumerated() {
            if table.advance(k, to: 7) == .inserted { inserted += 1 }
            if n % 64 == 0 { largest = max(largest, table.largestShardCapacity) }
        }
        largest = max(largest, table.largestShardCapacity)
        #expect(inserted == keys.count)
        #expect(table.count == keys.count)
        // No growth step ever rebuilt more than a small part of the table.
        #expect(largest * 64 < table.capacity, "largest shard \(largest) of \(table.capacity) slots")
        #expect(table.capacity < keys.count * 4)
        for k in keys.prefix(1_000) { #expect(table.lastSeen(k) == 7) }
        let reserved = SubjectTable(minimumCapacity: 1_000_000)
        #expect(reserved.capacity >= 1_000_000 * 4 / 3)
    }

    @Test func advanceMovesOnlyForwardInOneProbe() {
        var table = SubjectTable()
        let k = SubjectKey(hi: 1, lo: 2)
        #expect(table.advance(k, to: 10) == .inserted)
        #expect(table.advance(k, to: 10) == .unchanged)
        #expect(table.advance(k, to: 9) == .unchanged)
        #expect(table.lastSeen(k) == 10)
        #expect(table.advance(k, to: 12) == .moved(from: 10))
        #expect(table.lastSeen(k) == 12)
        #expect(table.count == 1)
        // Growing while advancing keeps every key.
        for n in 0..<1_000 { #expect(table.advance(SubjectKey(hi: UInt64(n), lo: 7), to: UInt32(n)) == .inserted) }
        #expect(table.count == 1_001)
        for n in 0..<1_000 { #expect(table.lastSeen(SubjectKey(hi: UInt64(n), lo: 7)) == UInt32(n)) }
        #expect(table.advance(SubjectKey(hi: 0, lo: 0), to: SubjectTable.maxHour) == .inserted)
        #expect(table.lastSeen(SubjectKey(hi: 0, lo: 0)) == SubjectTable.maxHour)
    }

    @Test func batchLookupAgreesWithSingleLookups() {
        var table = SubjectTable()
        var rng = SplitMix64(state: 9)
        // Collide on purpose: many keys share a `hi`, so probe runs are long.
        let present = (0..<3_000).map { n in SubjectKey(hi: UInt64(n % 40), lo: rng.next()) }
        for (n, k) in present.enumerated() { table.set(k, hour: UInt32(n)) }
        let absent = (0..<3_000).map { n in SubjectKey(hi: UInt64(n % 40), lo: rng.next()) }
        let subjects = zip(present, absent).flatMap { [$0, $1] }.enumerated().map { n, k in
            LedgerSubject(key: k, categories: UInt64(1) << UInt64(n % 3))
        }
        for bits: UInt64 in [0b001, 0b010, 0b101, 0b111, 0b1000] {
            var seen: [UInt32?] = []
            subjects.map { SubjectTable.hash($0.key) }.withUnsafeBufferPointer { hashes in
                table.forEachLastSeen(subjects, hashes: hashes, withAny: bits) { seen.append($0) }
            }
            let want = subjects.filter { $0.categories & bits != 0 }.map { table.lastSeen($0.key) }
            #expect(seen == want)
        }
    }

    /// The batch advance does what one advance per selected subject does, growing from empty,
    /// with long probe runs, repeats inside a batch and hours that go back.
    @Test func batchAdvanceAgreesWithSingleAdvances() {
        var batched = SubjectTable(), single = SubjectTable()
        var rng = SplitMix64(state: 11)
        let population = (0..<2_000).map { n in SubjectKey(hi: UInt64(n % 30), lo: rng.next()) }
        for round in 0..<60 {
            let hour = UInt32(100 + round * 3) - UInt32(rng.next() % 8)
            let subjects = (0..<(1 + Int(rng.next() % 120))).map { _ in
                LedgerSubject(key: population[Int(rng.next() % UInt64(population.count))], categories: 1 + rng.next() % 3)
            }
            let bits: UInt64 = round % 2 == 0 ? 0b01 : 0b11
            var got: [SubjectTable.Advance] = []
            subjects.map { SubjectTable.hash($0.key) }.withUnsafeBufferPointer { hashes in
                batched.advance(subjects, hashes: hashes, withAny: bits, to: hour) { _, result in got.append(result) }
            }
            let want = subjects.filter { $0.categories & bits != 0 }.map { single.advance($0.key, to: hour) }
            #expect(got == want, "round \(round)")
            #expect(batched.count == single.count)
        }
        for k in population { #expect(batched.lastSeen(k) == single.lastSeen(k)) }
    }

    /// Tables are values: shards share their slots between copies until one writes, and every way
    /// of writing (set, advance, batch advance, remove, growth) leaves the other copy as it was.
    @Test func copiesDoNotShareWrites() {
        var original = SubjectTable()
        let keys = (0..<20_000).map { SubjectKey(hi: UInt64($0), lo: 3) }
        for (n, k) in keys.enumerated() { original.set(k, hour: UInt32(n % 100)) }
        func expectOriginal(_ table: SubjectTable, _ label: String) {
            #expect(table.count == keys.count, "\(label)")
            #expect(keys.enumerated().allSatisfy { table.lastSeen($0.element) == UInt32($0.offset % 100) }, "\(label)")
            #expect(table.lastSeen(SubjectKey(hi: 1, lo: 1)) == nil, "\(label)")
        }
        var copy = original
        copy.set(keys[0], hour: 500)
        #expect(copy.advance(keys[1], to: 600) == .moved(from: 1))
        copy.remove(keys[2])
        let subjects = keys.prefix(300).map { LedgerSubject(key: $0, categories: 1) } + [LedgerSubject(key: SubjectKey(hi: 1, lo: 1), categories: 1)]
        subjects.map { SubjectTable.hash($0.key) }.withUnsafeBufferPointer { hashes in
            copy.advance(subjects, hashes: hashes, withAny: 1, to: 700) { _, _ in }
        }
        expectOriginal(original, "original after writes to a copy")
        #expect(copy.lastSeen(keys[0]) == 700 && copy.lastSeen(keys[2]) == 700 && copy.lastSeen(keys[400]) == 0)
        #expect(copy.count == keys.count + 1)
        // The other way round, with enough new keys that every shard grows.
        let kept = copy
        for n in 0..<60_000 { original.set(SubjectKey(hi: UInt64(n), lo: 4), hour: 9) }
        #expect(original.count == keys.count + 60_000)
        #expect(kept.count == keys.count + 1 && kept.lastSeen(SubjectKey(hi: 5, lo: 4)) == nil)
        #expect(kept.lastSeen(keys[0]) == 700)
        var visited = 0
        original.forEach { _, _ in visited += 1 }
        #expect(visited == original.count)
    }

    /// Two series in one table: each lane has its own hours and count, a slot lives while either
    /// lane holds its key, and freeing it (backward shift) keeps every other key reachable.
    @Test func lanesAreIndependent() {
        var table = SubjectTable()
        let keys = (0..<4_000).map { SubjectKey(hi: UInt64($0 % 50), lo: UInt64($0)) }
        for (n, k) in keys.enumerated() {
            table.set(k, hour: UInt32(n), lane: 0)
            if n % 3 == 0 { table.set(k, hour: UInt32(n + 1), lane: 1) }
        }
        #expect(table.count(lane: 0) == keys.count)
        #expect(table.count(lane: 1) == (keys.count + 2) / 3)
        #expect(table.count == keys.count)
        #expect(table.lastSeen(keys[3], lane: 1) == 4 && table.lastSeen(keys[4], lane: 1) == nil)
        // Lane 1 only: a key lane 0 never held.
        let stranger = SubjectKey(hi: 7, lo: 1 << 40)
        #expect(table.advance(stranger, to: 9, lane: 1) == .inserted)
        #expect(table.lastSeen(stranger, lane: 0) == nil && table.count == keys.count + 1)
        // Leaving lane 0 keeps the slot for lane 1; leaving both frees it.
        for (n, k) in keys.enumerated() where n % 2 == 0 { table.remove(k, lane: 0) }
        #expect(table.count(lane: 0) == keys.count / 2)
        #expect(table.lastSeen(keys[0], lane: 1) == 1 && table.lastSeen(keys[0], lane: 0) == nil)
        for (n, k) in keys.enumerated() where n % 3 == 0 { table.remove(k, lane: 1) }
        #expect(table.count(lane: 1) == 1)
        #expect(table.count == keys.count / 2 + 1)
        for (n, k) in keys.enumerated() {
            #expect(table.lastSeen(k, lane: 0) == (n % 2 == 0 ? nil : UInt32(n)))
            #expect(table.lastSeen(k, lane: 1) == nil)
        }
        var visited: [Int] = [0, 0]
        for lane in 0..<2 { table.forEach(lane: lane) { _, _ in visited[lane] += 1 } }
        #expect(visited == [keys.count / 2, 1])
    }

    /// The two-lane batch advance does what a one-lane batch advance per lane does.
    @Test func batchAdvanceInTwoLanesAgreesWithOneLaneAtATime() {
        var joint = SubjectTable(), apart = SubjectTable()
        var rng = SplitMix64(state: 12)
        let population = (0..<1_500).map { n in SubjectKey(hi: UInt64(n % 25), lo: rng.next()) }
        for round in 0..<50 {
            let hour = UInt32(200 + round * 2) - UInt32(rng.next() % 6)
            let subjects = (0..<(1 + Int(rng.next() % 100))).map { _ in
                LedgerSubject(key: population[Int(rng.next() % UInt64(population.count))], categories: 1 + rng.next() % 3)
            }
            // Some rounds touch one lane only, so the lanes drift apart.
            let lanes: (Int, Int?) = round % 3 == 2 ? (1, nil) : (round % 2 == 0 ? (0, 1) : (1, 0))
            var got: [[SubjectTable.Advance]] = [[], []], want: [[SubjectTable.Advance]] = [[], []]
            subjects.map { SubjectTable.hash($0.key) }.withUnsafeBufferPointer { hashes in
                joint.advance(subjects, hashes: hashes, withAny: 0b01, to: hour, lanes: lanes) { _, a, b in
                    got[lanes.0].append(a)
                    if let l = lanes.1 { got[l].append(b) } else { #expect(b == .unchanged) }
                }
                for lane in [lanes.0] + (lanes.1.map { [$0] } ?? []) {
                    apart.advance(subjects, hashes: hashes, withAny: 0b01, to: hour, lane: lane) { _, r in want[lane].append(r) }
                }
            }
            #expect(got == want, "round \(round)")
            #expect(joint.count == apart.count && joint.count(lane: 0) == apart.count(lane: 0) && joint.count(lane: 1) == apart.count(lane: 1))
        }
        for k in population { #expect(joint.lastSeen(k, lane: 0) == apart.lastSeen(k, lane: 0) && joint.lastSeen(k, lane: 1) == apart.lastSeen(k, lane: 1)) }
    }

    @Test func batchMasksFromCategorySets() {
        let batch = LedgerBatch(time: Date(timeIntervalSince1970: 0), recipient: "r",
                                subjects: [(SubjectKey(hi: 0, lo: 1), [.pi]), (SubjectKey(hi: 0, lo: 2), [.sensitive, .pi]),
                                           (SubjectKey(hi: 0, lo: 3), []), (SubjectKey(hi: 0, lo: 4), ["us_health"])],
                                keys: [], calendar: cst)
        #expect(batch.categories.count == 3)
        let names = batch.subjects.map { s in Set(batch.categories.indices.filter { s.categories & (1 << UInt64($0)) != 0 }.map { batch.categories[$0] }) }
        #expect(names == [[.pi], [.pi, .sensitive], [], ["us_health"]])
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
