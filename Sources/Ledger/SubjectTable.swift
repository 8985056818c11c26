import CLedgerShims
import CustomsCore

/// Subject key → last-seen hour, in 256 open-addressing (linear probing) shards of one flat block
/// each: no object per subject, 24 bytes per slot. Key and hour share a slot, so a probe of a table
/// far larger than the cache costs one cache miss, not three.
///
/// Shards exist so that growing never stops the world: the table is used synchronously on the
/// request path, and doubling one 12-million-entry array took seconds, during which every
/// connection waiting to be counted waited too. A shard holds 1/256 of the entries and doubles on
/// its own, and the shards' growth thresholds are staggered (between 5/8 and 3/4 full) so that
/// shards filled at the same rate do not all double at the same moment.
///
/// The table is a value: copies share one `ShardStore` until one of them writes, which first
/// copies the whole store. So a write checks uniqueness once per call (a batch `advance` is two
/// calls), not once per subject as per-shard arrays did.
public struct SubjectTable: Sendable {
    // A slot is empty when its stamp is 0; a stored stamp is `hour + 1`.
    struct Slot {
        var hi: UInt64
        var lo: UInt64
        var stamp: UInt32
        static let empty = Slot(hi: 0, lo: 0, stamp: 0)
    }

    /// One shard: a block of `mask + 1` slots owned by the table's `ShardStore`.
    struct Shard {
        var slots: UnsafeMutablePointer<Slot>
        var mask: Int
        var count = 0
        /// Grows when `count` would pass this.
        var limit: Int
        /// This shard's load limit in 256ths (160...192, i.e. 5/8 to 3/4).
        let load: Int
    }

    static let shardBits = 8
    private static let shardShift = UInt64(64 - shardBits)
    private var store: ShardStore
    public private(set) var count = 0

    /// The largest hour the table can hold (hours since 1970-01-01T00:00Z).
    public static let maxHour = UInt32.max - 1

    public init(minimumCapacity: Int = 0) {
        let n = 1 << Self.shardBits
        var capacity = 1
        while capacity * 5 < (minimumCapacity * 8 + n - 1) / n { capacity <<= 1 }
        store = ShardStore(shards: n, capacity: capacity)
    }

    private var shards: UnsafeMutableBufferPointer<Shard> { store.shards }

