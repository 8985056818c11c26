import CZlib

/// The project's own binary table: loads with one read, no parsing.
///
///     0  "CUSTGEO\0"            magic
///     8  u32 version (1)        readers refuse other versions
///    12  u32 CRC-32 of payload  checked on every load
///    16  u64 payload length
///    24  payload: u32 v4 count, u32 v6 count, u16 date length, u16 source length, date, source,
///        zero padding to 8 bytes, then v4 starts, v4 ends (u32 each), v6 starts, v6 ends
///        (u64 high, u64 low each), v4 values, v6 values (u16 raw country codes).
///
/// All integers little-endian.
enum CompiledTable {
    static let magic: [UInt8] = Array("CUSTGEO\0".utf8)
    static let version: UInt32 = 1
    static let headerSize = 24

    static func isCompiled(_ bytes: [UInt8]) -> Bool {
        bytes.count >= headerSize && Array(bytes[0..<8]) == magic
    }

    static func encode(_ d: TableData) -> [UInt8] {
        var p = [UInt8]()
        let date = Array((d.date ?? "").utf8.prefix(0xFFFF)), source = Array(d.source.utf8.prefix(0xFFFF))
        p.reserveCapacity(64 + date.count + source.count + d.v4.count * 10 + d.v6.count * 34)
        put(&p, UInt32(d.v4.count)); put(&p, UInt32(d.v6.count))
        put(&p, UInt16(date.count)); put(&p, UInt16(source.count))
        p += date; p += source
        while p.count % 8 != 0 { p.append(0) }
        for v in d.v4.starts { put(&p, v) }
        for v in d.v4.ends { put(&p, v) }
        for v in d.v6.starts { put(&p, UInt64(truncatingIfNeeded: v >> 64)); put(&p, UInt64(truncatingIfNeeded: v)) }
        for v in d.v6.ends { put(&p, UInt64(truncatingIfNeeded: v >> 64)); put(&p, UInt64(truncatingIfNeeded: v)) }
        for v in d.v4.values { put(&p, v) }
        for v in d.v6.values { put(&p, v) }
        var out = magic
        put(&out, version)
        put(&out, crc(p, 0, p.count))
        put(&out, UInt64(p.count))
        return out + p
    }

    static func decode(_ b: [UInt8], path: String) throws(GeoError) -> TableData {
        guard isCompiled(b) else { throw GeoError(file: path, "not a compiled country table (bad magic)") }
        let v: UInt32 = get(b, 8)
        guard v == version else {
            throw GeoError(file: path, "compiled table version \(v) is not supported (this build reads version \(version)); re-run 'customs geo import'")
        }
        let length: UInt64 = get(b, 16)
        guard UInt64(b.count - headerSize) == length else {
            throw GeoError(file: path, "truncated or padded: header says \(length) payload bytes, file has \(b.count - headerSize)")
        }
        let stored: UInt32 = get(b, 12)
        let actual = crc(b, headerSize, b.count - headerSize)
        guard stored == actual else {
            throw GeoError(file: path, "checksum mismatch (stored CRC-32 \(hex(stored)), computed \(hex(actual))): the file is damaged")
        }
        var o = headerSize
        let n4 = Int(get(b, o) as UInt32), n6 = Int(get(b, o + 4) as UInt32)
        let dl = Int(get(b, o + 8) as UInt16), sl = Int(get(b, o + 10) as UInt16)
        o += 12
        let need = (12 + dl + sl + 7) / 8 * 8 + n4 * 10 + n6 * 34
        guard need <= Int(length) else { throw GeoError(file: path, "payload too short for \(n4) IPv4 and \(n6) IPv6 ranges") }
        let date = String(decoding: b[o..<(o + dl)], as: UTF8.self)
        let source = String(decoding: b[(o + dl)..<(o + dl + sl)], as: UTF8.self)
        o += dl + sl
        while (o - headerSize) % 8 != 0 { o += 1 }
        var d = TableData(date: date.isEmpty ? nil : date, source: source)
        d.v4.starts = array(b, &o, n4, UInt32.self)
        d.v4.ends = array(b, &o, n4, UInt32.self)
        d.v6.starts = wide(b, &o, n6)
        d.v6.ends = wide(b, &o, n6)
        d.v4.values = array(b, &o, n4, UInt16.self)
        d.v6.values = array(b, &o, n6, UInt16.self)
        try check(d.v4, v4: true, path: path)
        try check(d.v6, v4: false, path: path)
        return d
    }

    /// A file with a good checksum can still be written by a buggy tool: lookups rely on order.
    private static func check<K>(_ r: RangeList<K>, v4: Bool, path: String) throws(GeoError) {
        for i in 0..<r.count {
            guard r.starts[i] <= r.ends[i], i == 0 || r.ends[i - 1] < r.starts[i] else {
                throw GeoError(file: path, "\(v4 ? "IPv4" : "IPv6") range \(i) is out of order or overlaps its neighbour")
            }
            guard r.values[i] >= 0x4141 else { throw GeoError(file: path, "\(v4 ? "IPv4" : "IPv6") range \(i) has no country") }
        }
    }

    private static func crc(_ b: [UInt8], _ from: Int, _ count: Int) -> UInt32 {
        b.withUnsafeBufferPointer { p in
            var c = crc32(0, nil, 0)
            var o = from, left = count
            while left > 0 {
                let n = min(left, 1 << 30)
                c = crc32(c, p.baseAddress! + o, UInt32(n))
                o += n; left -= n
            }
            return UInt32(truncatingIfNeeded: c)
        }
    }

    private static func hex(_ v: UInt32) -> String {
        let h = String(v, radix: 16)
        return String(repeating: "0", count: 8 - h.count) + h
    }

    private static func put<T: FixedWidthInteger>(_ out: inout [UInt8], _ v: T) {
        withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
    }

    private static func get<T: FixedWidthInteger>(_ b: [UInt8], _ o: Int) -> T {
        b.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: o, as: T.self)) }
    }

    private static func array<T: FixedWidthInteger>(_ b: [UInt8], _ o: inout Int, _ n: Int, _: T.Type) -> [T] {
        let start = o
        o += n * MemoryLayout<T>.size
        return b.withUnsafeBytes { raw in
            [T](unsafeUninitializedCapacity: n) { buf, count in
                for i in 0..<n {
                    buf[i] = T(littleEndian: raw.loadUnaligned(fromByteOffset: start + i * MemoryLayout<T>.size, as: T.self))
                }
                count = n
            }
        }
    }

    private static func wide(_ b: [UInt8], _ o: inout Int, _ n: Int) -> [UInt128] {
        let pairs = array(b, &o, 2 * n, UInt64.self)
        return (0..<n).map { UInt128(pairs[2 * $0]) << 64 | UInt128(pairs[2 * $0 + 1]) }
    }
}
