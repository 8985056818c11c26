#if canImport(Glibc)
import Glibc
#endif

/// Writes a table as a MaxMind DB (IPv6 tree with IPv4 at ::/96, 32-bit records, one
/// `{"country": {"iso_code": …}}` record per country), so the same data can be served to
/// libmaxminddb in benchmarks and MMDB import can be tested on real files.
struct MMDBWriter {
    private var left: [Int] = [-1]    // >= 0 a node, -1 empty, <= -2 data record -(2 + k)
    private var right: [Int] = [-1]
    private var records: [UInt16: Int] = [:]
    private var recordOrder: [UInt16] = []

    mutating func insert(start: UInt128, end: UInt128, country: UInt16) {
        let k: Int
        if let existing = records[country] { k = existing } else {
            k = recordOrder.count
            records[country] = k
            recordOrder.append(country)
        }
        var s = start
        while true {
            // The largest aligned block starting at s that ends by `end`.
            var len = 128 - min(s == 0 ? 128 : s.trailingZeroBitCount, 128)
            while len < 128 {
                let host: UInt128 = len == 0 ? .max : (UInt128(1) << (128 - len)) - 1
                if s | host <= end { break }
                len += 1
            }
            let host: UInt128 = len == 0 ? .max : (len == 128 ? 0 : (UInt128(1) << (128 - len)) - 1)
            insert(prefix: s, length: len, value: -(2 + k))
            let last = s | host
            if last >= end { return }
            s = last + 1
        }
    }

    private mutating func insert(prefix: UInt128, length: Int, value: Int) {
        precondition(length > 0, "a /0 network cannot be stored under the root")
        var node = 0
        for d in 0..<(length - 1) {
            let bit = prefix >> (127 - d) & 1 == 1
            var next = bit ? right[node] : left[node]
            if next < 0 {
                next = left.count
                left.append(-1); right.append(-1)
                if bit { right[node] = next } else { left[node] = next }
            }
            node = next
        }
        if prefix >> (128 - length) & 1 == 1 { right[node] = value } else { left[node] = value }
    }

    func bytes(description: String, buildEpoch: UInt64) -> [UInt8] {
        let nodeCount = left.count
        var data: [UInt8] = []
        var offsets: [Int] = []
        for cc in recordOrder {
            offsets.append(data.count)
            let code = String(decoding: [UInt8(cc >> 8), UInt8(cc & 0xFF)], as: UTF8.self)
            Self.map(&data, 1); Self.string(&data, "country")
            Self.map(&data, 1); Self.string(&data, "iso_code"); Self.string(&data, code)
        }
        func encode(_ r: Int) -> UInt32 {
            if r >= 0 { return UInt32(r) }
            if r == -1 { return UInt32(nodeCount) }
            return UInt32(nodeCount + 16 + offsets[-(r + 2)])
        }
        var out: [UInt8] = []
        out.reserveCapacity(nodeCount * 8 + 16 + data.count + 512)
        for i in 0..<nodeCount {
            for v in [encode(left[i]), encode(right[i])] {
                out += [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)]
            }
        }
        out += [UInt8](repeating: 0, count: 16)
        out += data
        out += MMDBReader.marker
        Self.map(&out, 9)
        Self.string(&out, "binary_format_major_version"); Self.uint(&out, 5, 2)
        Self.string(&out, "binary_format_minor_version"); Self.uint(&out, 5, 0)
        Self.string(&out, "build_epoch"); Self.uint(&out, 9, buildEpoch)
        Self.string(&out, "database_type"); Self.string(&out, "Customs-Country")
        Self.string(&out, "description"); Self.map(&out, 1); Self.string(&out, "en"); Self.string(&out, description)
        Self.string(&out, "ip_version"); Self.uint(&out, 5, 6)
        Self.string(&out, "languages"); Self.control(&out, 11, 1); Self.string(&out, "en")
        Self.string(&out, "node_count"); Self.uint(&out, 6, UInt64(nodeCount))
        Self.string(&out, "record_size"); Self.uint(&out, 5, 32)
        return out
    }

    private static func control(_ out: inout [UInt8], _ type: Int, _ size: Int) {
        let typeBits = type <= 7 ? UInt8(type << 5) : 0
        var sizeBits: UInt8
        var extra: [UInt8] = []
        switch size {
        case ..<29: sizeBits = UInt8(size)
        case ..<285: sizeBits = 29; extra = [UInt8(size - 29)]
        case ..<65_821: sizeBits = 30; let v = size - 285; extra = [UInt8(v >> 8), UInt8(v & 0xFF)]
        default: sizeBits = 31; let v = size - 65_821; extra = [UInt8(v >> 16), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)]
        }
        out.append(typeBits | sizeBits)
        if type > 7 { out.append(UInt8(type - 7)) }
        out += extra
    }

    private static func map(_ out: inout [UInt8], _ pairs: Int) { control(&out, 7, pairs) }

    private static func string(_ out: inout [UInt8], _ s: String) {
        control(&out, 2, s.utf8.count)
        out += Array(s.utf8)
    }

    private static func uint(_ out: inout [UInt8], _ type: Int, _ v: UInt64) {
        var bytes: [UInt8] = []
        var x = v
        while x > 0 { bytes.insert(UInt8(x & 0xFF), at: 0); x >>= 8 }
        control(&out, type, bytes.count)
        out += bytes
    }
}

extension CountryTable {
    /// This table (its own ranges, without overrides) as a MaxMind DB file.
    public func mmdbBytes(description: String = "Customs country table") -> [UInt8] {
        var w = MMDBWriter()
        for i in 0..<data.v4.count {
            w.insert(start: UInt128(data.v4.starts[i]), end: UInt128(data.v4.ends[i]), country: data.v4.values[i])
        }
        for i in 0..<data.v6.count {
            w.insert(start: data.v6.starts[i], end: data.v6.ends[i], country: data.v6.values[i])
        }
        return w.bytes(description: description, buildEpoch: CivilDate.epochSeconds(isoDate: data.date ?? "") ?? UInt64(max(1, time(nil))))
    }
}