    /// Copies the store if another table value shares it, so a write cannot show through a copy.
    @inline(__always)
    private mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&store) { store = store.copy() }
    }

    /// Slots across all shards.
    public var capacity: Int { shards.reduce(0) { $0 + $1.mask + 1 } }

    /// The largest shard's slot count: the most a single growth step moves.
    var largestShardCapacity: Int { shards.reduce(0) { max($0, $1.mask + 1) } }

    /// Bytes held by the slot blocks.
    public var memoryBytes: Int { capacity * MemoryLayout<Slot>.stride }

    /// A key's hash, the same in every table (its top bits pick the shard, its low bits the home slot).
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
    private static func shard(_ hash: UInt64) -> Int { Int(truncatingIfNeeded: hash >> shardShift) }

    /// The hour `key` was last seen, or nil if it never was.
    @inline(__always)
    public func lastSeen(_ key: SubjectKey) -> UInt32? {
        let h = Self.hash(key)
        return shards[Self.shard(h)].lastSeen(key, hash: h)
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
        let shards = self.shards
        withUnsafeTemporaryAllocation(of: UInt32.self, capacity: subjects.count) { homeStamps in
            for n in subjects.indices {
                let h = hashes[n]
                let shard = shards[Self.shard(h)]
                homeStamps[n] = shard.slots[Int(truncatingIfNeeded: h) & shard.mask].stamp
            }
            for (n, subject) in subjects.enumerated() where subject.categories & bits != 0 {
                let h = hashes[n]
                body(shards[Self.shard(h)].lastSeen(subject.key, hash: h, homeStamp: homeStamps[n]))
            }
        }
        withExtendedLifetime(store) {}
    }

    /// Records `key` as last seen at `hour`; returns the hour it had before, if any.
    @discardableResult
    public mutating func set(_ key: SubjectKey, hour: UInt32) -> UInt32? {
        precondition(hour <= Self.maxHour, "hour out of range")
        makeUnique()
        let h = Self.hash(key)
        let old = shards[Self.shard(h)].set(key, hash: h, stamp: hour + 1)
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
        makeUnique()
        let h = Self.hash(key)
        let result = shards[Self.shard(h)].advance(key, hash: h, to: hour)
        if result == .inserted { count += 1 }
        return result
    }

    /// Moves every subject whose category mask has a bit of `bits` forward to `hour` (inserting the
    /// new ones) and tells `body` what happened to each, in order; `hashes[n]` is
    /// `hash(subjects[n].key)`. `prepareAdvance` then `advancePrepared`.
    @inline(__always)
    mutating func advance(_ subjects: [LedgerSubject], hashes: UnsafeBufferPointer<UInt64>, withAny bits: UInt64,
                          to hour: UInt32, _ body: (SubjectKey, Advance) -> Void) {
        prepareAdvance(subjects, hashes: hashes, withAny: bits)
        advancePrepared(subjects, hashes: hashes, withAny: bits, to: hour, body)
    }

    /// The first half of a batch `advance`: makes room for every subject whose mask has a bit of
    /// `bits` (a shard that would pass its limit if all of them were new grows now, so none grows
    /// midway), then prefetches the slots each one's probe is likely to read: its home slot's
    /// cache line and the two after it (an insert at 5/8 – 3/4 load probes about 4 – 6 slots of 24
    /// bytes). Prefetches do not hold the core up as loads that miss do, so a batch's cache and TLB
    /// misses overlap instead of being paid one after another by the probes; a caller with several
    /// tables to advance prepares them all first, so the misses of all of them overlap.
    @inline(__always)
    mutating func prepareAdvance(_ subjects: [LedgerSubject], hashes: UnsafeBufferPointer<UInt64>, withAny bits: UInt64) {
        precondition(hashes.count >= subjects.count, "one hash per subject")
        makeUnique()
        let shards = self.shards
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: shards.count) { bound in
            bound.initialize(repeating: 0)
            for n in subjects.indices where subjects[n].categories & bits != 0 {
                let k = Self.shard(hashes[n])
                bound[k] += 1
                if shards[k].count + Int(bound[k]) > shards[k].limit { shards[k].grow() }
            }
        }
        for n in subjects.indices where subjects[n].categories & bits != 0 {
            let h = hashes[n]
            let shard = shards[Self.shard(h)]
            let i = Int(truncatingIfNeeded: h) & shard.mask
            // Slots i + 2 and i + 5 end 72 and 144 bytes past slot i's start: the next two lines.
            customs_ledger_prefetch(shard.slots + i)
            customs_ledger_prefetch(shard.slots + ((i + 2) & shard.mask))
            customs_ledger_prefetch(shard.slots + ((i + 5) & shard.mask))
        }
    }

    /// The second half of a batch `advance`, after `prepareAdvance` with the same subjects and
    /// bits (and no other write to this table in between).
    @inline(__always)
    mutating func advancePrepared(_ subjects: [LedgerSubject], hashes: UnsafeBufferPointer<UInt64>, withAny bits: UInt64,
                                  to hour: UInt32, _ body: (SubjectKey, Advance) -> Void) {
        precondition(hour <= Self.maxHour, "hour out of range")
        precondition(hashes.count >= subjects.count, "one hash per subject")
        makeUnique()
        let stamp = hour + 1
        var inserted = 0
        let shards = self.shards
        for (n, subject) in subjects.enumerated() where subject.categories & bits != 0 {
            let h = hashes[n]
            let result = shards[Self.shard(h)].advance(subject.key, hash: h, stamp: stamp)
            if result == .inserted { inserted += 1 }
            body(subject.key, result)
        }
        count += inserted
    }

    /// Forgets `key`.
    public mutating func remove(_ key: SubjectKey) {
        makeUnique()
        let h = Self.hash(key)
        if shards[Self.shard(h)].remove(key, hash: h) { count -= 1 }
    }

    /// Visits every entry (key, last-seen hour), shard by shard.
    public func forEach(_ body: (SubjectKey, UInt32) throws -> Void) rethrows {
        try withExtendedLifetime(store) {
            for shard in shards {
                for slot in UnsafeBufferPointer(start: shard.slots, count: shard.mask + 1) where slot.stamp != 0 {
                    try body(SubjectKey(hi: slot.hi, lo: slot.lo), slot.stamp - 1)
                }
            }
        }
    }
}

