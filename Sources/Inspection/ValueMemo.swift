/// What inspecting one value did to its scope, remembered per body by the value's bytes and role.
///
/// A value's inspection (identifier scan, checksums, name and date tests, interning) depends only
/// on its bytes, its field's role and the body's fixed configuration, and its only effect is on
/// the innermost scope: the values added (ids in the body's `ValueTable`, in the order added), a
/// birth date named by its field, and whether it makes a minor. Exports repeat values within a
/// body (a customer on every order, a city, a date): a value seen before in the same body is
/// replayed from here instead of inspected again. Emptied with the body's `ValueTable`, whose ids
/// it holds.
///
/// Worth it only where values do repeat: a lookup that finds nothing, and the entry made after,
/// cost a quarter to a half of inspecting the value, for nothing. Values no field role marks (an
/// amount, an order number) almost never repeat, so they are never remembered; and a state
/// learns across the bodies it serves which roles repeat: a role whose values were found less
/// than a quarter of the times they were looked for (over at least `decideAfter` lookups) is not
/// remembered in the next bodies, except in every `probeEvery`th, where every role is tried again.
///
/// Storage as `ValueTableStore`'s: entries, slots (open addressing, linear probing; entry index
/// + 1, 0 = empty), key bytes and effects, each one allocation that only grows, written through
/// pointers. The assembler owns it alone (a `let` of a class: no copy, no uniqueness check).
final class ValueMemo {
    /// Values longer than this are not remembered (notes, long addresses: rarely repeated, and
    /// their bytes would fill the arena).
    static let maxLength = 64
    /// At most this many values are remembered per body (a body of millions of distinct values
    /// would otherwise grow the memo with it); lookups go on.
    static let maxEntries = 1 << 16
    /// Lookups of a role after which whether to remember it is decided again.
    static let decideAfter: Int32 = 64
    /// Every this many bodies every role is remembered (and its share of repeats measured again).
    static let probeEvery = 32
    /// Every role but `none`, as `roles` bits.
    static let everyRole: UInt32 = ~0 & ~(1 << UInt32(FieldRole.none.rawValue))

    struct Entry {
        var hash: UInt64
        var start: Int32
        var length: Int32
        var effectStart: Int32
        var effectCount: Int32
        /// The birth date its field named (`Fragment.fieldBirth`), 0 when none.
        var fieldBirth: Int32
        var role: UInt8
        var minor: Bool
    }

    private var entries: UnsafeMutablePointer<Entry>
    private(set) var count = 0
    private var entryCapacity = 64
    private var slots: UnsafeMutablePointer<Int32>
    private var slotCount = 128
    private var arena: UnsafeMutablePointer<UInt8>
    private var arenaUsed = 0
    private var arenaCapacity = 1024
    /// The effects of every entry (each entry's a range), then those of the value being inspected.
    private var effects: UnsafeMutablePointer<KeyedValue>
    private var effectCount = 0
    private var effectCapacity = 128
    /// Where the effects of the value being inspected start (the entries' end).
    private var pendingStart = 0
    private var pendingBirth: Int32 = 0
    private var pendingMinor = false
    private let seed = ValueHash.seed
    /// Per role (bit `rawValue`), whether its values are remembered in this body.
    private(set) var roles = ValueMemo.everyRole
    /// The roles judged worth remembering so far (used outside the probing bodies).
    private(set) var learned = ValueMemo.everyRole
    /// Per role, lookups and how many found an entry, since its last judgement (32 each).
    private var lookups: UnsafeMutablePointer<Int32>
    private var hits: UnsafeMutablePointer<Int32>
    private var bodies = 0

    init() {
        entries = .allocate(capacity: entryCapacity)
        slots = .allocate(capacity: slotCount)
        slots.initialize(repeating: 0, count: slotCount)
        arena = .allocate(capacity: arenaCapacity)
        effects = .allocate(capacity: effectCapacity)
        lookups = .allocate(capacity: 32)
        lookups.initialize(repeating: 0, count: 32)
        hits = .allocate(capacity: 32)
        hits.initialize(repeating: 0, count: 32)
    }

    deinit {
        entries.deallocate()
        slots.deallocate()
        arena.deallocate()
        effects.deallocate()
        lookups.deallocate()
        hits.deallocate()
    }

    /// Nothing remembered (the next body's value ids are new); slots grown past 4096 by a large
    /// body are made small again. The roles to remember in the next body are judged.
    func reset() {
        for r in 0..<32 where lookups[r] >= Self.decideAfter {
            let bit: UInt32 = 1 << UInt32(r)
            if hits[r] * 4 >= lookups[r] { learned |= bit } else { learned &= ~bit }
            lookups[r] = 0
            hits[r] = 0
        }
        bodies &+= 1
        roles = bodies % Self.probeEvery == 0 ? Self.everyRole : learned
        count = 0
        arenaUsed = 0
        effectCount = 0
        pendingStart = 0
        if slotCount > 4096 {
            slots.deallocate()
            slotCount = 128
            slots = .allocate(capacity: slotCount)
            slots.initialize(repeating: 0, count: slotCount)
        } else {
            slots.update(repeating: 0, count: slotCount)
        }
    }

