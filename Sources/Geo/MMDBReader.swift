import CustomsCore

/// Reads MaxMind DB (`.mmdb`) files natively: the metadata, the binary search tree and enough
/// of the data section to take `country.iso_code` (else `registered_country.iso_code`) for
/// every network in the tree. See the MaxMind DB File Format Specification 2.0.
struct MMDBReader {
    static let marker: [UInt8] = [0xAB, 0xCD, 0xEF] + Array("MaxMind.com".utf8)

    indirect enum Value {
        case string(String)
        case uint(UInt128)
        case int(Int32)
        case double(Double)
        case bool(Bool)
        case bytes(Int)
        case map([(String, Value)])
        case array([Value])

        subscript(key: String) -> Value? {
            if case .map(let pairs) = self { return pairs.first { $0.0 == key }?.1 }
            return nil
        }
        var uint: UInt128? { if case .uint(let v) = self { return v } else { return nil } }
        var string: String? { if case .string(let s) = self { return s } else { return nil } }
    }

    let path: String
    let b: [UInt8]
    let nodeCount: Int
    let recordSize: Int
    let ipVersion: Int
    let metadata: Value
    private let treeSize: Int

    /// The offset where the metadata map starts, if `bytes` has the MaxMind marker in its last 128 KiB.
    static func metadataStart(_ b: [UInt8]) -> Int? {
        let m = marker
        guard b.count >= m.count else { return nil }
        var i = b.count - m.count
        let floor = max(0, b.count - 128 * 1024)
        while i >= floor {
            if b[i] == m[0] && Array(b[i..<(i + m.count)]) == m { return i + m.count }
            i -= 1
        }
        return nil
    }

    init(bytes: [UInt8], path: String) throws(GeoError) {
        self.path = path
        b = bytes
        guard let ms = Self.metadataStart(bytes) else {
            throw GeoError(file: path, "not a MaxMind DB file (no metadata marker)")
        }
        var o = ms
        let meta = try Self.decode(bytes, &o, base: ms, path: path, depth: 0)
        metadata = meta
        func field(_ k: String) throws(GeoError) -> Int {
            guard let v = meta[k]?.uint, v <= UInt128(Int.max) else { throw GeoError(file: path, "metadata has no '\(k)'") }
            return Int(v)
        }
        nodeCount = try field("node_count")
        recordSize = try field("record_size")
        ipVersion = try field("ip_version")
        let major = try field("binary_format_major_version")
        guard major == 2 else { throw GeoError(file: path, "MaxMind DB format version \(major) is not supported (only 2)") }
        guard [24, 28, 32].contains(recordSize) else { throw GeoError(file: path, "record size \(recordSize) is not 24, 28 or 32") }
        guard ipVersion == 4 || ipVersion == 6 else { throw GeoError(file: path, "ip_version \(ipVersion) is not 4 or 6") }
        treeSize = nodeCount * recordSize / 4
        guard nodeCount * recordSize / 4 + 16 <= ms - Self.marker.count else {
            throw GeoError(file: path, "search tree of \(nodeCount) nodes does not fit in the file")
        }
    }

    var date: String? {
        guard let epoch = metadata["build_epoch"]?.uint, epoch < UInt128(1) << 40 else { return nil }
        return CivilDate.isoDate(epochSeconds: Int64(epoch))
    }

    var databaseType: String { metadata["database_type"]?.string ?? "mmdb" }

    private func record(_ node: Int, _ right: Bool) -> Int {
        let o = node * recordSize / 4
        switch recordSize {
        case 24:
            let p = o + (right ? 3 : 0)
            return Int(b[p]) << 16 | Int(b[p + 1]) << 8 | Int(b[p + 2])
        case 28:
            if right { return Int(b[o + 3] & 0x0F) << 24 | Int(b[o + 4]) << 16 | Int(b[o + 5]) << 8 | Int(b[o + 6]) }
            return Int(b[o + 3] & 0xF0) << 20 | Int(b[o]) << 16 | Int(b[o + 1]) << 8 | Int(b[o + 2])
        default:
            let p = o + (right ? 4 : 0)
            return Int(b[p]) << 24 | Int(b[p + 1]) << 16 | Int(b[p + 2]) << 8 | Int(b[p + 3])
        }
    }

    /// Adds every network of the tree to `c`. In an IPv6 tree, ::/96 holds IPv4; other paths
    /// to that subtree (the ::ffff:0:0/96 and 2002::/16 aliases) are skipped.
    func read(into c: inout RangeCollector) throws(GeoError) {
        let bits = ipVersion == 6 ? 128 : 32
        var v4Root = -1
        if ipVersion == 6 {
            var n = 0
            for _ in 0..<96 where n < nodeCount { n = record(n, false) }
            v4Root = n < nodeCount ? n : -1
        }
        var cache: [Int: UInt16] = [:]
        var stack: [(node: Int, depth: Int, prefix: UInt128)] = [(0, 0, 0)]
        var visits = 0
        while let (node, depth, prefix) = stack.popLast() {
            visits += 1
            guard visits <= 4 * nodeCount + 1024 else { throw GeoError(file: path, "search tree has cycles") }
            for right in [true, false] {   // pushed right first so the left half comes out first
                let r = record(node, right)
                let d = depth + 1
                let p = right ? prefix | (UInt128(1) << (bits - d)) : prefix
                if r < nodeCount {
                    guard d < bits else { throw GeoError(file: path, "search tree deeper than \(bits) bits at node \(node)") }
                    if r == v4Root && !(d == 96 && p == 0) { continue }
                    stack.append((r, d, p))
                } else if r > nodeCount {
                    let offset = treeSize + (r - nodeCount)
                    guard offset < b.count else { throw GeoError(file: path, "node \(node) points past the data section") }
                    let value: UInt16
                    if let v = cache[offset] { value = v } else { value = try country(at: offset); cache[offset] = value }
                    let size: UInt128 = bits - d == 128 ? .max : (UInt128(1) << (bits - d)) - 1
                    let isV4 = bits == 32 || (d >= 96 && p >> 32 == 0)
                    let start = isV4 ? p & 0xFFFF_FFFF : p
                    if value == 0 {
                        c.drop(code: "", v4: isV4, addresses: size &+ 1, line: 0)
                    } else {
                        try c.add(v4: isV4, start: start, end: start + size, country: CountryCode(raw: value), line: 0)
                    }
                }
            }
        }
    }