/// The shards of one `SubjectTable` and the slot blocks they point to, freed together. Shared by
/// copies of a table until one writes (the table copies it first), so it is never written while
/// shared; that is what makes the `@unchecked Sendable` sound.
final class ShardStore: @unchecked Sendable {
    typealias Shard = SubjectTable.Shard
    typealias Slot = SubjectTable.Slot

    let shards: UnsafeMutableBufferPointer<Shard>

    /// The one-slot block every unused shard shares (it grows before its first entry, and nothing
    /// writes it), so an empty table costs its shard list, not 256 allocations.
    nonisolated(unsafe) static let vacant: UnsafeMutablePointer<Slot> = {
        let p = UnsafeMutablePointer<Slot>.allocate(capacity: 1)
        p.initialize(to: .empty)
        return p
    }()

    /// A block of `capacity` empty slots. Written empty rather than `calloc`ed: filling a 7 M-entry
    /// table with `calloc`ed blocks took 71 % more page faults, and more system time than the
    /// skipped writes saved in user time.
    static func block(_ capacity: Int) -> UnsafeMutablePointer<Slot> {
        let p = UnsafeMutablePointer<Slot>.allocate(capacity: capacity)
        p.initialize(repeating: .empty, count: capacity)
        return p
    }

    static func release(_ slots: UnsafeMutablePointer<Slot>) {
        if slots != vacant { slots.deallocate() }
    }

    init(shards n: Int, capacity: Int) {
        shards = .allocate(capacity: n)
        for i in 0..<n {
            let slots = capacity == 1 ? Self.vacant : Self.block(capacity)
            (shards.baseAddress! + i).initialize(to: Shard(slots: slots, mask: capacity - 1, limit: capacity * (160 + i * 32 / n) / 256,
                                                           load: 160 + i * 32 / n))
        }
    }

    private init(copying other: ShardStore) {
        shards = .allocate(capacity: other.shards.count)
        for (i, shard) in other.shards.enumerated() {
            var copy = shard
            if shard.slots != Self.vacant {
                copy.slots = Self.block(shard.mask + 1)
                copy.slots.update(from: shard.slots, count: shard.mask + 1)
            }
            (shards.baseAddress! + i).initialize(to: copy)
        }
    }

    /// A store with the same entries in blocks of its own.
    func copy() -> ShardStore { ShardStore(copying: self) }

    deinit {
        for shard in shards { Self.release(shard.slots) }
        shards.deallocate()
    }
}

extension SubjectTable.Shard {
    typealias Slot = SubjectTable.Slot

    @inline(__always)
    func lastSeen(_ key: SubjectKey, hash: UInt64) -> UInt32? {
        var i = Int(truncatingIfNeeded: hash) & mask
        while true {
            let slot = slots[i]
            if slot.stamp == 0 { return nil }
            if slot.hi == key.hi && slot.lo == key.lo { return slot.stamp - 1 }
            i = (i + 1) & mask
        }
    }