    /// Whether values of `role` are remembered in this body.
    @inline(__always) func uses(_ role: FieldRole) -> Bool { roles & (1 << UInt32(role.rawValue)) != 0 }

    /// Bytes of storage held (to decide whether a state is worth keeping for the next body).
    var footprint: Int {
        entryCapacity * MemoryLayout<Entry>.stride + slotCount * 4 + arenaCapacity + effectCapacity * MemoryLayout<KeyedValue>.stride
    }

    /// The hash `find` and `remember` take (computed once per value).
    @inline(__always) func hash(_ v: UnsafeBufferPointer<UInt8>, role: FieldRole) -> UInt64 {
        ValueHash.hash(v, tag: role.rawValue, seed: seed)
    }

    /// The entry of (`v`, `role`) when remembered, else -1; `slot` is where a new one would go.
    @inline(__always) func find(_ v: UnsafeBufferPointer<UInt8>, role: FieldRole, hash h: UInt64, slot: inout Int) -> Int {
        let mask = slotCount - 1
        var s = Int(truncatingIfNeeded: h) & mask
        let r = Int(role.rawValue)
        lookups[r] += 1
        while true {
            let e = slots[s]
            if e == 0 { slot = s; return -1 }
            let entry = entries[Int(e - 1)]
            if entry.hash == h && entry.role == role.rawValue && Int(entry.length) == v.count,
               v.isEmpty || ByteSkip.equal(arena + Int(entry.start), v.baseAddress!, count: v.count) {
                hits[r] += 1
                return Int(e - 1)
            }
            s = (s + 1) & mask
        }
    }

    /// Entry `i`'s effects (values in the order added), its field's birth date (0: none), and
    /// whether it makes a minor.
    @inline(__always) func entry(_ i: Int) -> (effects: UnsafeBufferPointer<KeyedValue>, fieldBirth: Int32, minor: Bool) {
        let e = entries[i]
        return (UnsafeBufferPointer(start: effects + Int(e.effectStart), count: Int(e.effectCount)), e.fieldBirth, e.minor)
    }

    /// Starts recording the effects of a value about to be inspected.
    @inline(__always) func begin() {
        effectCount = pendingStart
        pendingBirth = 0
        pendingMinor = false
    }

    /// A value added to the scope by the value being inspected.
    @inline(__always) func added(_ v: KeyedValue) {
        if effectCount == effectCapacity { effects = effects.doubled(count: effectCount, capacity: &effectCapacity) }
        (effects + effectCount).initialize(to: v)
        effectCount += 1
    }

    @inline(__always) func namedBirth(_ ymd: Int) { pendingBirth = Int32(truncatingIfNeeded: ymd) }
    @inline(__always) func madeMinor() { pendingMinor = true }

    /// Remembers what was recorded since `begin` as the effects of (`v`, `role`), at `slot` (from
    /// the `find` that missed; nothing was remembered since).
    @inline(__always) func remember(_ v: UnsafeBufferPointer<UInt8>, role: FieldRole, hash h: UInt64, slot: Int) {
        guard count < Self.maxEntries else { return }
        let n = v.count
        if count == entryCapacity || arenaCapacity < arenaUsed + n { grow(adding: n) }
        if let from = v.baseAddress { ByteSkip.copy(from, to: arena + arenaUsed, count: n) }
        (entries + count).initialize(to: Entry(
            hash: h, start: Int32(arenaUsed), length: Int32(n), effectStart: Int32(pendingStart),
            effectCount: Int32(effectCount - pendingStart), fieldBirth: pendingBirth, role: role.rawValue, minor: pendingMinor))
        arenaUsed += n
        count += 1
        pendingStart = effectCount
        slots[slot] = Int32(count)
        if count * 2 > slotCount { growSlots() }
    }

    /// Room for one more entry of `n` bytes.
    @inline(never) private func grow(adding n: Int) {
        if count == entryCapacity { entries = entries.doubled(count: count, capacity: &entryCapacity) }
        if arenaCapacity < arenaUsed + n {
            var capacity = arenaCapacity
            while capacity < arenaUsed + n { capacity *= 2 }
            let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
            bigger.initialize(from: arena, count: arenaUsed)
            arena.deallocate()
            arena = bigger
            arenaCapacity = capacity
        }
    }

    private func growSlots() {
        let grown = slotCount * 2
        slots.deallocate()
        slots = .allocate(capacity: grown)
        slots.initialize(repeating: 0, count: grown)
        slotCount = grown
        let mask = grown - 1
        for i in 0..<count {
            var s = Int(truncatingIfNeeded: entries[i].hash) & mask
            while slots[s] != 0 { s = (s + 1) & mask }
            slots[s] = Int32(i + 1)
        }
    }
}
