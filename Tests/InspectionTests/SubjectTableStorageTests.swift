import CustomsCore
import Testing
@testable import Inspection

/// `SubjectTable` writes its people through pointers into storage it owns; it must still behave
/// as a value, and the linking values looked up in one batch must join as one lookup at a time did.
@Suite("Subject table storage")
struct SubjectTableStorageTests {
    let secret = Array("subject-table-storage".utf8)

    /// A person holding mobile `m` and, when given, e-mail `e`.
    func person(_ t: inout SubjectTable, mobile m: Int, email e: Int? = nil) -> Fragment {
        var f = Fragment()
        let mobile = Array("1380000\(String(format: "%04d", m))".utf8)
        f.add(.mobile, id: mobile.withUnsafeBufferPointer { t.values.intern(.mobile, $0) })
        if let e {
            let email = Array("p\(e)@example.com".utf8)
            f.add(.email, id: email.withUnsafeBufferPointer { t.values.intern(.email, $0) })
        }
        return f
    }

    func subjects(_ t: inout SubjectTable) -> Int {
        t.snapshot(sensitivity: .gbt45574_2025).subjects.count
    }

    @Test("people grown past every first capacity join by shared values; a copy is independent of writes to and resets of the other")
    func copiesAreIndependent() {
        var a = SubjectTable(secret: secret)
        // 400 people, 200 distinct: person i shares an e-mail with person i - 200 (past the first
        // capacities of people, nodes and marks).
        for i in 0..<400 {
            let p = person(&a, mobile: i, email: i % 200)
            a.add(p)
        }
        #expect(subjects(&a) == 200)

        var b = a
        // In `b` only: one person holding two e-mails joins two of the 200 groups.
        var bridge = Fragment()
        for e in [0, 1] {
            let email = Array("p\(e)@example.com".utf8)
            bridge.add(.email, id: email.withUnsafeBufferPointer { b.values.intern(.email, $0) })
        }
        b.add(bridge)
        for i in 400..<500 { let p = person(&b, mobile: i); b.add(p) }
        #expect(subjects(&b) == 299)
        #expect(subjects(&a) == 200)

        b.reset()
        let one = person(&b, mobile: 5)
        b.add(one)
        #expect(subjects(&b) == 1)
        // `a` saw none of it.
        #expect(subjects(&a) == 200)
        let again = person(&a, mobile: 5000, email: 199)
        a.add(again)
        #expect(subjects(&a) == 200)
    }

    @Test("flat map: a batch of lookups-or-insertions answers as one at a time, across growth")
    func flatMapBatch() {
        var batched = FlatMap64(), single = FlatMap64()
        var rng = SplitMix64(state: 13)
        for round in 0..<200 {
            let n = Int(rng.next() % 40)
            var keys = (0..<n).map { _ in rng.next() % 3_000 }
            let expected = keys.map { single.valueOrInsert($0, Int32(round)).map { UInt64(UInt32(bitPattern: $0)) } ?? UInt64.max }
            keys.withUnsafeMutableBufferPointer { batched.valuesOrInsert($0, Int32(round)) }
            #expect(keys == expected)
            #expect(batched.count == single.count)
        }
    }
}
