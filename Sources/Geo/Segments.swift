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
/// bucket; a bucket holding more than `dense` segments has a second index on the next `subBits`
/// bits. Every index entry describes the first address of its (sub-)bucket: the segment that
/// covers it, that segment's value, and whether the segment starts exactly there. An entry and
/// its successor bound the segments the (sub-)bucket can hold: when that is one segment (most
/// lookups) the entry itself is the answer, otherwise a short branch-free search follows.
/// Immutable after init; freed in deinit.
final class SegmentIndex<Key: FixedWidthInteger & UnsignedInteger & Sendable>: @unchecked Sendable {
    let count: Int
    private let starts: UnsafeMutablePointer<Key>
    private let values: UnsafeMutablePointer<UInt16>
    /// Entry: bits 0-15 value, 16-47 segment (or, with `heavy`, the offset in `sub`),
    /// bit 62 `exact`, bit 63 `heavy`.
    private let index: UnsafeMutablePointer<UInt64>
    private let sub: UnsafeMutablePointer<UInt64>
    private let shift: Int
    private let subShift: Int
    private let subMask: Int
    private static var heavyBit: UInt64 { 1 << 63 }
    private static var exactBit: UInt64 { 1 << 62 }
    /// Bytes held by the segments and index structures (for benchmarks and stats).
    let memoryBytes: Int

    init(_ segs: Segments<Key>, bits: Int, subBits: Int, dense: Int = 16) {
        let count = segs.starts.count
        precondition(count < 1 << 31, "too many segments for 32-bit positions")
        let starts = UnsafeMutablePointer<Key>.allocate(capacity: count)
        let values = UnsafeMutablePointer<UInt16>.allocate(capacity: count)
        segs.starts.withUnsafeBufferPointer { starts.initialize(from: $0.baseAddress!, count: count) }
        segs.values.withUnsafeBufferPointer { values.initialize(from: $0.baseAddress!, count: count) }
        let shift = Key.bitWidth - bits
        let buckets = 1 << bits
        // The entry for `first`, searching forward from segment `j`.
        func entry(_ first: Key, from j: inout Int) -> UInt64 {
            while j + 1 < count && starts[j + 1] <= first { j += 1 }
            return UInt64(values[j]) | UInt64(j) << 16 | (starts[j] == first ? Self.exactBit : 0)
        }
        let index = UnsafeMutablePointer<UInt64>.allocate(capacity: buckets + 1)
        var j = 0
        for k in 0..<buckets { index[k] = entry(Key(truncatingIfNeeded: k) << shift, from: &j) }
        index[buckets] = UInt64(count - 1) << 16

        let subShift = shift - subBits
        let width = (1 << subBits) + 1
        let heavy = (0..<buckets).filter { Self.position(index[$0 + 1]) - Self.position(index[$0]) > dense }
        precondition(heavy.count * width < 1 << 31, "second-level index too large")
        let sub = UnsafeMutablePointer<UInt64>.allocate(capacity: max(1, heavy.count * width))
        for (n, k) in heavy.enumerated() {
            var j = Self.position(index[k])
            for s in 0..<(1 << subBits) {
                sub[n * width + s] = entry(Key(truncatingIfNeeded: k) << shift | Key(truncatingIfNeeded: s) << subShift, from: &j)
            }
            sub[n * width + width - 1] = index[k + 1]
        }
        // Mark heavy buckets only now: building the blocks reads the plain entries.
        for (n, k) in heavy.enumerated() { index[k] = Self.heavyBit | UInt64(n * width) << 16 }
        (self.count, self.starts, self.values, self.index, self.shift) = (count, starts, values, index, shift)
        (self.sub, self.subShift, self.subMask) = (sub, subShift, (1 << subBits) - 1)
        memoryBytes = count * (MemoryLayout<Key>.stride + 2) + (buckets + 1) * 8 + heavy.count * width * 8
    }

    deinit {
        starts.deallocate(); values.deallocate(); index.deallocate(); sub.deallocate()
    }

    @inline(__always)
    private static func position(_ e: UInt64) -> Int { Int(truncatingIfNeeded: e >> 16 & 0xFFFF_FFFF) }

    @inline(__always)
    func value(_ key: Key) -> UInt16 {
        let k = Int(truncatingIfNeeded: key >> shift)
        var e = index[k], next: UInt64
        if e & Self.heavyBit == 0 {
            next = index[k + 1]
            if next & Self.heavyBit != 0 { next = sub[Self.position(next)] }
        } else {
            let p = Self.position(e) + Int(truncatingIfNeeded: key >> subShift) & subMask
            e = sub[p]
            next = sub[p + 1]
        }
        var base = Self.position(e)
        // A segment starting exactly at the next bucket does not reach into this one.
        var n = Self.position(next) - Int(truncatingIfNeeded: next >> 62 & 1) - base + 1
        if n == 1 { return UInt16(truncatingIfNeeded: e) }
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
