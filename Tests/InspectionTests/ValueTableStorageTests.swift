import Testing
@testable import Inspection

/// `ValueTable` writes its own storage through pointers; it must still behave as a value.
@Suite("Value table storage")
struct ValueTableStorageTests {
    let secret = Array("value-table-storage".utf8)

    func value(_ i: Int) -> [UInt8] {
        // Long enough every few values to grow the byte arena past its first 4 KiB.
        Array("value-\(i)-".utf8) + [UInt8](repeating: UInt8(65 + i % 26), count: i % 7 == 0 ? 300 : i % 13)
    }

    func intern(_ t: inout ValueTable, _ i: Int, tag: UInt8 = 1) -> Int32 {
        value(i).withUnsafeBufferPointer { t.intern(tag: tag, $0) }
    }

    @Test("ids stay put across growth; a copy is independent of writes to and resets of the other")
    func copiesAreIndependent() {
        var a = ValueTable(secret: secret)
        var ids: [Int32] = []
        for i in 0..<600 { ids.append(intern(&a, i)) }
        #expect(ids == (0..<600).map(Int32.init))
        #expect((0..<600).allSatisfy { intern(&a, $0) == ids[$0] })
        #expect(intern(&a, 5, tag: 2) == 600)
        let keyBefore = a.subjectKey(7), maskBefore = a.masked(7)

        var b = a
        for i in 600..<900 { _ = intern(&b, i) }
        #expect(a.count == 601 && b.count == 901)
        #expect(intern(&b, 7) == 7 && b.subjectKey(7) == keyBefore && b.masked(7) == maskBefore)
        b.reset()
        #expect(b.count == 0 && intern(&b, 42) == 0)

        // `a` saw none of it: its values, ids, keys and masks are as they were.
        #expect(a.count == 601)
        #expect((0..<600).allSatisfy { intern(&a, $0) == ids[$0] })
        #expect(intern(&a, 700) == 601)
        #expect(a.subjectKey(7) == keyBefore && a.masked(7) == maskBefore)
        #expect(a.masked(0) == "****" + String(decoding: value(0).suffix(4), as: UTF8.self))
    }
}
