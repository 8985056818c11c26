import CustomsCore
import Foundation
import Testing
@testable import Inspection

/// The pieces that make the inspector fast must not change what it finds or the keys it reports.
@Suite("Fast paths")
struct FastPathTests {
    let secret = Array("fast-path-secret".utf8)

    @Test("value table: one id per distinct (kind, bytes), across growth, and the HMAC of SubjectKeys")
    func valueTable() {
        var t = ValueTable(secret: secret)
        var ids: [Int32] = []
        for i in 0..<5_000 {
            let s = "value-\(i)"
            ids.append(t.intern(.email, s))
        }
        #expect(Set(ids).count == 5_000)
        for i in stride(from: 0, to: 5_000, by: 7) {
            #expect(t.intern(.email, "value-\(i)") == ids[i], "the same bytes after the table grew")
        }
        // Same bytes, another kind: another value.
        let asName = t.intern(.name, "value-1")
        #expect(asName != ids[1])
        // Empty and long values.
        let empty = t.intern(.name, "")
        #expect(t.intern(.name, "") == empty)
        let long = String(repeating: "北京市朝阳区", count: 40)
        #expect(t.intern(.address, long) == t.intern(.address, long))
        #expect(t.count == 5_003)
        for (i, id) in ids.enumerated() where i % 997 == 0 {
            #expect(t.subjectKey(id) == SubjectKeys.key(for: "value-\(i)", kind: .email, secret: secret))
        }
        #expect(t.subjectKey(asName) == SubjectKeys.key(for: "value-1", kind: .name, secret: secret))
        #expect(t.tail4(asName) == "ue-1")
    }

