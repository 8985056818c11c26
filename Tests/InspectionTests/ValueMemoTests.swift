import CustomsCore
import Testing
@testable import Inspection

/// `ValueMemo` replays what inspecting a value did when the same bytes come again under the same
/// role in one body: the replay must do exactly what inspecting them again would have done.
@Suite("Value memo")
struct ValueMemoTests {
    /// Records whose values repeat: a birth date making two different people minors, a mobile and
    /// a name that join a later record to an earlier one, an ID number, and the same bytes under
    /// two roles (a name, then an address).
    private func body(_ spell: (String, Int) -> String) -> String {
        let records = [
            #"{"name": "\#(spell("张三", 0))", "mobile": "\#(spell("13800138000", 0))", "birth_date": "\#(spell("2015-06-01", 0))"}"#,
            #"{"name": "\#(spell("李四", 0))", "mobile": "\#(spell("13900139000", 0))", "birth_date": "\#(spell("2015-06-01", 1))"}"#,
            #"{"name": "\#(spell("张三", 1))", "mobile": "\#(spell("13800138000", 1))", "email": "zs@example.com"}"#,
            #"{"name": "\#(spell("王五", 0))", "id_number": "\#(spell("11010519491231002X", 0))"}"#,
            #"{"name": "\#(spell("王五", 1))", "id_number": "\#(spell("11010519491231002X", 1))", "birth_date": "\#(spell("2015-06-01", 2))"}"#,
            #"{"name": "\#(spell("北京市朝阳区建国路", 0))", "mobile": "13700137000"}"#,
            #"{"name": "赵六", "address": "\#(spell("北京市朝阳区建国路", 1))", "mobile": "13600136000"}"#,
        ]
        return "[" + records.joined(separator: ", ") + "]"
    }

    /// The same text for every occurrence, or each occurrence written differently (surrounding
    /// spaces, another date separator, grouped digits, lower case) so that no two are the same bytes.
    private static func same(_ v: String, _ occurrence: Int) -> String { v }
    private static func distinct(_ v: String, _ occurrence: Int) -> String {
        guard occurrence > 0 else { return v }
        if v.contains("-") { return v.replacingOccurrences(of: "-", with: occurrence == 1 ? "/" : "年") }
        if v.hasSuffix("X") { return v.lowercased() }
        if v.allSatisfy(\.isNumber) { return String(v.prefix(3)) + " " + String(v.dropFirst(3).prefix(4)) + " " + String(v.dropFirst(7)) }
        return String(repeating: " ", count: occurrence) + v
    }

    @Test("a body whose values repeat gives what it gives with every repeat spelled differently, whole and in chunks")
    func replayMatchesInspection() {
        let repeated = body(Self.same), spelled = body(Self.distinct)
        #expect(repeated != spelled)
        let reference = inspect(spelled, type: "application/json")
        #expect(reference.minors == 3)
        #expect(reference[.address] == 1 && reference[.name] == 5)
        for chunks in [nil, [1], [7, 13]] as [[Int]?] {
            let r = inspect(repeated, type: "application/json", chunks: chunks)
            #expect(Set(r.subjects) == Set(reference.subjects), "chunks \(String(describing: chunks))")
            #expect(r.subjects.count == reference.subjects.count)
            #expect(r.kindCounts == reference.kindCounts)
            #expect(r.minors == reference.minors && r.records == reference.records)
        }
    }

    @Test("every field role's raw value and every detector kind's tag is below 32: bits of masks read with masking shifts")
    func roleBits() {
        let roles = (0...255).compactMap { FieldRole(rawValue: UInt8($0)) }
        #expect(roles.count >= 20)
        #expect(roles.allSatisfy { $0.rawValue < 32 })
        // The same for detector kinds, bits of `KindSet` and `DetectorKinds`.
        #expect(DetectorKind.allCases.count <= 32)
        #expect(DetectorKind.allCases.allSatisfy { $0.tag < 32 })
    }

