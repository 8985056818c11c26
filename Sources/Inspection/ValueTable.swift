import CustomsCore
import Foundation

/// The distinct normalised values of one body, each named by a small integer id.
///
/// Identity inside a body (dedup, linking records, per-kind counts) needs only equality, so values
/// are interned by a fast seeded hash and an exact byte comparison; the HMAC that leaves the
/// process (`SubjectKeys`) is computed lazily, once per value that becomes a subject key or is
/// reported. The bytes live in one arena and the slots in one flat open-addressing table, in
/// storage the table owns (`ValueTableStore`): a value costs no allocation once it has grown, and
/// a new value is written through pointers after one uniqueness check, not one per array.
struct ValueTable {
    /// Kind tag of account ids (link values that are never counted or keyed).
    static let accountTag: UInt8 = 0xFF

    /// Copied before a write when shared (the table stays a value).
    private var store: ValueTableStore
    /// Per entry, its key once made; grown to `count` only when keys are asked for (at the end of
    /// a body), not per value interned.
    private var hmacs: [SubjectKey?] = []
    /// Distinct values in committed people, per kind tag (`countedValues`).
    private(set) var countedPerKind = [Int](repeating: 0, count: KindSet.all.count)
    private let hasher: KeyHasher
    /// `ValueHash.seed`, read once: a global's lazy initialisation check costs a call per read.
    private let hashSeed = ValueHash.seed

    init(secret: [UInt8]) {
        hasher = KeyHasher.shared(secret: secret)
        store = ValueTableStore(entryCapacity: 128, slotCount: 256, arenaCapacity: 4096)
    }

    var count: Int { store.entryCount }

    @inline(__always) private mutating func writable() -> ValueTableStore {
        if !isKnownUniquelyReferenced(&store) { store = store.copy() }
        return store
    }

    /// Empty again for the next body of a reused state, keeping the storage (slots grown by a
    /// large body are made small again, so small bodies do not clear them).
    mutating func reset() {
        writable().removeAll(slotsUpTo: 4096, smallSlots: 256)
        hmacs.removeAll(keepingCapacity: true)
        countedPerKind.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
    }

    /// Bytes of storage held (to decide whether a state is worth keeping for the next body).
    var footprint: Int { store.footprint + hmacs.capacity * 17 }

    /// The id of (tag, bytes), adding it if new.
    mutating func intern(tag: UInt8, _ bytes: UnsafeBufferPointer<UInt8>) -> Int32 {
        let h = ValueHash.hash(bytes, tag: tag, seed: hashSeed)
        let (found, s) = probe(h, tag: tag, bytes)
        if found >= 0 { return found }
        let t = writable()
        let id = Int32(t.entryCount)
        let start = t.arenaUsed, n = bytes.count
        t.appendEntry(ValueTableEntry(start: Int32(start), length: Int32(n), hash: h, tag: tag, counted: false))
        if t.arenaCapacity < start + n { t.growArena(to: max(start + n, 2 * t.arenaCapacity)) }
        if let from = bytes.baseAddress { ByteSkip.copy(from, to: t.arena + start, count: n) }
        t.arenaUsed = start + n
        t.slots[s] = id + 1
        if t.entryCount * 2 > t.slotCount { t.growSlots() }
        return id
    }

    /// The id of (tag, bytes) if held (else -1), and the slot where the probe ended.
    @inline(__always) private func probe(_ h: UInt64, tag: UInt8, _ bytes: UnsafeBufferPointer<UInt8>) -> (Int32, Int) {
        let slots = store.slots, entries = store.entries
        let mask = store.slotCount - 1
        var s = Int(truncatingIfNeeded: h) & mask
        while true {
            let e = slots[s]
            if e == 0 { return (-1, s) }
            let entry = entries[Int(e - 1)]
            if entry.hash == h && entry.tag == tag && Int(entry.length) == bytes.count && equal(entry, bytes) { return (e - 1, s) }
            s = (s + 1) & mask
        }
    }

    mutating func intern(_ kind: DetectorKind, _ bytes: UnsafeBufferPointer<UInt8>) -> Int32 {
        intern(tag: kind.tag, bytes)
    }