    @Test("value table: per-kind counts count each committed value once")
    func counted() {
        var t = ValueTable(secret: secret)
        let a = t.intern(.mobile, "+8613800138000"), b = t.intern(.mobile, "+8613900139000")
        t.markCounted(a); t.markCounted(a)
        #expect(t.countedValues(.mobile) == 1)
        t.markCounted(b)
        #expect(t.countedValues(.mobile) == 2)
        #expect(t.countedValues(.email) == 0)
        let keys = t.countedSubjectKeys()
        #expect(keys[.mobile] == [SubjectKeys.key(for: "+8613800138000", kind: .mobile, secret: secret),
                                  SubjectKeys.key(for: "+8613900139000", kind: .mobile, secret: secret)])
    }

    @Test("keyed hasher on bytes equals SubjectKeys for every kind")
    func hasher() {
        let h = KeyHasher.shared(secret: secret)
        for kind in DetectorKind.allCases {
            let v = "11010519491231002X"
            let viaBytes = Array(v.utf8).withUnsafeBufferPointer { h.key(tag: kind.tag, $0) }
            #expect(viaBytes == SubjectKeys.key(for: v, kind: kind, secret: secret))
        }
        // A secret longer than a SHA-256 block is hashed first, as HMAC does.
        let longSecret = [UInt8](repeating: 7, count: 100)
        let k = Array("a@b.cn".utf8).withUnsafeBufferPointer { KeyHasher.shared(secret: longSecret).key(tag: DetectorKind.email.tag, $0) }
        #expect(k == SubjectKeys.key(for: "a@b.cn", kind: .email, secret: longSecret))
    }

    @Test("kind tags are the kinds' positions in allCases")
    func tags() {
        for (i, k) in DetectorKind.allCases.enumerated() { #expect(Int(k.tag) == i) }
        var s = KindSet()
        s.insert(.name); s.insert(.minor)
        #expect(s.contains(.name) && s.contains(.minor) && !s.contains(.email))
        #expect(s.set == [.name, .minor])
    }

    @Test("flat map: insert, overwrite, grow, miss")
    func flatMap() {
        var m = FlatMap64()
        for i in 0..<10_000 { m[UInt64(i) &* 0x1_0000_0001] = Int32(i) }
        #expect(m.count == 10_000)
        for i in stride(from: 0, to: 10_000, by: 13) { #expect(m[UInt64(i) &* 0x1_0000_0001] == Int32(i)) }
        #expect(m[3] == nil)
        m[0] = 42
        #expect(m[0] == 42 && m.count == 10_000)
    }

    @Test("coordinates: six decimals exactly as printf writes them")
    func coordinates() throws {
        let cases = ["39.9042", "-122.4194155", "116.407526", "0.1234", "-0.0000", "+31.230416", "031.2304",
                     ".12345", "-.123456", "179.9999999", "89.99999949", "12.3456785"]
        for text in cases {
            let c = try #require(Array(text.utf8).withUnsafeBufferPointer { Coordinate($0, limit: 180) }, "\(text)")
            var out: [UInt8] = []
            c.appendSixDecimals(to: &out)
            #expect(String(decoding: out, as: UTF8.self) == String(format: "%.6f", Double(text)!), "\(text)")
        }
        for bad in ["39.904", "39", "39.9042x", "1e5.1234", "181.0000", "--1.2345", "", "."] {
            #expect(Array(bad.utf8).withUnsafeBufferPointer { Coordinate($0, limit: 180) } == nil, "\(bad)")
        }
        #expect(Coordinate("91.0000", limit: 90) == nil)
        // Limits decided from the digits agree with the parsed Double, rounding included.
        for text in ["90.0000", "-90.0000", "90.00001", "90.00000000000000001", "89.99999999999999999", "0090.0000",
                     "180.0000", "180.00000000000000000001", "179.99999", "-45.123456", "99999999999999999999.0000"] {
            let c = try #require(Array(text.utf8).withUnsafeBufferPointer { Coordinate($0, limit: .max) }, "\(text)")
            for limit in [90, 180] {
                #expect(c.within(limit) == (abs(Double(text)!) <= Double(limit)), "\(text) within \(limit)")
                #expect((Coordinate(text, limit: limit) != nil) == (abs(Double(text)!) <= Double(limit)), "\(text) under \(limit)")
            }
        }
    }

    @Test("word-at-a-time skipping finds the same first byte as a byte loop, at every offset")
    func byteSkip() {
        var rng = SplitMix64(state: 2026)
        let alphabet: [UInt8] = Array("ab\"\\@09/:,{} ".utf8) + [0x80, 0xBF, 0xEF, 0xFF, 0x2F, 0x3A, 0x40, 0xB0, 0xC0]
        for _ in 0..<300 {
            let n = Int(rng.next() % 40)
            var bytes = [UInt8]()
            for _ in 0..<n {
                // Some long digit runs, for the digit-run end.
                if rng.next() % 16 == 0 { bytes += Array("13812345678".utf8); continue }
                // Mostly bytes that match nothing, so the skips are long.
                bytes.append(rng.next() % 4 == 0 ? alphabet[Int(rng.next() % UInt64(alphabet.count))] : UInt8(ascii: "x") &+ UInt8(rng.next() % 3) * 0x40)
            }
            bytes = Array(bytes.prefix(n))
            bytes.withUnsafeBufferPointer { p in
                for from in 0...n {
                    let starts = ByteSkip.first(in: p, from: from, end: n, mask: ByteSkip.identifierStarts,
                                                byte: { isDigit($0) || $0 == UInt8(ascii: "@") })
                    let naiveStarts = (from..<n).first { isDigit(p[$0]) || p[$0] == UInt8(ascii: "@") } ?? n
                    #expect(starts == naiveStarts, "\(bytes) from \(from)")
                    let ends = ByteSkip.first(in: p, from: from, end: n, mask: ByteSkip.stringEnds, byte: { $0 == 0x22 || $0 == 0x5C })
                    let naiveEnds = (from..<n).first { p[$0] == 0x22 || p[$0] == 0x5C } ?? n
                    #expect(ends == naiveEnds, "\(bytes) from \(from)")
                    let run = ByteSkip.digitRunEnd(in: p, from: from, end: n)
                    #expect(run == ((from..<n).first { !isDigit(p[$0]) } ?? n), "\(bytes) from \(from)")
                }
            }
        }
    }

    @Test("values read in place and values assembled across chunks give the same result")
    func inPlaceAndSplit() {
        let body = #"[{"name":"张三","mobile":"13812345678","email":"Zhang.San@Example.com","note":"卡号 6222021234567890128，身份证 11010519491231002X","loc":"39.904200,116.407500"},"#
            + #"{"name":"李四","phone":"+86 139-1234-5678","addr":"北京市朝阳区建国路88号","lat":31.2304,"lng":121.4737,"passport":"E12345678"}]"#
        let bytes = Array(body.utf8)
        let whole = inspect(bytes, type: "application/json")
        #expect(whole.count == 2)
        #expect(whole[.mobile] == 2 && whole[.email] == 1 && whole[.idNumber] == 1 && whole[.bankCard] == 1 && whole[.geo] == 2)
        for size in [1, 2, 3, 5, 7, 8, 9, 16, 31] {
            let r = inspect(bytes, type: "application/json", chunks: [size])
            #expect(Set(r.subjects.map(\.key)) == Set(whole.subjects.map(\.key)), "chunks of \(size)")
            #expect(r.kindCounts == whole.kindCounts, "chunks of \(size)")
        }
    }
}