    @Test("entries and their effects survive growth; the role is part of the key; reset forgets")
    func storage() {
        let memo = ValueMemo()
        func key(_ i: Int) -> [UInt8] { Array("value-\(i)-\(String(repeating: "x", count: i % 50))".utf8) }
        // 300 values (past the first 64 entries, 128 slots, 1024 arena bytes and 128 effects),
        // value i with i % 4 effects, a field birth date when i is odd, a minor when i % 3 == 0.
        for i in 0..<300 {
            key(i).withUnsafeBufferPointer { v in
                let h = memo.hash(v, role: .name)
                var slot = 0
                #expect(memo.find(v, role: .name, hash: h, slot: &slot) == -1)
                memo.begin()
                for k in 0..<(i % 4) { memo.added(KeyedValue(kind: .mobile, id: Int32(i * 10 + k))) }
                if i % 2 == 1 { memo.namedBirth(20_150_601 + i) }
                if i % 3 == 0 { memo.madeMinor() }
                memo.remember(v, role: .name, hash: h, slot: slot)
            }
        }
        #expect(memo.count == 300)
        for i in 0..<300 {
            key(i).withUnsafeBufferPointer { v in
                var slot = 0
                let e = memo.find(v, role: .name, hash: memo.hash(v, role: .name), slot: &slot)
                #expect(e >= 0)
                guard e >= 0 else { return }
                let (effects, birth, minor) = memo.entry(e)
                #expect(Array(effects) == (0..<(i % 4)).map { KeyedValue(kind: .mobile, id: Int32(i * 10 + $0)) })
                #expect(birth == (i % 2 == 1 ? Int32(20_150_601 + i) : 0))
                #expect(minor == (i % 3 == 0))
                // The same bytes under another role are another value.
                #expect(memo.find(v, role: .address, hash: memo.hash(v, role: .address), slot: &slot) == -1)
            }
        }
        memo.reset()
        #expect(memo.count == 0)
        key(7).withUnsafeBufferPointer { v in
            var slot = 0
            #expect(memo.find(v, role: .name, hash: memo.hash(v, role: .name), slot: &slot) == -1)
        }
    }

    @Test("a role whose values rarely repeat stops being remembered, and is tried again every probeEvery bodies")
    func learning() {
        let memo = ValueMemo()
        #expect(memo.uses(.name) && memo.uses(.idNumber) && !memo.uses(.none))
        /// One body: `n` lookups of `role`, each value new unless `repeats`.
        func body(_ role: FieldRole, _ n: Int, repeats: Bool) {
            for i in 0..<n {
                Array("v\(repeats ? 0 : i)".utf8).withUnsafeBufferPointer { v in
                    let h = memo.hash(v, role: role)
                    var slot = 0
                    if memo.find(v, role: role, hash: h, slot: &slot) < 0 {
                        memo.begin()
                        memo.remember(v, role: role, hash: h, slot: slot)
                    }
                }
            }
        }
        // ID numbers never repeat, names always do: after enough lookups only names are kept.
        body(.idNumber, Int(ValueMemo.decideAfter), repeats: false)
        body(.name, Int(ValueMemo.decideAfter), repeats: true)
        memo.reset()
        #expect(!memo.uses(.idNumber) && memo.uses(.name))
        // Too few lookups decide nothing.
        body(.name, 10, repeats: false)
        memo.reset()
        #expect(memo.uses(.name))
        // Every role again in the probing body.
        var bodies = 2
        while bodies % ValueMemo.probeEvery != 0 {
            #expect(!memo.uses(.idNumber))
            memo.reset()
            bodies += 1
        }
        #expect(memo.uses(.idNumber) && !memo.uses(.none))
        // Repeating now, ID numbers are kept after the next judgement.
        body(.idNumber, Int(ValueMemo.decideAfter), repeats: true)
        memo.reset()
        #expect(memo.uses(.idNumber))
    }
}
