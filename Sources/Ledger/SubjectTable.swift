import CustomsCore

/// Subject key → last-seen hour, in an open-addressing (linear probing) table of three flat
/// arrays: no object per subject, 20 bytes per slot, load kept between 3/8 and 3/4.
public struct SubjectTable: Sendable {
    // A slot is empty when its stamp is 0; a stored stamp is `hour + 1`.
    private var his: [UInt64]
    private var los: [UInt64]
    private var stamps: [UInt32]
    private var mask: Int
    public private(set) var count = 0

    /// The largest hour the table can hold (hours since 1970-01-01T00:00Z).
    public static let maxHour = UInt32.max - 1

    public init(minimumCapacity: Int = 16) {
        var capacity = 16
        while capacity * 3 < minimumCapacity * 4 { capacity <<= 1 }
        his = Array(repeating: 0, count: capacity)
        los = Array(repeating: 0, count: capacity)
        stamps = Array(repeating: 0, count: capacity)
        mask = capacity - 1
    }

    public var capacity: Int { mask + 1 }

    /// Bytes held by the slot arrays.
    public var memoryBytes: Int { capacity * (8 + 8 + 4) }

    @inline(__always)
    private static func home(_ hi: UInt64, _ lo: UInt64, _ mask: Int) -> Int {
        // Real keys are HMAC output, but tests and tools use sequential ones: mix anyway.
        var h = (hi &* 0x9E37_79B9_7F4A_7C15) ^ lo
        h ^= h >> 32
        h &*= 0xD6E8_FEB8_6659_FD93
        h ^= h >> 32
        return Int(truncatingIfNeeded: h) & mask
    }

    /// The hour `key` was last seen, or nil if it never was.
    @inline(__always)
    public func lastSeen(_ key: SubjectKey) -> UInt32? {
        let stamp = stamp(of: key)
        return stamp == 0 ? nil : stamp - 1
    }

    @inline(__always)
    private func stamp(of key: SubjectKey) -> UInt32 {
        his.withUnsafeBufferPointer { h in
            los.withUnsafeBufferPointer { l in
                stamps.withUnsafeBufferPointer { s in
                    var i = Self.home(key.hi, key.lo, mask)
                    while true {
                        let st = s[i]
                        if st == 0 { return 0 }
                        if h[i] == key.hi && l[i] == key.lo { return st }
                        i = (i + 1) & mask
                    }
                }
            }
        }
    }

    /// Records `key` as last seen at `hour`; returns the hour it had before, if any.
    @discardableResult
    public mutating func set(_ key: SubjectKey, hour: UInt32) -> UInt32? {
        precondition(hour <= Self.maxHour, "hour out of range")
        if (count + 1) * 4 > capacity * 3 { grow() }
        var i = Self.home(key.hi, key.lo, mask)
        while stamps[i] != 0 {
            if his[i] == key.hi && los[i] == key.lo {
                let old = stamps[i] - 1
                stamps[i] = hour + 1
                return old
            }
            i = (i + 1) & mask
        }
        his[i] = key.hi
        los[i] = key.lo
        stamps[i] = hour + 1
        count += 1
        return nil
    }

    /// Forgets `key` (backward-shift deletion, so lookups never need tombstones).
    public mutating func remove(_ key: SubjectKey) {
        var i = Self.home(key.hi, key.lo, mask)
        while true {
            if stamps[i] == 0 { return }
            if his[i] == key.hi && los[i] == key.lo { break }
            i = (i + 1) & mask
        }
        var hole = i
        var j = i
        while true {
            j = (j + 1) & mask
            if stamps[j] == 0 { break }
            let home = Self.home(his[j], los[j], mask)
            // Move j into the hole unless its home lies cyclically in (hole, j].
            let stays = hole <= j ? (home > hole && home <= j) : (home > hole || home <= j)
            if !stays {
                his[hole] = his[j]; los[hole] = los[j]; stamps[hole] = stamps[j]
                hole = j
            }
        }
        stamps[hole] = 0
        count -= 1
    }

    /// Visits every entry (key, last-seen hour), in table order.
    public func forEach(_ body: (SubjectKey, UInt32) throws -> Void) rethrows {
        for i in 0..<stamps.count where stamps[i] != 0 {
            try body(SubjectKey(hi: his[i], lo: los[i]), stamps[i] - 1)
        }
    }

    private mutating func grow() {
        let oldHis = his, oldLos = los, oldStamps = stamps
        let capacity = oldStamps.count * 2
        his = Array(repeating: 0, count: capacity)
        los = Array(repeating: 0, count: capacity)
        stamps = Array(repeating: 0, count: capacity)
        mask = capacity - 1
        for j in 0..<oldStamps.count where oldStamps[j] != 0 {
            var i = Self.home(oldHis[j], oldLos[j], mask)
            while stamps[i] != 0 { i = (i + 1) & mask }
            his[i] = oldHis[j]; los[i] = oldLos[j]; stamps[i] = oldStamps[j]
        }
    }
}
