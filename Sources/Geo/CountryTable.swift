import CustomsCore
#if canImport(Glibc)
import Glibc
#endif

/// What an address is: in a country, in a special-purpose range, or in no range of the table.
public enum GeoAnswer: Sendable, Hashable, CustomStringConvertible {
    case country(CountryCode)
    case special(SpecialRange)
    case unknown

    /// `US`, `loopback`, `unknown`: the word printed by `customs geo lookup` and logged.
    public var description: String {
        switch self {
        case .country(let c): return c.description
        case .special(let s): return s.rawValue
        case .unknown: return "unknown"
        }
    }

    public var country: CountryCode? {
        if case .country(let c) = self { return c } else { return nil }
    }
}

/// A summary of what a table holds (its own ranges, before special ranges and overrides).
public struct TableInfo: Sendable, Equatable {
    public let rangesV4: Int
    public let rangesV6: Int
    public let countries: Int
    public let date: String?
    public let source: String
    public let overrides: Int
}

/// The canonical content of a table: what imports produce and the compiled file stores.
struct TableData: Sendable, Equatable {
    var v4 = RangeList<UInt32>()
    var v6 = RangeList<UInt128>()
    var date: String?
    var source: String
}

/// An IP-to-country table, immutable after load and shared by every queue.
/// Lookups never allocate: a direct index on the top bits, then a short search in raw memory.
public final class CountryTable: Sendable {
    let data: TableData
    public let overrides: [GeoOverride]
    private let v4: SegmentIndex<UInt32>
    /// IPv6 by /64 (`split` marks a /64 with a boundary inside); `v6Full` answers those, and
    /// exists only when the data has such boundaries.
    private let v6: SegmentIndex<UInt64>
    private let v6Full: SegmentIndex<UInt128>?
    private static var split: UInt16 { 0xFF }

    init(data: TableData, overrides: [GeoOverride] = []) {
        self.data = data
        self.overrides = overrides
        var s4 = Segments(data.v4), s6 = Segments(data.v6)
        // Special ranges win over the table, overrides over both; within each layer the more
        // specific network is painted last so it wins.
        for layer in [Self.layers(SpecialRange.networks.map { ($0.network, $0.range.tableValue) }),
                      Self.layers(overrides.map { ($0.network, $0.country.raw) })] {
            for l in layer.v4 { s4 = s4.overlaid(with: l) }
            for l in layer.v6 { s6 = s6.overlaid(with: l) }
        }
        v4 = SegmentIndex(s4, bits: 16, subBits: 8)
        var fine: Segments<UInt128>? = nil
        v6 = SegmentIndex(Segments(high64: s6, split: Self.split, fine: &fine), bits: 20, subBits: 12)
        v6Full = fine.map { SegmentIndex($0, bits: 12, subBits: 8) }
    }

    /// Networks grouped by prefix length (shortest first), each group sorted; a network listed
    /// twice keeps its last value. Networks of one length never partly overlap.
    private static func layers(_ nets: [(IPNetwork, UInt16)]) -> (v4: [RangeList<UInt32>], v6: [RangeList<UInt128>]) {
        var g4: [Int: [UInt128: (UInt128, UInt16)]] = [:], g6: [Int: [UInt128: (UInt128, UInt16)]] = [:]
        for (net, value) in nets {
            let r = IPAddressBridge.range(of: net)
            let width = r.end - r.start
            let key = width == UInt128.max ? -1 : 128 - (width + 1).trailingZeroBitCount
            if r.v4 { g4[key, default: [:]][r.start] = (r.end, value) } else { g6[key, default: [:]][r.start] = (r.end, value) }
        }
        func lists<K>(_ g: [Int: [UInt128: (UInt128, UInt16)]], _: K.Type) -> [RangeList<K>] {
            g.keys.sorted().map { len in
                var list = RangeList<K>()
                for (s, v) in g[len]!.sorted(by: { $0.key < $1.key }) {
                    list.append(K(truncatingIfNeeded: s), K(truncatingIfNeeded: v.0), v.1)
                }
                return list
            }
        }
        return (lists(g4, UInt32.self), lists(g6, UInt128.self))
    }

    public func lookup(_ ip: IPAddress) -> GeoAnswer {
        switch ip {
        case .v4(let a):
            return Self.answer(v4.value(a))
        case .v6(let hi, let lo):
            if hi == 0 && lo >> 32 == 0xFFFF {                       // ::ffff:a.b.c.d
                return Self.answer(v4.value(UInt32(truncatingIfNeeded: lo)))
            }
            if hi == 0x0064_FF9B_0000_0000 && lo >> 32 == 0 {         // NAT64 64:ff9b::a.b.c.d
                return Self.answer(v4.value(UInt32(truncatingIfNeeded: lo)))
            }
            if hi >> 48 == 0x2002 {                                   // 6to4 2002:aabb:ccdd::
                return Self.answer(v4.value(UInt32(truncatingIfNeeded: hi >> 16)))
            }
            return Self.answer(rawValue(v6: hi, lo))
        }
    }

    /// The table value of an IPv6 address: 0 unknown, < 256 special, else a country's raw code.
    @inline(__always)
    private func rawValue(v6 hi: UInt64, _ lo: UInt64) -> UInt16 {
        let v = v6.value(hi)
        if v != Self.split { return v }
        return v6Full!.value(UInt128(hi) << 64 | UInt128(lo))
    }

    @inline(__always)
    static func answer(_ v: UInt16) -> GeoAnswer {
        if v >= 0x100 { return .country(CountryCode(raw: v)) }
        if v == 0 { return .unknown }
        return .special(SpecialRange.ordered[Int(v) - 1])
    }

    /// This table with `overrides` applied on top of the ones it already has (later ones win).
    public func applying(overrides more: [GeoOverride]) -> CountryTable {
        CountryTable(data: data, overrides: overrides + more)
    }

    /// Bytes held by the lookup structures (segments and indexes of both families) and by the
    /// table's own ranges, for stats and benchmarks.
    public var memoryBytes: (lookup: Int, ranges: Int) {
        (v4.memoryBytes + v6.memoryBytes + (v6Full?.memoryBytes ?? 0), data.v4.count * 10 + data.v6.count * 34)
    }

    public var info: TableInfo {
        var codes = Set<UInt16>()
        codes.formUnion(data.v4.values)
        codes.formUnion(data.v6.values)
        return TableInfo(rangesV4: data.v4.count, rangesV6: data.v6.count, countries: codes.count,
                         date: data.date, source: data.source, overrides: overrides.count)
    }

    /// Every range of the table itself (no special ranges or overrides), IPv4 first, in order.
    public func forEachRange(_ body: (_ start: IPAddress, _ end: IPAddress, _ country: CountryCode) -> Void) {
        for i in 0..<data.v4.count {
            body(.v4(data.v4.starts[i]), .v4(data.v4.ends[i]), CountryCode(raw: data.v4.values[i]))
        }
        for i in 0..<data.v6.count {
            body(IPAddressBridge.address(data.v6.starts[i]), IPAddressBridge.address(data.v6.ends[i]),
                 CountryCode(raw: data.v6.values[i]))
        }
    }
}
