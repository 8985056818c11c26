/// Sorted, non-overlapping inclusive ranges of one address family, each with a value
/// (a country code's raw `UInt16`). This is what imports produce and the compiled file stores.
struct RangeList<Key: FixedWidthInteger & UnsignedInteger & Sendable>: Sendable, Equatable {
    var starts: [Key] = []
    var ends: [Key] = []
    var values: [UInt16] = []

    var count: Int { starts.count }

    mutating func append(_ start: Key, _ end: Key, _ value: UInt16) {
        starts.append(start); ends.append(end); values.append(value)
    }
}

/// A partition of a whole address family into segments: segment i runs from `starts[i]` to
/// `starts[i+1] - 1` and has `values[i]` (0 = unknown, 1...255 = special range, else a country).
/// `starts[0]` is always 0, so every address has exactly one segment.
struct Segments<Key: FixedWidthInteger & UnsignedInteger & Sendable> {
    private(set) var starts: [Key] = [0]
    private(set) var values: [UInt16] = [0]

    init() {}

    init(_ ranges: RangeList<Key>) {
        self = Segments().overlaid(with: ranges)
    }

    /// Appends a segment, keeping starts strictly increasing and neighbours distinct.
    private mutating func push(_ start: Key, _ value: UInt16) {
        if let last = starts.last, last == start, starts.count > 0 {
            starts.removeLast(); values.removeLast()
        }
        if let last = values.last, last == value { return }
        starts.append(start); values.append(value)
    }

    /// These segments with `top` painted over them (`top` sorted and non-overlapping).
    func overlaid(with top: RangeList<Key>) -> Segments<Key> {
        var out = Segments()
        out.starts.removeAll(keepingCapacity: true); out.values.removeAll(keepingCapacity: true)
        out.starts.reserveCapacity(starts.count + 2 * top.count)
        out.values.reserveCapacity(starts.count + 2 * top.count)
        var i = 0
        for t in 0..<top.count {
            let s = top.starts[t], e = top.ends[t]
            while i < starts.count && starts[i] < s { out.push(starts[i], values[i]); i += 1 }
            out.push(s, top.values[t])
            var after: UInt16 = i > 0 ? values[i - 1] : 0
            while i < starts.count && starts[i] <= e { after = values[i]; i += 1 }
            if e != Key.max && !(i < starts.count && starts[i] == e + 1) {
                out.push(e + 1, after)
            }
        }
        while i < starts.count { out.push(starts[i], values[i]); i += 1 }
        return out
    }
}

/// Segments in raw memory with a two-level direct index. The top `bits` bits of a key pick a
/// bucket whose addresses all fall in segments `index[k]...index[k+1]`; a bucket holding more
/// than `dense` segments gets a second index on the next `subBits` bits (its `index` entry then
/// has the top bit set and holds the offset of that second index in `sub`), so a lookup is one
/// or two index loads and a short branch-free search. Immutable after init; freed in deinit.
final class SegmentIndex<Key: FixedWidthInteger & UnsignedInteger & Sendable>: @unchecked Sendable {
    let count: Int
    private let starts: UnsafeMutablePointer<Key>
    private let values: UnsafeMutablePointer<UInt16>
    private let index: UnsafeMutablePointer<UInt32>
    private let sub: UnsafeMutablePointer<UInt32>
    private let shift: Int
    private let subShift: Int
    private let subMask: Int
    private static var flag: UInt32 { 0x8000_0000 }
    /// Bytes held by the segments and index structures (for benchmarks and stats).
    let memoryBytes: Int

