import CustomsCore

/// Subject key → last-seen hour, in an open-addressing (linear probing) table of one flat array:
/// no object per subject, 24 bytes per slot, load kept between 3/8 and 3/4. Key and hour share a
/// slot, so a probe of a table far larger than the cache costs one cache miss, not three.
public struct SubjectTable: Sendable {
    // A slot is empty when its stamp is 0; a stored stamp is `hour + 1`.
    struct Slot {
        var hi: UInt64
        var lo: UInt64
        var stamp: UInt32
        static let empty = Slot(hi: 0, lo: 0, stamp: 0)
    }

    private var slots: [Slot]
    private var mask: Int
    public private(set) var count = 0

    /// The largest hour the table can hold (hours since 1970-01-01T00:00Z).
    public static let maxHour = UInt32.max - 1

    public init(minimumCapacity: Int = 16) {
        var capacity = 16
        while capacity * 3 < minimumCapacity * 4 { capacity <<= 1 }
        slots = Array(repeating: .empty, count: capacity)
        mask = capacity - 1
    }

    public var capacity: Int { mask + 1 }

    /// Bytes held by the slot array.
    public var memoryBytes: Int { capacity * MemoryLayout<Slot>.stride }

    /// A key's hash, the same in every table (its home slot is the hash's low bits).
    @inline(__always)
    static func hash(_ key: SubjectKey) -> UInt64 {
        // Real keys are HMAC output, but tests and tools use sequential ones: mix anyway.
        var h = (key.hi &* 0x9E37_79B9_7F4A_7C15) ^ key.lo
        h ^= h >> 32
        h &*= 0xD6E8_FEB8_6659_FD93
        h ^= h >> 32
        return h
    }

    @inline(__always)
    private static func home(_ hi: UInt64, _ lo: UInt64, _ mask: Int) -> Int {
        Int(truncatingIfNeeded: hash(SubjectKey(hi: hi, lo: lo))) & mask
    }

    /// The hour `key` was last seen, or nil if it never was.
    @inline(__always)
    public func lastSeen(_ key: SubjectKey) -> UInt32? {
        slots.withUnsafeBufferPointer { s in
            var i = Self.home(key.hi, key.lo, mask)
            while true {
                let slot = s[i]
                if slot.stamp == 0 { return nil }
                if slot.hi == key.hi && slot.lo == key.lo { return slot.stamp - 1 }
                i = (i + 1) & mask
            }
        }
    }

