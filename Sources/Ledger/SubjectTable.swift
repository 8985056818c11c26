import CLedgerShims
import CustomsCore

/// Subject key → last-seen hour in each of two *lanes* (two series that share the table), in 256
/// open-addressing (linear probing) shards of one flat block each: no object per subject, 24 bytes
/// per slot. Key and both hours share a slot, so a probe of a table far larger than the cache
/// costs one cache miss, not three.
///
/// Lanes exist because a flow's people are counted in two series at once, the company's and its
/// recipient's, and on issue 6's load (tables of 10–20 M entries, far past what the TLB maps) each
/// table probe is a cache and TLB miss. Two series in one table cost one miss per person instead of
/// two, in slots no larger (the second hour fills what was padding). A slot is in use while either
/// lane holds an hour; each lane counts its own entries.
///
/// Shards exist so that growing never stops the world: the table is used synchronously on the
/// request path, and doubling one 12-million-entry array took seconds, during which every
/// connection waiting to be counted waited too. A shard holds 1/256 of the entries and doubles on
/// its own, and the shards' growth thresholds are staggered (between 5/8 and 3/4 full) so that
/// shards filled at the same rate do not all double at the same moment.
///
/// The table is a value: copies share one `ShardStore` until one of them writes, which first
/// copies the whole store. So a write checks uniqueness once per call (a batch's `prepareAdvance`
/// and `advancePrepared` are two calls), not once per subject as per-shard arrays did.
public struct SubjectTable: Sendable {
    /// Lane `l`'s stamp is bits `32 l ..< 32 l + 32` of `stamps`: 0 when the key is not in that
    /// lane, else `hour + 1`. A slot is empty when `stamps` is 0.
    struct Slot {
        var hi: UInt64
        var lo: UInt64
        var stamps: UInt64
        static let empty = Slot(hi: 0, lo: 0, stamps: 0)

        @inline(__always) func stamp(_ lane: Int) -> UInt32 { Self.stamp(stamps, lane) }

        @inline(__always) static func stamp(_ stamps: UInt64, _ lane: Int) -> UInt32 {
            UInt32(truncatingIfNeeded: stamps >> UInt64(lane << 5))
        }

        @inline(__always) mutating func setStamp(_ lane: Int, _ stamp: UInt32) {
            let shift = UInt64(lane << 5)
            stamps = (stamps & ~(0xFFFF_FFFF << shift)) | UInt64(stamp) << shift
        }
    }

    /// One shard: a block of `mask + 1` slots owned by the table's `ShardStore`.
    struct Shard {
        var slots: UnsafeMutablePointer<Slot>
        var mask: Int
        /// Slots in use (by either lane).
        var count = 0
        /// Grows when `count` would pass this.
        var limit: Int
        /// This shard's load limit in 256ths (160...192, i.e. 5/8 to 3/4).
        let load: Int
    }

    static let shardBits = 8
    private static let shardShift = UInt64(64 - shardBits)
    private var store: ShardStore
    /// Subjects in either lane.
    public var count: Int { occupied }
    private var occupied = 0
    private var laneCounts = (0, 0)

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

    /// Subjects in `lane`.
    public func count(lane: Int) -> Int { lane == 0 ? laneCounts.0 : laneCounts.1 }

