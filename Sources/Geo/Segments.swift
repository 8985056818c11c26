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

/// Segments in raw memory with a direct index on the top `bits` bits of the key: bucket k's
/// addresses all fall in segments `index[k]...index[k+1]`, usually one or two, so a lookup is
/// one index load and a short branch-free search. Immutable after init; freed in deinit.
final class SegmentIndex<Key: FixedWidthInteger & UnsignedInteger & Sendable>: @unchecked Sendable {
    let count: Int
    private let starts: UnsafeMutablePointer<Key>
    private let values: UnsafeMutablePointer<UInt16>
    private let index: UnsafeMutablePointer<UInt32>
    private let shift: Int

    init(_ segs: Segments<Key>, bits: Int) {
        let count = segs.starts.count
        let starts = UnsafeMutablePointer<Key>.allocate(capacity: count)
        let values = UnsafeMutablePointer<UInt16>.allocate(capacity: count)
        segs.starts.withUnsafeBufferPointer { starts.initialize(from: $0.baseAddress!, count: count) }
        segs.values.withUnsafeBufferPointer { values.initialize(from: $0.baseAddress!, count: count) }
        let shift = Key.bitWidth - bits
        let buckets = 1 << bits
        let index = UnsafeMutablePointer<UInt32>.allocate(capacity: buckets + 1)
        var j = 0
        for k in 0..<buckets {
            let first = Key(truncatingIfNeeded: k) << shift
            while j + 1 < count && starts[j + 1] <= first { j += 1 }
            index[k] = UInt32(j)
        }
        index[buckets] = UInt32(count - 1)
        (self.count, self.starts, self.values, self.index, self.shift) = (count, starts, values, index, shift)
    }

    deinit {
        starts.deallocate(); values.deallocate(); index.deallocate()
    }

    @inline(__always)
    func value(_ key: Key) -> UInt16 {
        let k = Int(truncatingIfNeeded: key >> shift)
        var base = Int(index[k])
        var n = Int(index[k + 1]) - base + 1
        while n > 1 {
            let half = n >> 1
            base = starts[base + half] <= key ? base + half : base
            n -= half
        }
        return values[base]
    }
}
