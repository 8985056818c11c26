import Testing
@testable import Inspection

/// `ValueBuffer` keeps its own count over storage that only grows: it must hold and spill exactly
/// what an array-backed buffer did.
@Suite("Value buffer")
struct ValueBufferTests {
    /// The array model: spill the whole window when the next bytes would pass the limit, keep its
    /// last `overlap` bytes.
    struct Model {
        var bytes: [UInt8] = []
        var flushed: [[UInt8]] = []
        /// Nothing spilled since the model was last emptied.
        var whole = true
        let limit: Int
        mutating func append(_ s: [UInt8]) {
            if bytes.count + s.count > limit { spill() }
            if s.count > limit {
                for c in s { if bytes.count >= limit { spill() }; bytes.append(c) }
            } else {
                bytes += s
            }
        }
        mutating func spill() {
            flushed.append(bytes)
            whole = false
            bytes = Array(bytes.suffix(ValueBuffer.overlap))
        }
    }

    @Test("appends of every size, past the first storage and the limit, spill as the array model did")
    func appendsAndSpills() {
        var rng = SystemRandomNumberGenerator()
        for limit in [100, 300, 1_000] {
            var buffer = ValueBuffer(limit: limit)
            var model = Model(limit: limit)
            var flushed: [[UInt8]] = []
            var next: UInt8 = 0
            for _ in 0..<400 {
                let n = Int.random(in: 0...(limit + 50), using: &rng)
                let s = (0..<n).map { _ -> UInt8 in next &+= 1; return next }
                if n == 1 && Bool.random(using: &rng) {
                    buffer.append(s[0]) { flushed.append(Array($0)) }
                    model.append(s)
                } else {
                    s.withUnsafeBufferPointer { p in buffer.append(p) { flushed.append(Array($0)) } }
                    model.append(s)
                }
                #expect(Array(buffer.bytes) == model.bytes)
                #expect(buffer.count == model.bytes.count)
                // `whole` lets the parsers skip a value's UTF-8 check: it must drop at every spill.
                #expect(buffer.whole == model.whole)
                if Int.random(in: 0..<20, using: &rng) == 0 {
                    var taken: [UInt8] = []
                    buffer.take { taken = Array($0) }
                    #expect(taken == model.bytes)
                    #expect(buffer.isEmpty && buffer.whole)
                    model.bytes = []
                    model.whole = true
                }
            }
            #expect(flushed == model.flushed)
            #expect(!flushed.isEmpty)
        }
    }

    @Test("unlimited appends grow the storage; emptying keeps or gives it back as asked")
    func unlimitedAndEmptying() {
        var buffer = ValueBuffer(limit: 8)
        let long = (0..<5_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        long.withUnsafeBufferPointer { buffer.appendUnlimited($0) }
        buffer.appendUnlimited(0xAB)
        #expect(Array(buffer.bytes) == long + [0xAB])
        buffer.removeAll(keepingUpTo: 65_536)
        #expect(buffer.isEmpty && buffer.bytes.isEmpty && buffer.whole)
        long.withUnsafeBufferPointer { buffer.appendUnlimited($0) }
        buffer.removeAll(keepingUpTo: 1_000)
        #expect(buffer.isEmpty)
        buffer.appendUnlimited(1)
        #expect(Array(buffer.bytes) == [1])
        // Decoding in place through `mutableBytes` is seen by `bytes`.
        buffer.mutableBytes[0] = 2
        #expect(Array(buffer.bytes) == [2])
    }
}

/// A value the parser copied whole (a JSON string with escapes, a CSV cell with doubled quotes)
/// skips its own UTF-8 check when the input was checked: it must key exactly as the same value
/// read in place, whole or cut into chunks (where the input is not checked past the window).
@Suite("Whole copies")
struct WholeCopyTests {
    private func keys(_ r: InspectionResult) -> [String] {
        r.subjects.map { "\($0.key.hi):\($0.key.lo):\($0.kinds.map(\.rawValue).sorted())" }.sorted()
    }

    @Test("escaped JSON names and quoted CSV cells key as their plain spellings")
    func escapedAndQuoted() {
        let plainJSON = #"[{"name": "张伟", "email": "zw@example.cn", "address": "北京市朝阳区建国路88号"}]"#
        let escapedJSON = #"[{"name": "\u5f20\u4f1f", "email": "zw@example.cn", "address": "北京市朝阳区\u5efa国路88号"}]"#
        let plain = keys(inspect(plainJSON, type: "application/json"))
        #expect(plain.count == 1)
        for chunks in [nil, [1], [7], [5, 13]] as [[Int]?] {
            #expect(keys(inspect(escapedJSON, type: "application/json", chunks: chunks)) == plain)
        }
        let plainCSV = "name,email,address\n张伟,zw@example.cn,北京市朝阳区建国路88号\n"
        let quotedCSV = "name,email,address\n\"张伟\",zw@example.cn,\"北京市朝阳区\"\"建国路\"\"88号\"\n"
        let plainRows = keys(inspect(plainCSV, type: "text/csv"))
        #expect(plainRows.count == 1)
        let unquoted = "name,email,address\n张伟,zw@example.cn,北京市朝阳区\"建国路\"88号\n"
        for chunks in [nil, [1], [7], [5, 13]] as [[Int]?] {
            #expect(keys(inspect(quotedCSV, type: "text/csv", chunks: chunks)) == keys(inspect(unquoted, type: "text/csv")))
        }
    }

    @Test("a body with a UTF-8 BOM (checked in its window) keys as without it; one not UTF-8 after it is still read")
    func byteOrderMark() {
        let rows = "姓名,邮箱,地址\n张伟,zw@example.cn,北京市朝阳区建国路88号\n李娜,ln@example.cn,上海市浦东新区世纪大道100号\n"
        let plain = keys(inspect(rows, type: "text/csv"))
        #expect(plain.count == 2)
        for chunks in [nil, [1], [7], [5, 13]] as [[Int]?] {
            #expect(keys(inspect([0xEF, 0xBB, 0xBF] + Array(rows.utf8), type: "text/csv", chunks: chunks)) == plain)
        }
        // A stray 0xFF after the mark: the window fails the check, so each value is checked alone.
        var bad = [0xEF, 0xBB, 0xBF] + Array(rows.utf8)
        bad.insert(0xFF, at: bad.count - 20)
        let r = inspect(bad, type: "text/csv")
        #expect(r.uninspectable == nil)
        #expect(r.subjects.count == 2)
        #expect(r[.email] == 2)
    }
}