    /// Calls `body` with the last-seen hour (nil: never seen) of each subject whose category mask
    /// has a bit of `bits`, in order; `hashes[n]` is `hash(subjects[n].key)`, computed once per
    /// batch for every table it visits. It first reads every such subject's home slot: a short
    /// loop of independent loads, so a batch's cache misses overlap instead of being paid one
    /// after another by the probes that follow.
    @inline(__always)
    func forEachLastSeen(_ subjects: [LedgerSubject], hashes: UnsafeBufferPointer<UInt64>, withAny bits: UInt64,
                         _ body: (UInt32?) -> Void) {
        precondition(hashes.count >= subjects.count, "one hash per subject")
        slots.withUnsafeBufferPointer { s in
            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: subjects.count) { homeStamps in
                for n in subjects.indices {
                    homeStamps[n] = s[Int(truncatingIfNeeded: hashes[n]) & mask].stamp
                }
                for (n, subject) in subjects.enumerated() where subject.categories & bits != 0 {
                    let key = subject.key
                    var i = Int(truncatingIfNeeded: hashes[n]) & mask
                    var stamp = homeStamps[n]
                    while true {
                        if stamp == 0 { body(nil); break }
                        if s[i].hi == key.hi && s[i].lo == key.lo { body(stamp - 1); break }
                        i = (i + 1) & mask
                        stamp = s[i].stamp
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
        let i = find(key)
        let old = slots[i].stamp
        slots[i] = Slot(hi: key.hi, lo: key.lo, stamp: hour + 1)
        if old == 0 { count += 1; return nil }
        return old - 1
    }

    /// What `advance` did.
    enum Advance: Equatable {
        /// The key was already seen at `hour` or later.
        case unchanged
        /// The key is new.
        case inserted
        /// The key's hour moved forward from this one.
        case moved(from: UInt32)
    }

    /// Moves `key`'s last-seen hour forward to `hour` (inserting it if new), in one probe.
    @inline(__always)
    mutating func advance(_ key: SubjectKey, to hour: UInt32) -> Advance {
        precondition(hour <= Self.maxHour, "hour out of range")
        if (count + 1) * 4 > capacity * 3 { grow() }
        let i = find(key)
        let old = slots[i].stamp
        if old == 0 {
            slots[i] = Slot(hi: key.hi, lo: key.lo, stamp: hour + 1)
            count += 1
            return .inserted
        }
        if old - 1 >= hour { return .unchanged }
        slots[i].stamp = hour + 1
        return .moved(from: old - 1)
    }

    /// Moves every subject whose category mask has a bit of `bits` forward to `hour` (inserting the
    /// new ones) and tells `body` what happened to each, in order; `hashes[n]` is
    /// `hash(subjects[n].key)`. As in `forEachLastSeen`, every home slot is touched first, so the
    /// cache misses of a batch's new people overlap; room for all of them is made before that, so
    /// the table does not grow midway.
    @inline(__always)
    mutating func advance(_ subjects: [LedgerSubject], hashes: UnsafeBufferPointer<UInt64>, withAny bits: UInt64,
                          to hour: UInt32, _ body: (SubjectKey, Advance) -> Void) {
        precondition(hour <= Self.maxHour, "hour out of range")
        precondition(hashes.count >= subjects.count, "one hash per subject")
        let stamp = hour + 1
        while (count + subjects.count) * 4 > capacity * 3 { grow() }
        let mask = self.mask
        var inserted = 0, wrote = false
        slots.withUnsafeMutableBufferPointer { s in
            withUnsafeTemporaryAllocation(of: UInt32.self, capacity: subjects.count) { homeStamps in
                for n in subjects.indices where subjects[n].categories & bits != 0 {
                    homeStamps[n] = s[Int(truncatingIfNeeded: hashes[n]) & mask].stamp
                }
                for (n, subject) in subjects.enumerated() where subject.categories & bits != 0 {
                    let key = subject.key
                    var i = Int(truncatingIfNeeded: hashes[n]) & mask
                    // Once this batch has written a slot, a stamp read in the first pass may be stale.
                    var old = wrote ? s[i].stamp : homeStamps[n]
                    while old != 0 && (s[i].hi != key.hi || s[i].lo != key.lo) {
                        i = (i + 1) & mask
                        old = s[i].stamp
                    }
                    if old == 0 {
                        s[i] = Slot(hi: key.hi, lo: key.lo, stamp: stamp)
                        inserted += 1
                        wrote = true
                        body(key, .inserted)
                    } else if old < stamp {
                        s[i].stamp = stamp
                        wrote = true
                        body(key, .moved(from: old - 1))
                    } else {
                        body(key, .unchanged)
                    }
                }
            }
        }
        count += inserted
    }

    /// The slot holding `key`, or the empty slot where it would go.
    @inline(__always)
    private func find(_ key: SubjectKey) -> Int {
        slots.withUnsafeBufferPointer { s in
            var i = Self.home(key.hi, key.lo, mask)
            while s[i].stamp != 0 && (s[i].hi != key.hi || s[i].lo != key.lo) { i = (i + 1) & mask }
            return i
        }
    }

    /// Forgets `key` (backward-shift deletion, so lookups never need tombstones).
    public mutating func remove(_ key: SubjectKey) {
        var i = find(key)
        if slots[i].stamp == 0 { return }
        var hole = i
        while true {
            i = (i + 1) & mask
            if slots[i].stamp == 0 { break }
            let home = Self.home(slots[i].hi, slots[i].lo, mask)
            // Move i into the hole unless its home lies cyclically in (hole, i].
            let stays = hole <= i ? (home > hole && home <= i) : (home > hole || home <= i)
            if !stays {
                slots[hole] = slots[i]
                hole = i
            }
        }
        slots[hole] = .empty
        count -= 1
    }

    /// Visits every entry (key, last-seen hour), in table order.
    public func forEach(_ body: (SubjectKey, UInt32) throws -> Void) rethrows {
        for slot in slots where slot.stamp != 0 {
            try body(SubjectKey(hi: slot.hi, lo: slot.lo), slot.stamp - 1)
        }
    }

    private mutating func grow() {
        let old = slots
        let capacity = old.count * 2
        slots = Array(repeating: .empty, count: capacity)
        mask = capacity - 1
        slots.withUnsafeMutableBufferPointer { s in
            for slot in old where slot.stamp != 0 {
                var i = Self.home(slot.hi, slot.lo, mask)
                while s[i].stamp != 0 { i = (i + 1) & mask }
                s[i] = slot
            }
        }
    }
}