    init(_ segs: Segments<Key>, bits: Int, subBits: Int, dense: Int = 16) {
        let count = segs.starts.count
        let starts = UnsafeMutablePointer<Key>.allocate(capacity: count)
        let values = UnsafeMutablePointer<UInt16>.allocate(capacity: count)
        segs.starts.withUnsafeBufferPointer { starts.initialize(from: $0.baseAddress!, count: count) }
        segs.values.withUnsafeBufferPointer { values.initialize(from: $0.baseAddress!, count: count) }
        let shift = Key.bitWidth - bits
        let buckets = 1 << bits
        let index = UnsafeMutablePointer<UInt32>.allocate(capacity: buckets + 1)
        // Last segment starting at or before `first`, searching forward from `j`.
        func covering(_ first: Key, from j: inout Int) -> UInt32 {
            while j + 1 < count && starts[j + 1] <= first { j += 1 }
            return UInt32(j)
        }
        var j = 0
        for k in 0..<buckets { index[k] = covering(Key(truncatingIfNeeded: k) << shift, from: &j) }
        index[buckets] = UInt32(count - 1)

        let subShift = shift - subBits
        let width = (1 << subBits) + 1
        let heavy = (0..<buckets).filter { Int(index[$0 + 1]) - Int(index[$0]) > dense }
        let sub = UnsafeMutablePointer<UInt32>.allocate(capacity: max(1, heavy.count * width))
        precondition(count < Int(Self.flag) && heavy.count * width < Int(Self.flag), "table too large for 31-bit offsets")
        for (n, k) in heavy.enumerated() {
            var j = Int(index[k])
            for s in 0..<(1 << subBits) {
                let first = Key(truncatingIfNeeded: k) << shift | Key(truncatingIfNeeded: s) << subShift
                sub[n * width + s] = covering(first, from: &j)
            }
            sub[n * width + width - 1] = index[k + 1]
        }
        // Flag only after every sub-index is built: building reads the plain entries.
        for (n, k) in heavy.enumerated() { index[k] = Self.flag | UInt32(n * width) }
        (self.count, self.starts, self.values, self.index, self.shift) = (count, starts, values, index, shift)
        (self.sub, self.subShift, self.subMask) = (sub, subShift, (1 << subBits) - 1)
        memoryBytes = count * (MemoryLayout<Key>.stride + 2) + (buckets + 1) * 4 + heavy.count * width * 4
    }

    deinit {
        starts.deallocate(); values.deallocate(); index.deallocate(); sub.deallocate()
    }

    @inline(__always)
    func value(_ key: Key) -> UInt16 {
        let k = Int(truncatingIfNeeded: key >> shift)
        var base: Int, n: Int
        let e = index[k]
        if e & Self.flag == 0 {
            var up = index[k + 1]
            if up & Self.flag != 0 { up = sub[Int(up & ~Self.flag)] }
            base = Int(e)
            n = Int(up) - base + 1
        } else {
            let p = Int(e & ~Self.flag) + Int(truncatingIfNeeded: key >> subShift) & subMask
            base = Int(sub[p])
            n = Int(sub[p + 1]) - base + 1
        }
        while n > 1 {
            let half = n >> 1
            base = starts[base + half] <= key ? base + half : base
            n -= half
        }
        return values[base]
    }
}

extension Segments where Key == UInt64 {
    /// IPv6 segments seen per /64: each /64 gets the value of the segment covering it, or
    /// `split` when a segment boundary falls inside it (then the 128-bit segments answer).
    /// Registry data is allocated in /64s or larger, so in practice nothing is split and
    /// lookups compare 8-byte keys.
    /// `fine` receives the 128-bit segments of the split /64s only (addresses elsewhere are
    /// never looked up there), or stays nil when nothing is split.
    init(high64 s: Segments<UInt128>, split: UInt16, fine: inout Segments<UInt128>?) {
        self.init()
        starts.removeAll(); values.removeAll()
        let n = s.starts.count
        var i = 0
        while i < n {
            let h = UInt64(truncatingIfNeeded: s.starts[i] >> 64)
            var j = i
            while j + 1 < n && UInt64(truncatingIfNeeded: s.starts[j + 1] >> 64) == h { j += 1 }
            if i == j && UInt64(truncatingIfNeeded: s.starts[i]) == 0 {
                push(h, s.values[i])
            } else {
                var f = fine ?? Segments<UInt128>()
                f.push(UInt128(h) << 64, i > 0 && UInt64(truncatingIfNeeded: s.starts[i]) != 0 ? s.values[i - 1] : s.values[i])
                for k in i...j { f.push(s.starts[k], s.values[k]) }
                if h != .max { f.push(UInt128(h + 1) << 64, 0) }
                fine = f
                push(h, split)
                if h != .max { push(h + 1, s.values[j]) }
            }
            i = j + 1
        }
    }
}