    mutating func intern(_ kind: DetectorKind, _ text: String) -> Int32 {
        var t = text
        return t.withUTF8 { intern(tag: kind.tag, $0) }
    }

    private func equal(_ e: ValueTableEntry, _ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        guard let base = bytes.baseAddress, e.length > 0 else { return true }
        return ByteSkip.equal(store.arena + Int(e.start), base, count: Int(e.length))
    }

    /// The bytes of entry `e`.
    private func bytes(_ e: ValueTableEntry) -> UnsafeBufferPointer<UInt8> {
        UnsafeBufferPointer(start: store.arena + Int(e.start), count: Int(e.length))
    }

    /// Marks the values of a committed person; counts each once per kind. Most values of a
    /// person are new: the tables are written through one buffer each, not checked per write.
    @inline(__always) mutating func markCounted(_ p: borrowing Fragment) {
        let read = store.entries
        guard p.contains(where: { !read[Int($0.id)].counted }) else { return }
        let entries = writable().entries
        countedPerKind.withUnsafeMutableBufferPointer { perKind in
            for k in 0..<p.count where !entries[Int(p.value(k).id)].counted {
                let v = p.value(k)
                entries[Int(v.id)].counted = true
                perKind[Int(entries[Int(v.id)].tag)] += 1
            }
        }
    }

    func countedValues(_ kind: DetectorKind) -> Int { countedPerKind[Int(kind.tag)] }

    /// `SubjectKeys.key(for: value, kind:)`, computed once per value.
    mutating func subjectKey(_ id: Int32) -> SubjectKey {
        coverHMACs()
        if let k = hmacs[Int(id)] { return k }
        let e = store.entries[Int(id)]
        let k = hasher.key(tag: e.tag, bytes(e))
        hmacs[Int(id)] = k
        return k
    }

    private mutating func coverHMACs() {
        if hmacs.count < count { hmacs.append(contentsOf: repeatElement(nil, count: count - hmacs.count)) }
    }

    /// Whether `prepareKeys` computes anything (the CPU runs two HMACs at once).
    var hashesInPairs: Bool { KeyHasher.pairs }

    /// Computes the keys of `ids` that are not made yet, two at a time (values too long for one
    /// SHA-256 block, and an odd one left over, stay for `subjectKey` to make on demand).
    mutating func prepareKeys(_ ids: [Int32]) {
        coverHMACs()
        let entries = store.entries
        var pending: Int32 = -1
        for id in ids where hmacs[Int(id)] == nil && id != pending {
            guard hasher.fitsOneBlock(tag: entries[Int(id)].tag, count: Int(entries[Int(id)].length)) else { continue }
            guard pending >= 0 else { pending = id; continue }
            let a = entries[Int(pending)], b = entries[Int(id)]
            let (ka, kb) = hasher.keys(tag: a.tag, bytes(a), tag: b.tag, bytes(b))
            hmacs[Int(pending)] = ka
            hmacs[Int(id)] = kb
            pending = -1
        }
    }

    /// The masked form of a subject's value: `****` and its last four characters.
    func masked(_ id: Int32) -> String { asciiMask(id)?.string ?? maskedByCharacters(id) }

    /// `masked(id)` as a subject holds it, made without a `String` in the common (ASCII) case.
    @inline(__always) func maskText(_ id: Int32) -> MaskText { asciiMask(id) ?? MaskText(maskedByCharacters(id)) }