    @inline(__always)
    private mutating func addToLane(_ lane: Int, _ n: Int) {
        if lane == 0 { laneCounts.0 += n } else { laneCounts.1 += n }
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

    /// The hour `key` was last seen in `lane`, or nil if it never was.
    @inline(__always)
    public func lastSeen(_ key: SubjectKey, lane: Int = 0) -> UInt32? {
        let h = Self.hash(key)
        let stamp = Slot.stamp(shards[Self.shard(h)].stamps(key, hash: h) ?? 0, lane)
        return stamp == 0 ? nil : stamp - 1
    }

    /// Calls `body` with the last-seen hour in `lane` (nil: never seen) of each subject whose
    /// category mask has a bit of `bits`, in order; `hashes[n]` is `hash(subjects[n].key)`, computed
    /// once per batch for every table it visits. It first reads every such subject's home slot: a
    /// short loop of independent loads, so a batch's cache misses overlap instead of being paid one
    /// after another by the probes that follow.
    @inline(__always)
    func forEachLastSeen(_ subjects: [LedgerSubject], hashes: UnsafeBufferPointer<UInt64>, withAny bits: UInt64, lane: Int = 0,
                         _ body: (UInt32?) -> Void) {
        precondition(hashes.count >= subjects.count, "one hash per subject")
        let shards = self.shards
        withUnsafeTemporaryAllocation(of: UInt64.self, capacity: subjects.count) { homeStamps in
            for n in subjects.indices {
                let h = hashes[n]
                let shard = shards[Self.shard(h)]
                homeStamps[n] = shard.slots[Int(truncatingIfNeeded: h) & shard.mask].stamps
            }
            for (n, subject) in subjects.enumerated() where subject.categories & bits != 0 {
                let h = hashes[n]
                let stamp = Slot.stamp(shards[Self.shard(h)].stamps(subject.key, hash: h, home: homeStamps[n]) ?? 0, lane)
                body(stamp == 0 ? nil : stamp - 1)
            }
        }
        withExtendedLifetime(store) {}
    }

    /// Records `key` as last seen at `hour` in `lane`; returns the hour it had there before, if any.
    @discardableResult
    public mutating func set(_ key: SubjectKey, hour: UInt32, lane: Int = 0) -> UInt32? {
        precondition(hour <= Self.maxHour, "hour out of range")
        makeUnique()
        let h = Self.hash(key)
        let k = Self.shard(h)
        let before = shards[k].count
        let old = shards[k].set(key, hash: h, lane: lane, stamp: hour + 1)
        occupied += shards[k].count - before
        if old == 0 { addToLane(lane, 1); return nil }
        return old - 1
    }

    /// What `advance` did in one lane.
    enum Advance: Equatable {
        /// The key was already seen at `hour` or later.
        case unchanged
        /// The key is new (to this lane).
        case inserted
        /// The key's hour moved forward from this one.
        case moved(from: UInt32)
    }

    /// Moves `key`'s last-seen hour in `lane` forward to `hour` (inserting it if new), in one probe.
    @inline(__always)
    mutating func advance(_ key: SubjectKey, to hour: UInt32, lane: Int = 0) -> Advance {
        precondition(hour <= Self.maxHour, "hour out of range")
        makeUnique()
        let h = Self.hash(key)
        let k = Self.shard(h)
        if shards[k].count + 1 > shards[k].limit { shards[k].grow() }
        let before = shards[k].count
        let result = shards[k].advance(key, hash: h, stamp: hour + 1, lanes: (lane, nil)).0
        occupied += shards[k].count - before
        if result == .inserted { addToLane(lane, 1) }
        return result
    }

    /// Moves every subject whose category mask has a bit of `bits` forward to `hour` in `lane`
    /// (inserting the new ones) and tells `body` what happened to each, in order; `hashes[n]` is
    /// `hash(subjects[n].key)`. `prepareAdvance` then `advancePrepared`.
    @inline(__always)
    mutating func advance(_ subjects: [LedgerSubject], hashes: UnsafeBufferPointer<UInt64>, withAny bits: UInt64,
                          to hour: UInt32, lane: Int = 0, _ body: (SubjectKey, Advance) -> Void) {
        prepareAdvance(subjects, hashes: hashes, withAny: bits)
        advancePrepared(subjects, hashes: hashes, withAny: bits, to: hour, lanes: (lane, nil)) { key, result, _ in body(key, result) }
    }

    /// The batch `advance` in two lanes at once (one probe per subject for both): `body` gets what
    /// happened in `lanes.0`, then in `lanes.1` (`.unchanged` when it is nil).
    @inline(__always)
    mutating func advance(_ subjects: [LedgerSubject], hashes: UnsafeBufferPointer<UInt64>, withAny bits: UInt64,
                          to hour: UInt32, lanes: (Int, Int?), _ body: (SubjectKey, Advance, Advance) -> Void) {
        prepareAdvance(subjects, hashes: hashes, withAny: bits)
        advancePrepared(subjects, hashes: hashes, withAny: bits, to: hour, lanes: lanes, body)
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
                                  to hour: UInt32, lanes: (Int, Int?), _ body: (SubjectKey, Advance, Advance) -> Void) {
        precondition(hour <= Self.maxHour, "hour out of range")
        precondition(hashes.count >= subjects.count, "one hash per subject")
        precondition(lanes.0 != lanes.1, "two different lanes")
        makeUnique()
        let stamp = hour + 1
        var newSlots = 0
        var inserted = (0, 0)
        let shards = self.shards
        for (n, subject) in subjects.enumerated() where subject.categories & bits != 0 {
            let h = hashes[n]
            let k = Self.shard(h)
            let before = shards[k].count
            let (first, second) = shards[k].advance(subject.key, hash: h, stamp: stamp, lanes: lanes)
            newSlots += shards[k].count - before
            if first == .inserted { inserted.0 += 1 }
            if second == .inserted { inserted.1 += 1 }
            body(subject.key, first, second)
        }
        occupied += newSlots
        addToLane(lanes.0, inserted.0)
        if let l = lanes.1 { addToLane(l, inserted.1) }
    }

    /// Forgets `key` in `lane` (and frees its slot when no lane holds it any more).
    public mutating func remove(_ key: SubjectKey, lane: Int = 0) {
        makeUnique()
        let h = Self.hash(key)
        let k = Self.shard(h)
        let before = shards[k].count
        if shards[k].remove(key, hash: h, lane: lane) { addToLane(lane, -1) }
        occupied += shards[k].count - before
    }

    /// Visits every entry of `lane` (key, last-seen hour), shard by shard.
    public func forEach(lane: Int = 0, _ body: (SubjectKey, UInt32) throws -> Void) rethrows {
        try withExtendedLifetime(store) {
            for shard in shards {
                for slot in UnsafeBufferPointer(start: shard.slots, count: shard.mask + 1) where slot.stamp(lane) != 0 {
                    try body(SubjectKey(hi: slot.hi, lo: slot.lo), slot.stamp(lane) - 1)
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

    /// Both lanes' stamps of `key`, or nil when no slot holds it.
    @inline(__always)
    func stamps(_ key: SubjectKey, hash: UInt64) -> UInt64? {
        stamps(key, hash: hash, home: slots[Int(truncatingIfNeeded: hash) & mask].stamps)
    }

    /// As `stamps(_:hash:)`, with the home slot's stamps already read.
    @inline(__always)
    func stamps(_ key: SubjectKey, hash: UInt64, home: UInt64) -> UInt64? {
        var i = Int(truncatingIfNeeded: hash) & mask
        var stamps = home
        while true {
            if stamps == 0 { return nil }
            if slots[i].hi == key.hi && slots[i].lo == key.lo { return stamps }
            i = (i + 1) & mask
            stamps = slots[i].stamps
        }
    }

    // The writes below need the table's store to be unique (its caller made it so).

    /// Stores `stamp` for `key` in `lane`; returns the stamp it replaced there (0: new to the lane).
    @inline(__always)
    mutating func set(_ key: SubjectKey, hash: UInt64, lane: Int, stamp: UInt32) -> UInt32 {
        if count + 1 > limit { grow() }
        let i = find(key, hash: hash)
        if slots[i].stamps == 0 {
            slots[i] = Slot(hi: key.hi, lo: key.lo, stamps: 0)
            count += 1
        }
        let old = slots[i].stamp(lane)
        slots[i].setStamp(lane, stamp)
        return old
    }

    /// Moves `key` forward to `stamp` in each given lane, in one probe and without a growth check
    /// (the caller made room).
    @inline(__always)
    mutating func advance(_ key: SubjectKey, hash: UInt64, stamp: UInt32, lanes: (Int, Int?)) -> (SubjectTable.Advance, SubjectTable.Advance) {
        let s = slots
        var i = Int(truncatingIfNeeded: hash) & mask
        var old = s[i].stamps
        while old != 0 && (s[i].hi != key.hi || s[i].lo != key.lo) {
            i = (i + 1) & mask
            old = s[i].stamps
        }
        if old == 0 {
            var slot = Slot(hi: key.hi, lo: key.lo, stamps: 0)
            slot.setStamp(lanes.0, stamp)
            if let l = lanes.1 { slot.setStamp(l, stamp) }
            s[i] = slot
            count += 1
            return (.inserted, lanes.1 == nil ? .unchanged : .inserted)
        }
        let first = Self.move(&s[i], lane: lanes.0, to: stamp)
        let second = lanes.1.map { Self.move(&s[i], lane: $0, to: stamp) } ?? .unchanged
        return (first, second)
    }

    @inline(__always)
    private static func move(_ slot: inout Slot, lane: Int, to stamp: UInt32) -> SubjectTable.Advance {
        let old = slot.stamp(lane)
        if old == 0 { slot.setStamp(lane, stamp); return .inserted }
        if old >= stamp { return .unchanged }
        slot.setStamp(lane, stamp)
        return .moved(from: old - 1)
    }

    /// The slot holding `key`, or the empty slot where it would go.
    @inline(__always)
    private func find(_ key: SubjectKey, hash: UInt64) -> Int {
        var i = Int(truncatingIfNeeded: hash) & mask
        while slots[i].stamps != 0 && (slots[i].hi != key.hi || slots[i].lo != key.lo) { i = (i + 1) & mask }
        return i
    }

    /// Forgets `key` in `lane`; frees the slot (backward-shift deletion, so lookups never need
    /// tombstones) when the other lane does not hold it. False if the lane did not hold it.
    mutating func remove(_ key: SubjectKey, hash: UInt64, lane: Int) -> Bool {
        var i = find(key, hash: hash)
        if slots[i].stamp(lane) == 0 { return false }
        slots[i].setStamp(lane, 0)
        if slots[i].stamps != 0 { return true }
        let s = slots
        var hole = i
        while true {
            i = (i + 1) & mask
            if s[i].stamps == 0 { break }
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
        for slot in old where slot.stamps != 0 {
            var i = Int(truncatingIfNeeded: SubjectTable.hash(SubjectKey(hi: slot.hi, lo: slot.lo))) & mask
            while s[i].stamps != 0 { i = (i + 1) & mask }
            s[i] = slot
        }
        ShardStore.release(oldSlots)
    }
}