    /// The country of the record at `offset`: 0 when it has none. Codes that are not ISO
    /// countries count as none.
    private func country(at offset: Int) throws(GeoError) -> UInt16 {
        var o = offset
        let v = try Self.decode(b, &o, base: treeSize + 16, path: path, depth: 0)
        for key in ["country", "registered_country"] {
            if let code = v[key]?["iso_code"]?.string, let cc = CountryCode(code), CountryCodes.isKnown(cc) {
                return cc.raw
            }
        }
        return 0
    }

    static func decode(_ b: [UInt8], _ o: inout Int, base: Int, path: String, depth: Int) throws(GeoError) -> Value {
        func fail(_ m: String) -> GeoError { GeoError(file: path, "data section at byte \(o): \(m)") }
        guard depth < 64 else { throw fail("nesting too deep") }
        func byte() throws(GeoError) -> Int {
            guard o < b.count else { throw fail("truncated") }
            defer { o += 1 }
            return Int(b[o])
        }
        func be(_ n: Int) throws(GeoError) -> UInt128 {
            var v: UInt128 = 0
            for _ in 0..<n { v = v << 8 | UInt128(try byte()) }
            return v
        }
        let ctrl = try byte()
        var type = ctrl >> 5
        if type == 1 {
            let ss = (ctrl >> 3) & 3, vvv = ctrl & 7
            let target: Int
            switch ss {
            case 0: target = vvv << 8 | Int(try be(1))
            case 1: target = (vvv << 16 | Int(try be(2))) + 2048
            case 2: target = (vvv << 24 | Int(try be(3))) + 526_336
            default: target = Int(try be(4))
            }
            var t = base + target
            guard t < b.count else { throw fail("pointer \(target) past the end") }
            return try decode(b, &t, base: base, path: path, depth: depth + 1)
        }
        if type == 0 { type = 7 + (try byte()) }
        var size = ctrl & 0x1F
        if size == 29 { size = 29 + Int(try be(1)) } else if size == 30 { size = 285 + Int(try be(2)) } else if size == 31 { size = 65_821 + Int(try be(3)) }
        switch type {
        case 2:
            guard o + size <= b.count else { throw fail("string runs past the end") }
            defer { o += size }
            return .string(String(decoding: b[o..<(o + size)], as: UTF8.self))
        case 3:
            guard size == 8 else { throw fail("double of size \(size)") }
            return .double(Double(bitPattern: UInt64(try be(8))))
        case 4:
            guard o + size <= b.count else { throw fail("bytes run past the end") }
            o += size
            return .bytes(size)
        case 5, 6, 9, 10:
            guard size <= [5: 2, 6: 4, 9: 8, 10: 16][type]! else { throw fail("unsigned integer of \(size) bytes") }
            return .uint(try be(size))
        case 7:
            var pairs: [(String, Value)] = []
            pairs.reserveCapacity(size)
            for _ in 0..<size {
                guard case .string(let k) = try decode(b, &o, base: base, path: path, depth: depth + 1) else { throw fail("map key is not a string") }
                pairs.append((k, try decode(b, &o, base: base, path: path, depth: depth + 1)))
            }
            return .map(pairs)
        case 8:
            guard size <= 4 else { throw fail("int32 of \(size) bytes") }
            return .int(Int32(truncatingIfNeeded: UInt32(try be(size))))
        case 11:
            var items: [Value] = []
            for _ in 0..<size { items.append(try decode(b, &o, base: base, path: path, depth: depth + 1)) }
            return .array(items)
        case 14:
            return .bool(size != 0)
        case 15:
            guard size == 4 else { throw fail("float of size \(size)") }
            return .double(Double(Float(bitPattern: UInt32(try be(4)))))
        default:
            throw fail("unsupported data type \(type)")
        }
    }
}

/// Civil dates for table metadata, without Foundation.
enum CivilDate {
    static func isoDate(epochSeconds: Int64) -> String {
        let (y, m, d) = CivilDays.date(fromDayNumber: Int(epochSeconds / 86_400))
        func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
        return "\(y)-\(two(m))-\(two(d))"
    }
}

extension CivilDate {
    /// Midnight UTC of a `YYYY-MM-DD` date, or nil.
    static func epochSeconds(isoDate s: String) -> UInt64? {
        let p = s.split(separator: "-")
        guard p.count == 3, let y = Int64(p[0]), let m = Int64(p[1]), let d = Int64(p[2]),
              (1...12).contains(m), (1...31).contains(d), y >= 1970 else { return nil }
        let yy = m <= 2 ? y - 1 : y
        let era = yy / 400
        let yoe = yy - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return UInt64((era * 146_097 + doe - 719_468) * 86_400)
    }
}