    /// Identifiers are ASCII: when the last five bytes are ASCII and none is a CR, each of the last
    /// four is a character of its own (only CR LF joins two ASCII scalars, and nothing non-ASCII can
    /// join the fourth-last), so the mask is made from the bytes, without walking grapheme clusters.
    @inline(__always) private func asciiMask(_ id: Int32) -> MaskText? {
        let e = store.entries[Int(id)]
        let n = Int(e.length), start = Int(e.start)
        let a = UnsafeBufferPointer(start: store.arena, count: store.arenaUsed)
        #if _endian(little)
        if n >= 5 && start + n >= 8, let base = a.baseAddress {
            // The word ending at the value's end (earlier bytes are the arena's): its top five
            // bytes are the ones checked, its top four the tail.
            let w = UnsafeRawPointer(base).loadUnaligned(fromByteOffset: start + n - 8, as: UInt64.self)
            let ones: UInt64 = 0x0101_0101_0101_0101, highs: UInt64 = 0x8080_8080_8080_8080
            let noCR = (w ^ (ones &* 0x0D)) | 0xFF_FFFF
            guard w & highs & ~0xFF_FFFF == 0, (noCR &- ones) & ~noCR & highs == 0 else { return nil }
            return MaskText(asterisksAndTail: w & 0xFFFF_FFFF_0000_0000 | 0x2A2A_2A2A)
        }
        #endif
        guard a[max(start, start + n - 5)..<(start + n)].allSatisfy({ $0 < 0x80 && $0 != 0x0D }) else { return nil }
        let tail = a[max(start, start + n - 4)..<(start + n)]
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 8) { b in
            for k in 0..<4 { b[k] = UInt8(ascii: "*") }
            for (k, c) in tail.enumerated() { b[4 + k] = c }
            return MaskText(utf8: UnsafeBufferPointer(rebasing: b[0..<(4 + tail.count)]))
        }
    }

    private func maskedByCharacters(_ id: Int32) -> String {
        "****" + String(String(decoding: bytes(store.entries[Int(id)]), as: UTF8.self).suffix(4))
    }

    /// Every counted value's `SubjectKeys` key, per kind (accuracy tooling only: one HMAC per value).
    mutating func countedSubjectKeys() -> [DetectorKind: Set<SubjectKey>] {
        var out: [DetectorKind: Set<SubjectKey>] = [:]
        for i in 0..<count where store.entries[i].counted {
            out[KindSet.all[Int(store.entries[i].tag)], default: []].insert(subjectKey(Int32(i)))
        }
        return out
    }
}

/// One interned value: where its bytes lie in the arena, its hash and kind tag.
struct ValueTableEntry {
    var start: Int32
    var length: Int32
    var hash: UInt64
    var tag: UInt8
    /// Seen in a committed person (counted in the per-kind distinct counts).
    var counted: Bool
}

/// `ValueTable`'s entries, slots (open addressing, linear probing; entry index + 1, 0 = empty;
/// a power of two of them) and value bytes (the first `arenaUsed`), each one allocation that only
/// grows. Shared by copies of a table until one of them writes (`ValueTable.writable`).
final class ValueTableStore {
    private(set) var entries: UnsafeMutablePointer<ValueTableEntry>
    private(set) var entryCount = 0
    private var entryCapacity: Int
    private(set) var slots: UnsafeMutablePointer<Int32>
    private(set) var slotCount: Int
    private(set) var arena: UnsafeMutablePointer<UInt8>
    var arenaUsed = 0
    private(set) var arenaCapacity: Int

    init(entryCapacity: Int, slotCount: Int, arenaCapacity: Int) {
        self.entryCapacity = entryCapacity
        self.slotCount = slotCount
        self.arenaCapacity = arenaCapacity
        entries = .allocate(capacity: entryCapacity)
        slots = .allocate(capacity: slotCount)
        slots.initialize(repeating: 0, count: slotCount)
        arena = .allocate(capacity: arenaCapacity)
    }

    deinit {
        entries.deallocate()
        slots.deallocate()
        arena.deallocate()
    }

    func copy() -> ValueTableStore {
        let c = ValueTableStore(entryCapacity: entryCapacity, slotCount: slotCount, arenaCapacity: arenaCapacity)
        c.entries.initialize(from: entries, count: entryCount)
        c.entryCount = entryCount
        c.slots.update(from: slots, count: slotCount)
        c.arena.initialize(from: arena, count: arenaUsed)
        c.arenaUsed = arenaUsed
        return c
    }

    var footprint: Int { arenaCapacity + entryCapacity * MemoryLayout<ValueTableEntry>.stride + slotCount * 4 }

    @inline(__always) func appendEntry(_ e: ValueTableEntry) {
        if entryCount == entryCapacity { entries = entries.doubled(count: entryCount, capacity: &entryCapacity) }
        (entries + entryCount).initialize(to: e)
        entryCount += 1
    }

