import Foundation

/// UInt64 → Int32 in one flat open-addressing table (linear probing), for per-body maps that
/// would otherwise hash every key with SipHash and allocate as they grow. Keys are mixed here.
/// Key, value and occupancy share one slot, so a probe touches one array (one access check).
/// A slot is occupied when it carries the table's current generation: emptying the table for the
/// next body is one increment, not a pass over every slot.
struct FlatMap64 {
    private struct Slot {
        var key: UInt64 = 0
        var value: Int32 = 0
        var generation: UInt32 = 0
    }

    private var slots: [Slot]
    private(set) var count = 0
    /// Never 0 (the generation of a slot never written).
    private var generation: UInt32 = 1

    init(capacity: Int = 64) {
        var c = 16
        while c < capacity * 2 { c <<= 1 }
        slots = Array(repeating: Slot(), count: c)
    }

    @inline(__always) private static func slot(_ k: UInt64, _ mask: Int) -> Int {
        let m = (k ^ (k >> 29)).multipliedFullWidth(by: 0x9E37_79B9_7F4A_7C15)
        return Int(truncatingIfNeeded: m.high ^ m.low) & mask
    }

    subscript(_ k: UInt64) -> Int32? {
        get {
            let g = generation
            return slots.withUnsafeBufferPointer { t in
                let mask = t.count - 1
                var s = Self.slot(k, mask)
                while t[s].generation == g {
                    if t[s].key == k { return t[s].value }
                    s = (s + 1) & mask
                }
                return nil
            }
        }
        set {
            guard let v = newValue else { preconditionFailure("FlatMap64 does not remove keys") }
            _ = insert(k, v, replacing: true)
        }
    }

    /// The value of `k`, or nil after setting it to `v`: one probe for what would be a lookup and
    /// an insertion.
    mutating func valueOrInsert(_ k: UInt64, _ v: Int32) -> Int32? { insert(k, v, replacing: false) }

    /// `valueOrInsert(keys[i], v)` for every key in turn, under one access check: each key is
    /// overwritten with the value it had (`UInt64.max` where it was absent and is now `v`).
    /// Returns how many were absent.
    @discardableResult
    @inline(__always) mutating func valuesOrInsert(_ keys: UnsafeMutableBufferPointer<UInt64>, _ v: Int32) -> Int {
        // Room for every key first, so no growth happens while the slots are lent.
        while (count + keys.count) * 2 > slots.count { grow() }
        let g = generation
        var added = 0
        slots.withUnsafeMutableBufferPointer { t in
            let mask = t.count - 1
            for i in keys.indices {
                let k = keys[i]
                var s = Self.slot(k, mask)
                keys[i] = UInt64.max
                while t[s].generation == g {
                    if t[s].key == k { keys[i] = UInt64(UInt32(bitPattern: t[s].value)); break }
                    s = (s + 1) & mask
                }
                if keys[i] == UInt64.max { t[s] = Slot(key: k, value: v, generation: g); added += 1 }
            }
        }
        count += added
        return added
    }

    /// Sets `k` to `v` (an existing value only when `replacing`); returns the value it had.
    private mutating func insert(_ k: UInt64, _ v: Int32, replacing: Bool) -> Int32? {
        let g = generation
        let old: Int32? = slots.withUnsafeMutableBufferPointer { t in
            let mask = t.count - 1
            var s = Self.slot(k, mask)
            while t[s].generation == g {
                if t[s].key == k {
                    let o = t[s].value
                    if replacing { t[s].value = v }
                    return o
                }
                s = (s + 1) & mask
            }
            t[s] = Slot(key: k, value: v, generation: g)
            return nil
        }
        if old == nil {
            count += 1
            if count * 2 > slots.count { grow() }
        }
        return old
    }

    /// Empty again. A table grown past `keep` slots is made small again, so a large body does not
    /// make every later body of a reused state clear its slots.
    mutating func reset(keep: Int = 1024) {
        guard count > 0 else { return }
        if slots.count > keep { self = FlatMap64(); return }
        count = 0
        generation &+= 1
        if generation == 0 {
            // After 2³² bodies: every slot is written with generation 0 again, and 0 is skipped.
            slots.withUnsafeMutableBufferPointer { $0.update(repeating: Slot()) }
            generation = 1
        }
    }

    private mutating func grow() {
        let old = slots
        slots = Array(repeating: Slot(), count: old.count * 2)
        count = 0
        for s in old where s.generation == generation { _ = insert(s.key, s.value, replacing: true) }
    }
}
