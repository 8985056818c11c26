import CustomsCore
import Foundation
import Testing
@testable import Inspection
import CInspectKernels

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
        #expect(t.masked(asName) == "****ue-1")
    }

    @Test("value table: per-kind counts count each committed value once")
    func counted() {
        var t = ValueTable(secret: secret)
        let a = t.intern(.mobile, "+8613800138000"), b = t.intern(.mobile, "+8613900139000")
        // A person holding `ids` (appended as they are, a value twice included).
        func person(_ ids: [Int32]) -> Fragment {
            var f = Fragment()
            for id in ids { f.append(KeyedValue(kind: .mobile, id: id)) }
            return f
        }
        // A value twice in one person, then again in another: counted once.
        t.markCounted(person([a, a]))
        t.markCounted(person([a]))
        t.markCounted(person([]))
        #expect(t.countedValues(.mobile) == 1)
        // A person with one value counted already and one new.
        t.markCounted(person([a, b]))
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
        // Every message length around the one-block limit (55 bytes with "kind:"), and account ids.
        for kind in [DetectorKind.email, .idNumber, .name] {
            for n in 0...80 {
                let v = String((0..<n).map { Character(Unicode.Scalar(UInt8(0x61 + $0 % 26))) })
                let viaBytes = Array(v.utf8).withUnsafeBufferPointer { h.key(tag: kind.tag, $0) }
                #expect(viaBytes == SubjectKeys.key(for: v, kind: kind, secret: secret), "\(kind) \(n) bytes")
                let account = Array(v.utf8).withUnsafeBufferPointer { h.key(tag: ValueTable.accountTag, $0) }
                #expect(account == SubjectKeys.key(for: "acct:" + v, kind: .minor, secret: secret), "account \(n) bytes")
            }
        }
        // A secret longer than a SHA-256 block is hashed first, as HMAC does.
        let longSecret = [UInt8](repeating: 7, count: 100)
        let k = Array("a@b.cn".utf8).withUnsafeBufferPointer { KeyHasher.shared(secret: longSecret).key(tag: DetectorKind.email.tag, $0) }
        #expect(k == SubjectKeys.key(for: "a@b.cn", kind: .email, secret: longSecret))
    }

    @Test("two keys at once equal SubjectKeys, and prepared keys are the keys subjectKey makes")
    func keyPairs() {
        // Without the SHA extensions `keys` runs the one-at-a-time path; with them, the pairs.
        let h = KeyHasher.shared(secret: secret)
        var rng = SplitMix64(state: 5)
        // Every length that fits one block, against every other length, for two kinds and account ids.
        let tags: [(UInt8, String)] = [(DetectorKind.idNumber.tag, "id_number:"), (DetectorKind.email.tag, "email:"),
                                       (ValueTable.accountTag, "minor:acct:")]
        for (tagA, prefixA) in tags {
            for (tagB, prefixB) in tags {
                for n in 0...(55 - prefixA.utf8.count) {
                    let m = (n * 7 + 3) % (56 - prefixB.utf8.count)
                    let a = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
                    let b = (0..<m).map { _ in UInt8.random(in: 0...255, using: &rng) }
                    let (ka, kb) = a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in h.keys(tag: tagA, pa, tag: tagB, pb) } }
                    #expect(ka == a.withUnsafeBufferPointer { h.key(tag: tagA, $0) }, "\(prefixA) \(n) bytes")
                    #expect(kb == b.withUnsafeBufferPointer { h.key(tag: tagB, $0) }, "\(prefixB) \(m) bytes")
                }
            }
        }
        // Values too long for one block, repeated ids and an odd count are left for subjectKey
        // (where the CPU has no SHA extensions, all are).
        var t = ValueTable(secret: secret)
        var ids: [Int32] = []
        for i in 0..<41 { ids.append(t.intern(.idNumber, String(repeating: "9", count: i * 2) + "-\(i)")) }
        t.prepareKeys(ids + ids.reversed() + [ids[3], ids[3]])
        for (i, id) in ids.enumerated() {
            #expect(t.subjectKey(id) == SubjectKeys.key(for: String(repeating: "9", count: i * 2) + "-\(i)", kind: .idNumber, secret: secret))
        }
    }

    @Test("resident ID and Luhn checks equal the textbook weighted sums on valid numbers and every one-character change")
    func checksums() {
        var rng = SplitMix64(state: 11)
        let weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
        let checks = Array("10X98765432".utf8)
        let today = 20_261_129
        func referenceID(_ d: [UInt8]) -> Int? {
            guard d.count == 18, d[0..<17].allSatisfy(isDigit), Checksums.isProvince(Int(d[0] - 48) * 10 + Int(d[1] - 48)) else { return nil }
            let n = { (f: Int, c: Int) in d[f..<(f + c)].reduce(0) { $0 * 10 + Int($1 - 48) } }
            let (y, m, day) = (n(6, 4), n(10, 2), n(12, 2))
            guard Checksums.plausibleBirth(year: y, month: m, day: day, today: today) else { return nil }
            let sum = (0..<17).reduce(0) { $0 + Int(d[$1] - 48) * weights[$1] }
            let c = d[17] == UInt8(ascii: "x") ? UInt8(ascii: "X") : d[17]
            return c == checks[sum % 11] ? y * 10_000 + m * 100 + day : nil
        }
        func referenceLuhn(_ d: [UInt8]) -> Bool {
            var sum = 0
            for (k, c) in d.reversed().enumerated() { var v = Int(c &- 48); if k % 2 == 1 { v *= 2; if v > 9 { v -= 9 } }; sum += v }
            return sum % 10 == 0
        }
        for code in 0..<200 { #expect(Checksums.isProvince(code) == Checksums.provinceCodes.contains(code), "province \(code)") }
        let alphabet = Array("0123456789Xx/".utf8)
        for _ in 0..<400 {
            var id = Array(String(format: "%02d%04d%04d%02d%02d%03d", [11, 31, 44, 65, 82, 99][Int(rng.next() % 6)], Int(rng.next() % 10_000),
                                  1890 + Int(rng.next() % 140), 1 + Int(rng.next() % 13), 1 + Int(rng.next() % 31), Int(rng.next() % 1000)).utf8)
            id.append(checks[(0..<17).reduce(0) { $0 + Int(id[$1] - 48) * weights[$1] } % 11])
            if id[17] == UInt8(ascii: "X") && rng.next() % 2 == 0 { id[17] = UInt8(ascii: "x") }
            for at in -1..<18 {
                for c in at < 0 ? [UInt8(0)] : alphabet {
                    var d = id
                    if at >= 0 { d[at] = c }
                    #expect(d.withUnsafeBufferPointer { Checksums.residentID18($0, today: today) } == referenceID(d), "\(String(decoding: d, as: UTF8.self))")
                    for n in [13, 16, 17, 18] {
                        let digits = Array(d.prefix(n)).map { isDigit($0) ? $0 : UInt8(ascii: "7") }
                        #expect(digits.withUnsafeBufferPointer { Checksums.luhn($0) } == referenceLuhn(digits))
                    }
                }
            }
        }
    }

    @Test("kind tags are the kinds' positions in allCases")
    func tags() {
        for (i, k) in DetectorKind.allCases.enumerated() { #expect(Int(k.tag) == i) }
        var s = KindSet()
        s.insert(.name); s.insert(.minor)
        #expect(s.contains(.name) && s.contains(.minor) && !s.contains(.email))
        #expect(Set(DetectorKinds(bits: s.bits)) == [.name, .minor])
    }

    @Test("a subject's kinds: a bit set that behaves as Set<DetectorKind> does")
    func detectorKinds() {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let a = Set(DetectorKind.allCases.filter { _ in Bool.random(using: &rng) })
            let b = Set(DetectorKind.allCases.filter { _ in Bool.random(using: &rng) })
            let ka = DetectorKinds(a), kb = DetectorKinds(b)
            #expect(Set(ka) == a && ka.count == a.count && ka.isEmpty == a.isEmpty)
            #expect(Array(ka) == a.sorted { $0.ordinal < $1.ordinal })
            #expect(Set(ka.union(kb)) == a.union(b) && Set(ka.intersection(kb)) == a.intersection(b))
            #expect(Set(ka.symmetricDifference(kb)) == a.symmetricDifference(b))
            #expect(ka.isDisjoint(with: kb) == a.isDisjoint(with: b) && ka.isSuperset(of: kb) == a.isSuperset(of: b))
            #expect((ka == kb) == (a == b))
            for k in DetectorKind.allCases { #expect(ka.contains(k) == a.contains(k)) }
            var m = ka
            let k = DetectorKind.allCases.randomElement(using: &rng)!
            #expect(m.insert(k).inserted == !a.contains(k))
            #expect(m.remove(k) == k && !m.contains(k) && m.remove(k) == nil)
            for mapping in [SensitivityMapping.gbt45574_2025, .gbt35273_2020] {
                #expect(mapping.isSensitive(ka) == mapping.isSensitive(a))
            }
        }
        #expect(DetectorKinds([.minor, .idNumber]).description == "[.id_number, .minor]")
    }

    @Test("a subject's mask: the text as given, or its last whole characters within 24 bytes")
    func maskText() {
        for m in ["****", "****123X", "****林颖", "****e\u{301}abc", "****1234😀", "****👍🏽"] {
            #expect(MaskText(m).string == m)
        }
        let long = "****a" + String(repeating: "\u{301}", count: 12) + "bcd"
        #expect(MaskText(long).string == "bcd", "whole characters only")
        #expect(MaskText("****123X") == MaskText("****123X") && MaskText("****123X") != MaskText("****123x"))
        // After a filler (the word-wide check reads bytes before the value) and at the arena's start.
        for filler in [nil, "filler-value"] {
            var t = ValueTable(secret: Array("tail".utf8))
            if let filler { _ = t.intern(.name, filler) }
            for v in ["abcde", "11010519491231002X", "+8613800138000", "x\r\nyz", "ab\r\n", "\rabcd", "é1234", "1é234",
                      "abc\u{301}d", "1234😀", "林颖", "ab张三", "abcd\u{7F}", "a", "abcd"] {
                let id = t.intern(.address, v)
                #expect(t.maskText(id) == MaskText("****" + String(v.suffix(4))), "\(v.debugDescription)")
            }
        }
        let s = DetectedSubject(key: SubjectKey(hi: 1, lo: 2), kinds: [.mobile], isSensitive: false, masked: "****5678")
        #expect(s.masked == "****5678" && s.kinds == [.mobile])
    }

    @Test("flat map: insert, overwrite, grow, miss, lookup-or-insert")
    func flatMap() {
        var m = FlatMap64()
        for i in 0..<10_000 { m[UInt64(i) &* 0x1_0000_0001] = Int32(i) }
        #expect(m.count == 10_000)
        for i in stride(from: 0, to: 10_000, by: 13) { #expect(m[UInt64(i) &* 0x1_0000_0001] == Int32(i)) }
        #expect(m[3] == nil)
        m[0] = 42
        #expect(m[0] == 42 && m.count == 10_000)
        // One probe for a lookup and an insertion: the old value stays.
        #expect(m.valueOrInsert(0, 7) == 42 && m[0] == 42)
        #expect(m.valueOrInsert(3, 7) == nil && m[3] == 7 && m.count == 10_001)
    }

    @Test("flat map emptied by generation: after each reset it holds exactly what was inserted since, as a dictionary would, across growth and shrinking")
    func flatMapReset() {
        var m = FlatMap64()
        var rng = SplitMix64(state: 64)
        for round in 0..<60 {
            var reference: [UInt64: Int32] = [:]
            // Small and large bodies in turn: a table grown past the kept size is made small again.
            let n = round % 5 == 0 ? 3_000 : Int(rng.next() % 200)
            for _ in 0..<n {
                let k = rng.next() % 500 &* 0x9E37_79B9
                let v = Int32(truncatingIfNeeded: rng.next())
                if rng.next() % 2 == 0 {
                    m[k] = v; reference[k] = v
                } else {
                    #expect(m.valueOrInsert(k, v) == reference[k])
                    if reference[k] == nil { reference[k] = v }
                }
            }
            #expect(m.count == reference.count)
            for k in 0..<UInt64(500) { #expect(m[k &* 0x9E37_79B9] == reference[k &* 0x9E37_79B9]) }
            m.reset()
            #expect(m.count == 0)
        }
    }

    @Test("scalar count a word at a time equals a byte loop: every length 0–40, CJK, emoji, accents, cut sequences")
    func scalarCounts() {
        var rng = SplitMix64(state: 8)
        let pieces: [[UInt8]] = [Array("a".utf8), Array("张".utf8), Array("😀".utf8), Array("é".utf8), [0x80], [0xBF], [0xC0], [0xFF], [0x7F]]
        for _ in 0..<2_000 {
            var bytes: [UInt8] = []
            let target = Int(rng.next() % 41)
            while bytes.count < target { bytes += pieces[Int(rng.next() % UInt64(pieces.count))] }
            let naive = bytes.filter { $0 & 0xC0 != 0x80 }.count
            #expect(bytes.withUnsafeBufferPointer { RecordAssembler.scalarCount($0) } == naive, "\(bytes)")
        }
    }

    @Test("byte classes of the e-mail and number scans as bit sets equal their definitions, for every byte")
    func byteClasses() {
        for b in 0...255 {
            let c = UInt8(b)
            let alnum = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
            #expect(ValueScanner.isLocalPart(c) == (alnum || "._%+-".utf8.contains(c)), "\(b)")
            #expect(ValueScanner.isDomain(c) == (alnum || ".-".utf8.contains(c)), "\(b)")
            #expect(ValueScanner.glues(c) == (alnum || "*_.".utf8.contains(c)), "\(b)")
        }
    }

    @Test("e-mail bounds: at most the 64 bytes before the @ and 254 after it are read, wherever the value starts")
    func emailBounds() {
        let scanner = ValueScanner(today: 20261130)
        for localLength in 60...68 {
            for hostLength in 245...256 {
                let local = String(repeating: "a", count: localLength)
                let domain = String(repeating: "b", count: hostLength) + ".com"
                for prefix in ["", "x ", String(repeating: "y", count: 70) + " "] {
                    var found: [String] = []
                    let bytes = Array((prefix + local + "@" + domain + " z").utf8)
                    bytes.withUnsafeBufferPointer { b in
                        scanner.scan(b, role: .none) { id in
                            if id.kind == .email { found.append(String(decoding: id.normalized, as: UTF8.self)) }
                        }
                    }
                    // The definition: the domain cut to 254 bytes keeps a letters-only top label of two or more.
                    let kept = String(domain.prefix(254))
                    let top = kept.split(separator: ".", omittingEmptySubsequences: false).last ?? ""
                    let expected = kept.contains(".") && top.count >= 2 ? [String(local.suffix(64)) + "@" + kept] : []
                    #expect(found == expected, "\(localLength) \(hostLength) \(prefix.count)")
                }
            }
        }
    }

    @Test("header names: a name is classified once per table, then read back by its bytes; past the bound it is emptied, never wrong")
    func headerNames() {
        func role(_ k: Int) -> FieldRole { k % 3 == 0 ? .name : k % 3 == 1 ? .address : .none }
        let t = HeaderNames()
        var calls = 0
        for _ in 0..<3 {
            for k in 0..<50 {
                let name = Array("列\(k)".utf8)
                let r = name.withUnsafeBufferPointer { b in
                    t.role(b) { n, bytes, h in
                        calls += 1
                        #expect(String(n) == "列\(k)" && bytes == name && h == nameHash(bytes))
                        return role(k)
                    }
                }
                #expect(r == role(k))
            }
        }
        #expect(calls == 50)
        // More names than the table keeps: every answer still the classifier's.
        let big = HeaderNames()
        for _ in 0..<2 {
            for k in 0..<1500 {
                let r = Array("c\(k)".utf8).withUnsafeBufferPointer { b in big.role(b) { _, _, _ in role(k) } }
                #expect(r == role(k))
            }
        }
        #expect([UInt8]().withUnsafeBufferPointer { b in t.role(b) { _, _, _ in .financial } } == .financial)
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

    /// The byte classes the kernels find, byte by byte.
    static let classes: [(name: String, kernel: @Sendable (UnsafeBufferPointer<UInt8>, Int, Int) -> Int, byte: @Sendable (UInt8) -> Bool)] = [
        ("string end", { ByteSkip.stringEnd(in: $0, from: $1, end: $2) }, { $0 == 0x22 || $0 == 0x5C }),
        ("identifier start", { ByteSkip.identifierStart(in: $0, from: $1, end: $2) }, { isDigit($0) || $0 == 0x40 }),
        ("scan start", { ByteSkip.scanStart(in: $0, from: $1, end: $2) }, { isDigit($0) || $0 == 0x40 || $0 == 0xEF }),
        ("cell end ,", { ByteSkip.cellEnd(in: $0, from: $1, end: $2, delimiter: 0x2C) }, { $0 == 0x2C || $0 == 0x0A || $0 == 0x0D }),
        ("cell end tab", { ByteSkip.cellEnd(in: $0, from: $1, end: $2, delimiter: 0x09) }, { $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }),
        ("byte \"", { ByteSkip.byte(0x22, in: $0, from: $1, end: $2) }, { $0 == 0x22 }),
        ("quoted cell end", { ByteSkip.quotedCellEnd(in: $0, from: $1, end: $2) }, { $0 == 0x22 }),
        ("byte EF", { ByteSkip.byte(0xEF, in: $0, from: $1, end: $2) }, { $0 == 0xEF }),
        ("non-ASCII", { p, from, end in
            from >= end ? end : from + ByteSkip.asciiPrefix(UnsafeBufferPointer(rebasing: p[from..<end])) }, { $0 >= 0x80 }),
        ("digit-run end", { ByteSkip.digitRunEnd(in: $0, from: $1, end: $2) }, { !isDigit($0) }),
        // The long-value scan of `stringEnd(clear:)`: AVX2 where the CPU has it.
        ("value class", { p, from, end in from >= end ? end : ck_first_value_class(p.baseAddress!, from, end) },
         { $0 == 0x22 || $0 == 0x5C || $0 == 0x40 || isDigit($0) || $0 >= 0x80 }),
    ]

    /// Random bytes, mostly of no class so the skips are long, with every class's bytes and their
    /// neighbours (`/` and `:` around the digits, 0x7F/0x80 around ASCII), and some digit runs.
    static func randomBytes(_ n: Int, _ rng: inout SplitMix64) -> [UInt8] {
        let alphabet: [UInt8] = Array("ab\"\\@09/:,{} \t\r\n".utf8) + [0x7F, 0x80, 0xBF, 0xEF, 0xBC, 0xFF, 0x3F, 0x41, 0xB0, 0xC0, 0xE4]
        var bytes = [UInt8]()
        while bytes.count < n {
            switch rng.next() % 32 {
            case 0: bytes += Array("13812345678".utf8)
            case 1...6: bytes.append(alphabet[Int(rng.next() % UInt64(alphabet.count))])
            default: bytes.append(UInt8(ascii: "x") &+ UInt8(rng.next() % 3))
            }
        }
        return Array(bytes.prefix(n))
    }

    @Test("SSE2 kernels find the same first byte as a byte loop: every length 0–100, alignment and start")
    func kernels() {
        var rng = SplitMix64(state: 2026)
        // One buffer per length, placed at every alignment of a 16-byte boundary.
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: 128 + 16, alignment: 16)
        defer { storage.deallocate() }
        for n in 0...100 {
            for round in 0..<3 {
                // A sparse buffer and, in one round of three, one where every byte may match.
                let bytes = round == 2 ? (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) } : Self.randomBytes(n, &rng)
                for align in 0..<16 {
                    let base = storage.baseAddress!.advanced(by: align).assumingMemoryBound(to: UInt8.self)
                    bytes.withUnsafeBufferPointer { _ = UnsafeMutableBufferPointer(start: base, count: n).initialize(from: $0) }
                    let p = UnsafeBufferPointer(start: base, count: n)
                    for c in Self.classes {
                        for from in 0...n {
                            let naive = (from..<n).first { c.byte(p[$0]) } ?? n
                            let found = c.kernel(p, from, n)
                            if found != naive {
                                Issue.record("\(c.name): \(found) instead of \(naive) in \(bytes) from \(from), alignment \(align)")
                                return
                            }
                        }
                    }
                }
            }
        }
    }

    @Test("a string value's end found with where its scan could start: the same end, and no scan-start byte before `clear`")
    func stringEndClear() {
        var rng = SplitMix64(state: 11)
        func check(_ bytes: [UInt8]) -> Bool {
            bytes.withUnsafeBufferPointer { p in
                for from in 0...p.count {
                    var clear = -1
                    let j = ByteSkip.stringEnd(in: p, from: from, end: p.count, clear: &clear)
                    let scan = ByteSkip.scanStart(in: p, from: from, end: p.count)
                    guard j == ByteSkip.stringEnd(in: p, from: from, end: p.count), clear >= from, clear <= j,
                          scan >= clear else {
                        Issue.record("end \(j), clear \(clear), scan start \(scan) in \(Array(p)) from \(from)")
                        return false
                    }
                }
                return true
            }
        }
        for n in 0...120 {
            for round in 0..<3 {
                let bytes = round == 2 ? (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) } : Self.randomBytes(n, &rng)
                guard check(bytes) else { return }
            }
        }
        // A long note: one digit, `@`, 0xEF or other high byte at every position, the end after it or before it.
        for hit: UInt8 in [0x35, 0x40, 0xEF, 0xE4] {
            for at in 0..<200 {
                var bytes = [UInt8](repeating: UInt8(ascii: "x"), count: 200)
                bytes[at] = hit
                guard check(bytes + [0x22]), check(Array(bytes[..<at]) + [0x5C] + Array(bytes[at...])) else { return }
                // From the start, `clear` is the hit itself (the long scan, past 144 bytes, too).
                var clear = -1
                let whole = bytes + [0x22]
                _ = whole.withUnsafeBufferPointer { ByteSkip.stringEnd(in: $0, from: 0, end: whole.count, clear: &clear) }
                #expect(clear == at, "hit \(hit) at \(at)")
            }
        }
    }

    @Test("kernels over long runs without a match (64 bytes a step): one byte of the class at every position of 0–300 bytes")
    func kernelRuns() {
        let n = 300
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: n + 16, alignment: 16)
        defer { storage.deallocate() }
        for c in Self.classes {
            let hits = (0...255).map { UInt8($0) }.filter { c.byte($0) }
            let filler = (0...255).map { UInt8($0) }.first { !c.byte($0) }!
            for align in [0, 5, 15] {
                let base = storage.baseAddress!.advanced(by: align).assumingMemoryBound(to: UInt8.self)
                for at in 0...n {
                    // `at == n`: no byte of the class at all.
                    for k in 0..<n { base[k] = filler }
                    if at < n { base[at] = hits[at % hits.count] }
                    for from in [0, 1, 16, 17, 63, 80, 200] where from <= n {
                        let p = UnsafeBufferPointer(start: base, count: n)
                        let naive = (from..<n).first { c.byte(p[$0]) } ?? n
                        let found = c.kernel(p, from, n)
                        if found != naive {
                            Issue.record("\(c.name): \(found) instead of \(naive), class byte at \(at), from \(from), alignment \(align)")
                            return
                        }
                    }
                }
            }
        }
    }

    @Test("word-wise equality: every length 0–40, a difference at every position")
    func equality() {
        for n in 0...40 {
            let x = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            #expect(x.withUnsafeBytes { a in x.withUnsafeBytes { b in ByteSkip.equal(a.baseAddress ?? UnsafeRawPointer(bitPattern: 8)!, b.baseAddress ?? UnsafeRawPointer(bitPattern: 8)!, count: n) } })
            for k in 0..<n {
                var y = x
                y[k] ^= 0x20
                let same = x.withUnsafeBytes { a in y.withUnsafeBytes { b in ByteSkip.equal(a.baseAddress!, b.baseAddress!, count: n) } }
                #expect(!same, "length \(n), byte \(k)")
            }
        }
    }

    @Test("member-name keys: equal for equal names, different at every length up to 16 for a difference at every byte")
    func nameKeys() {
        for n in 0...40 {
            let x = (0..<n).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            let kx = x.withUnsafeBufferPointer { NameKey($0) }
            #expect(kx == x.withUnsafeBufferPointer { NameKey($0) })
            #expect(kx != (x + [0]).withUnsafeBufferPointer { NameKey($0) }, "length \(n) vs one more")
            guard n <= NameKey.wholeBytes else { continue }
            for k in 0..<n {
                var y = x
                y[k] ^= 0x20
                #expect(kx != y.withUnsafeBufferPointer { NameKey($0) }, "length \(n), byte \(k)")
            }
        }
    }

    @Test("member names past the recent-name cache: long names sharing head and tail, 600 distinct names, whole and in pieces")
    func manyMemberNames() throws {
        // Names longer than 16 bytes that differ only in the middle share a NameKey; many names
        // thrash the direct-mapped cache. Each record's resident ID sits under one of them, and the
        // names that mean `real name` must still be told from the others.
        var records: [String] = []
        let ids = ["110101199003070011", "11010119900307002X", "440301198506150032", "310101197811110040"]
        for r in 0..<600 {
            let id = ids[r % ids.count]
            records.append("{\"field_\(r)_padding_x\": \"\(r)\", \"customer_realname_value\": \"\(["张三", "李四", "王五", "赵六"][r % 4])\", \"customer_xxxxname_value\": \"Lucky\", \"sfzh\": \"\(id)\"}")
        }
        let body = Array(("[" + records.joined(separator: ",") + "]").utf8)
        let whole = inspect(body, type: "application/json")
        #expect(whole.records == 600)
        #expect(whole.subjects.count == 4)
        #expect(whole[.idNumber] == 4 && whole[.name] == 4)
        for size in [7, 64] {
            let r = inspect(body, type: "application/json", chunks: [size])
            #expect(r.records == whole.records && r.subjects.map(\.key).sorted() == whole.subjects.map(\.key).sorted())
            #expect(r.kindCounts == whole.kindCounts)
        }
    }

    /// The UTF-8 test the kernel replaced, byte by byte.
    static func naiveValidUTF8(_ b: [UInt8], final: Bool) -> Bool {
        var i = 0
        while i < b.count {
            let c = b[i]
            if c < 0x80 { i += 1; continue }
            let len: Int
            if c & 0xE0 == 0xC0 && c >= 0xC2 { len = 2 } else if c & 0xF0 == 0xE0 { len = 3 } else if c & 0xF8 == 0xF0 && c <= 0xF4 { len = 4 } else { return false }
            if i + len > b.count { return !final }
            for k in 1..<len where b[i + k] & 0xC0 != 0x80 { return false }
            i += len
        }
        return true
    }

    /// Both of the kernel's paths: as dispatched (32-byte AVX2 blocks where the CPU has them) and
    /// with 16-byte blocks only (what a CPU without AVX2 runs).
    static func kernelUTF8(_ b: [UInt8], final: Bool) -> (Bool, Bool) {
        b.withUnsafeBufferPointer { p in
            guard let base = p.baseAddress else { return (true, true) }
            return (CharsetDecoder.validUTF8(p, final: final), ck_utf8_valid_narrow(base, p.count, final ? 1 : 0) != 0)
        }
    }

    @Test("UTF-8 kernel: the same verdict as a byte loop, cut last sequences included")
    func utf8Kernel() {
        var rng = SplitMix64(state: 7)
        let pieces: [[UInt8]] = [Array("ab".utf8), Array("张".utf8), Array("😀".utf8), Array("é".utf8), [0x80], [0xC1, 0x80],
                                 [0xF5, 0x80, 0x80, 0x80], [0xE4, 0xB8], [0xE4, 0x41], [0xF0, 0x9F, 0x98], Array(String(repeating: "x", count: 20).utf8)]
        for _ in 0..<3_000 {
            var bytes: [UInt8] = []
            let parts = Int(rng.next() % 12)
            for _ in 0..<parts {
                // Mostly valid text, sometimes a broken piece.
                let k = rng.next() % 8 == 0 ? Int(rng.next() % UInt64(pieces.count)) : [0, 1, 2, 3, 10][Int(rng.next() % 5)]
                bytes += pieces[k]
            }
            for final in [true, false] {
                let (wide, narrow) = Self.kernelUTF8(bytes, final: final)
                let naive = Self.naiveValidUTF8(bytes, final: final)
                #expect(wide == naive && narrow == naive, "\(bytes) final \(final)")
            }
        }
    }

    @Test("UTF-8 kernel on long mixed CJK text: the byte loop's verdict with any one byte changed, at every start of a 32-byte block")
    func utf8KernelLongRuns() {
        var rng = SplitMix64(state: 11)
        let pieces: [[UInt8]] = [Array("北京市朝阳区建国路".utf8), Array("88号".utf8), Array("，".utf8), Array("é".utf8), Array("😀".utf8),
                                 Array("a".utf8), Array("张三".utf8), Array("ß".utf8)]
        let changes: [UInt8] = [0x41, 0x80, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xEF, 0xF0, 0xF4, 0xF5, 0xF7, 0xF8, 0xFF]
        for _ in 0..<300 {
            var text: [UInt8] = []
            // Past two and three 32-byte blocks now and then.
            let length = rng.next() % 4 == 0 ? 70 + Int(rng.next() % 60) : 40 + Int(rng.next() % 40)
            while text.count < length { text += pieces[Int(rng.next() % UInt64(pieces.count))] }
            for _ in 0..<20 {
                var bytes = text
                bytes[Int(rng.next() % UInt64(bytes.count))] = changes[Int(rng.next() % UInt64(changes.count))]
                for start in 0..<min(bytes.count, 34) {
                    let b = Array(bytes[start...])
                    for final in [true, false] {
                        let (wide, narrow) = Self.kernelUTF8(b, final: final)
                        let naive = Self.naiveValidUTF8(b, final: final)
                        #expect(wide == naive && narrow == naive, "\(b) final \(final)")
                    }
                }
            }
            let whole = text.withUnsafeBufferPointer { CharsetDecoder.validUTF8($0, final: true) }
            #expect(whole == Self.naiveValidUTF8(text, final: true))
        }
    }

    @Test("\\u escapes of one- to four-byte characters (a surrogate pair) read as the characters, in names and values; a lone high surrogate is dropped")
    func unicodeEscapes() {
        let escaped = #"[{"\u59d3\u540d":"Zo\u00eb \u674e\ud83d\ude00","addr":"\u5317\u4eac\u5e02 A\u5ea7 12\u53f7"},{"name":"\u0041\u006ey","address":"x\ud83dy\u4e0a\u6d77\u5e02"}]"#
        let literal = #"[{"姓名":"Zoë 李😀","addr":"北京市 A座 12号"},{"name":"Any","address":"xy上海市"}]"#
        let a = json(escaped), b = json(literal)
        #expect(a.count == 2 && a[.name] == 2 && a[.address] == 2)
        #expect(a.subjects.map(\.key).sorted() == b.subjects.map(\.key).sorted())
        #expect(a.subjects.map(\.masked).sorted() == b.subjects.map(\.masked).sorted())
    }

    @Test("escapes decoded in one go and escapes read a byte at a time (cut anywhere) give the same result; a malformed one is reported where it lies")
    func escapesWholeAndCut() {
        let body = #"[{"\u59d3\u540d":"\u674e\u56db\ud83d\ude00","addr":"\u5317\u4eac\u5e02\n\"A\"\/\\\u5ea7 12\u53f7","tel":"\u0031\u0033\u0038\u0031\u0032\u0033\u0034\u0035\u0036\u0037\u0038"},"#
            + #"{"name":"\u5f20\u4e09\ud83d","address":"\u4e0a\u6d77\u5e02\t\b\f\r","mobile":"139\u00001234\u00005678"}]"#
        let bytes = Array(body.utf8)
        let whole = inspect(bytes, type: "application/json")
        #expect(whole.count == 2 && whole[.mobile] == 1 && whole[.name] == 2 && whole.uninspectable == nil)
        for size in [1, 2, 3, 5, 6, 7, 11] {
            let r = inspect(bytes, type: "application/json", chunks: [size])
            #expect(r.subjects.map(\.key).sorted() == whole.subjects.map(\.key).sorted(), "chunks of \(size)")
            #expect(r.kindCounts == whole.kindCounts)
        }
        for bad in [#"[{"a":"x\u12G4"}]"#, #"[{"a":"x\q"}]"#, #"[{"a":"\u00e9\u12"}]"#] {
            let reasons = [nil, [1], [4]].map { inspect(Array(bad.utf8), type: "application/json", chunks: $0).uninspectable }
            #expect(reasons[0] != nil && reasons.allSatisfy { $0 == reasons[0] }, "\(bad): \(reasons)")
        }
    }

    @Test("scopes nested past the assembler's first slots (40 objects deep) keep each level's people apart")
    func deepScopes() {
        // Each level holds a different person; levels are closed and reopened as the records go on,
        // so slots are reused after the storage has grown.
        func level(_ d: Int) -> String {
            let phone = "1380013\(String(format: "%04d", d))"
            return d == 40 ? #"{"tel":"\#(phone)"}"# : #"{"tel":"\#(phone)","next":\#(level(d + 1))}"#
        }
        let body = "[" + Array(repeating: level(1), count: 3).joined(separator: ",") + "]"
        for chunks in [nil, [5], [64]] as [[Int]?] {
            let r = inspect(body, type: "application/json", chunks: chunks)
            #expect(r.records == 3 && r[.mobile] == 40 && r.subjects.count == 40)
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

    @Test("a scope holding many values of one kind (past the per-scope set) keeps each value and account id once")
    func manyValuesInOneScope() {
        let emails = (0..<100).map { "\"user\($0)@example.com\"" }
        // Repeats after the set has been made, and a name given twice once it exists.
        let repeated = json(#"{"emails": [\#((emails + emails[..<50]).joined(separator: ","))], "name": "张三", "姓名": "张三"}"#)
        let once = json(#"{"emails": [\#(emails.joined(separator: ","))], "name": "张三"}"#)
        #expect(repeated[.email] == 100 && repeated[.name] == 1)
        #expect(repeated.subjects.count == 1)
        #expect(repeated.subjects.map(\.key) == once.subjects.map(\.key))
        #expect(repeated.kindCounts == once.kindCounts)
        // Forty account ids (and two again) in one record; the last links the next record's person.
        let uids = (0..<40).map { "\"u\($0)\"" } + [#""u0""#, #""u5""#]
        let linked = json(#"[{"uid": [\#(uids.joined(separator: ","))], "email": "a@example.com"}, {"uid": "u39", "email": "b@example.com"}]"#)
        #expect(linked.records == 2 && linked[.email] == 2)
        #expect(linked.subjects.count == 1)
    }

    @Test("a scope with many names and addresses makes no name + address pair per combination")
    func manyNamesAndAddressesInOneScope() {
        // 100 × 100 pairs, past `SubjectTable.maxPairLinks`: the values count, the pairs are not
        // made, so a later record with one of the names at one of the addresses is someone else.
        let names = (0..<100).map { "\"张\(Character(Unicode.Scalar(0x4E00 + $0 / 10)!))\(Character(Unicode.Scalar(0x4E00 + $0 % 10)!))\"" }
        let addresses = (0..<100).map { "\"北京市朝阳区建国路\($0)号\"" }
        let r = json(#"[{"name": [\#(names.joined(separator: ","))], "address": [\#(addresses.joined(separator: ","))]}, {"name": \#(names[0]), "address": \#(addresses[0])}]"#)
        #expect(r.records == 2 && r[.name] == 100 && r[.address] == 100)
        #expect(r.subjects.count == 2)
        // Under the bound, the pair still links: 10 × 10.
        let few = json(#"[{"name": [\#(names[..<10].joined(separator: ","))], "address": [\#(addresses[..<10].joined(separator: ","))]}, {"name": \#(names[0]), "address": \#(addresses[0])}]"#)
        #expect(few.subjects.count == 1)
    }
}