    /// As `lastSeen`, with the home slot's stamp already read.
    @inline(__always)
    func lastSeen(_ key: SubjectKey, hash: UInt64, homeStamp: UInt32) -> UInt32? {
        var i = Int(truncatingIfNeeded: hash) & mask
        var stamp = homeStamp
        while true {
            if stamp == 0 { return nil }
            if slots[i].hi == key.hi && slots[i].lo == key.lo { return stamp - 1 }
            i = (i + 1) & mask
            stamp = slots[i].stamp
        }
    }

    // The writes below need the table's store to be unique (its caller made it so).

    /// Stores `stamp` for `key`; returns the stamp it replaced (0: the key is new).
    @inline(__always)
    mutating func set(_ key: SubjectKey, hash: UInt64, stamp: UInt32) -> UInt32 {
        if count + 1 > limit { grow() }
        let i = find(key, hash: hash)
        let old = slots[i].stamp
        slots[i] = Slot(hi: key.hi, lo: key.lo, stamp: stamp)
        if old == 0 { count += 1 }
        return old
    }

    @inline(__always)
    mutating func advance(_ key: SubjectKey, hash: UInt64, to hour: UInt32) -> SubjectTable.Advance {
        if count + 1 > limit { grow() }
        return advance(key, hash: hash, stamp: hour + 1)
    }

    /// `advance` without the growth check (the caller made room).
    @inline(__always)
    mutating func advance(_ key: SubjectKey, hash: UInt64, stamp: UInt32) -> SubjectTable.Advance {
        let s = slots
        var i = Int(truncatingIfNeeded: hash) & mask
        var old = s[i].stamp
        while old != 0 && (s[i].hi != key.hi || s[i].lo != key.lo) {
            i = (i + 1) & mask
            old = s[i].stamp
        }
        if old == 0 {
            s[i] = Slot(hi: key.hi, lo: key.lo, stamp: stamp)
            count += 1
            return .inserted
        }
        if old >= stamp { return .unchanged }
        s[i].stamp = stamp
        return .moved(from: old - 1)
    }

    /// The slot holding `key`, or the empty slot where it would go.
    @inline(__always)
    private func find(_ key: SubjectKey, hash: UInt64) -> Int {
        var i = Int(truncatingIfNeeded: hash) & mask
        while slots[i].stamp != 0 && (slots[i].hi != key.hi || slots[i].lo != key.lo) { i = (i + 1) & mask }
        return i
    }

    /// Forgets `key` (backward-shift deletion, so lookups never need tombstones); false if absent.
    mutating func remove(_ key: SubjectKey, hash: UInt64) -> Bool {
        var i = find(key, hash: hash)
        if slots[i].stamp == 0 { return false }
        let s = slots
        var hole = i
        while true {
            i = (i + 1) & mask
            if s[i].stamp == 0 { break }
            let home = Int(truncatingIfNeeded: SubjectTable.hash(SubjectKey(hi: s[i].hi, lo: s[i].lo))) & mask
            // Move i into the hole unless its home lies cyclically in (hole, i].
            let stays = hole <= i ? (home > hole && home <= i) : (home > hole || home <= i)
            if !stays {
                s[hole] = s[i]
                hole = i
            }
        }
        s[hole] = .empty
        count -= 1
        return true
    }

    mutating func grow() {
        let oldSlots = slots
        let old = UnsafeBufferPointer(start: oldSlots, count: mask + 1)
        let capacity = old.count * 2
        let s = ShardStore.block(capacity)
        slots = s
        mask = capacity - 1
        limit = capacity * load / 256
        for slot in old where slot.stamp != 0 {
            var i = Int(truncatingIfNeeded: SubjectTable.hash(SubjectKey(hi: slot.hi, lo: slot.lo))) & mask
            while s[i].stamp != 0 { i = (i + 1) & mask }
            s[i] = slot
        }
        ShardStore.release(oldSlots)
    }
}