    /// Room for `capacity` bytes, keeping the `arenaUsed` held.
    func growArena(to capacity: Int) {
        let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
        bigger.initialize(from: arena, count: arenaUsed)
        arena.deallocate()
        arena = bigger
        arenaCapacity = capacity
    }

    /// Twice the slots, every entry placed again.
    func growSlots() {
        replaceSlots(count: slotCount * 2)
        let mask = slotCount - 1
        for i in 0..<entryCount {
            var s = Int(truncatingIfNeeded: entries[i].hash) & mask
            while slots[s] != 0 { s = (s + 1) & mask }
            slots[s] = Int32(i + 1)
        }
    }

    private func replaceSlots(count: Int) {
        slots.deallocate()
        slots = .allocate(capacity: count)
        slots.initialize(repeating: 0, count: count)
        slotCount = count
    }

    /// No values; more than `slotsUpTo` slots (grown by a large body) become `smallSlots`.
    func removeAll(slotsUpTo: Int, smallSlots: Int) {
        entryCount = 0
        arenaUsed = 0
        if slotCount > slotsUpTo { replaceSlots(count: smallSlots) } else { slots.update(repeating: 0, count: slotCount) }
    }
}

extension DetectorKind {
    /// The kind's tag in `ValueTable` and its bit in `KindSet`.
    @inline(__always) var tag: UInt8 { UInt8(truncatingIfNeeded: ordinal) }
}

/// A set of detector kinds as one word (a `Set` per fragment costs an allocation and hashing).
struct KindSet: Equatable {
    private(set) var bits: UInt32 = 0
    // Fewer than 32 kinds: the masking shifts need no range check.
    @inline(__always) mutating func insert(_ k: DetectorKind) { bits |= 1 &<< UInt32(k.tag) }
    @inline(__always) func contains(_ k: DetectorKind) -> Bool { bits & (1 &<< UInt32(k.tag)) != 0 }
    @inline(__always) mutating func formUnion(_ o: KindSet) { bits |= o.bits }
    var isEmpty: Bool { bits == 0 }
    /// `allCases` builds a new array on every call.
    static let all = DetectorKind.allCases
}

/// Seeded, word-at-a-time hash of value bytes: only for bucketing (equality is checked on the bytes),
/// seeded per process so bodies cannot aim collisions at the table.
enum ValueHash {
    static let seed: UInt64 = UInt64.random(in: 1...UInt64.max)

    @inline(__always) private static func mix(_ a: UInt64, _ b: UInt64) -> UInt64 {
        let m = a.multipliedFullWidth(by: b)
        return m.high ^ m.low
    }

    @inline(__always) static func hash(_ bytes: UnsafeBufferPointer<UInt8>, tag: UInt8, seed: UInt64) -> UInt64 {
        var h = seed ^ (UInt64(tag) << 56) ^ UInt64(bytes.count)
        guard let base = bytes.baseAddress else { return mix(h, 0x9E37_79B9_7F4A_7C15) }
        let raw = UnsafeRawPointer(base)
        let n = bytes.count
        var i = 0
        while i + 8 <= n {
            h = mix(h ^ raw.loadUnaligned(fromByteOffset: i, as: UInt64.self), 0x9E37_79B9_7F4A_7C15)
            i += 8
        }
        if i < n {
            // The tail without a loop: the word ending at the end (overlapping the last full one;
            // the length is mixed in above), or two overlapping half-words, or up to three bytes.
            let last: UInt64
            if n >= 8 {
                last = raw.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
            } else if n >= 4 {
                last = UInt64(raw.loadUnaligned(as: UInt32.self)) | UInt64(raw.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self)) << 32
            } else {
                // First, middle and last byte: with the length, every byte of 1–3.
                last = UInt64(base[0]) | UInt64(base[n >> 1]) << 8 | UInt64(base[n - 1]) << 16
            }
            h = mix(h ^ last, 0xC2B2_AE3D_27D4_EB4F)
        }
        return mix(h, 0xD6E8_FEB8_6659_FD93)
    }
}
