import CustomsCore
import Foundation

/// The distinct normalised values of one body, each named by a small integer id.
///
/// Identity inside a body (dedup, linking records, per-kind counts) needs only equality, so values
/// are interned by a fast seeded hash and an exact byte comparison; the HMAC that leaves the
/// process (`SubjectKeys`) is computed lazily, once per value that becomes a subject key or is
/// reported. The bytes live in one arena and the slots in one flat open-addressing table, so a
/// value costs no allocation once the arrays have grown.
struct ValueTable {
    /// Kind tag of account ids (link values that are never counted or keyed).
    static let accountTag: UInt8 = 0xFF

    private struct Entry {
        var start: Int32
        var length: Int32
        var hash: UInt64
        var tag: UInt8
        /// Seen in a committed person (counted in the per-kind distinct counts).
        var counted: Bool
    }

    /// The values' bytes: the first `arenaUsed` are in use (the array only grows, so a value is
    /// copied in through one buffer, not `append(contentsOf:)`'s generic path).
    private var arena: [UInt8] = []
    private var arenaUsed = 0
    private var entries: [Entry] = []
    /// Open addressing, linear probing; entry index + 1, 0 = empty. Capacity is a power of two.
    private var slots: [Int32] = Array(repeating: 0, count: 256)
    /// Per entry, its key once made; grown to `entries.count` only when keys are asked for (at
    /// the end of a body), not per value interned.
    private var hmacs: [SubjectKey?] = []
    /// Distinct values in committed people, per kind tag (`countedValues`).
    private(set) var countedPerKind = [Int](repeating: 0, count: KindSet.all.count)
    private let hasher: KeyHasher
    /// `ValueHash.seed`, read once: a global's lazy initialisation check costs a call per read.
    private let hashSeed = ValueHash.seed

    init(secret: [UInt8]) {
        hasher = KeyHasher.shared(secret: secret)
        arena = [UInt8](repeating: 0, count: 4096)
        entries.reserveCapacity(128)
    }

    var count: Int { entries.count }

    /// Empty again for the next body of a reused state, keeping the storage (slots grown by a
    /// large body are made small again, so small bodies do not clear them).
    mutating func reset() {
        arenaUsed = 0
        entries.removeAll(keepingCapacity: true)
        hmacs.removeAll(keepingCapacity: true)
        if slots.count > 4096 {
            slots = Array(repeating: 0, count: 256)
        } else {
            slots.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        }
        countedPerKind.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
    }

    /// Bytes of storage held (to decide whether a state is worth keeping for the next body).
    var footprint: Int { arena.capacity + entries.capacity * MemoryLayout<Entry>.stride + slots.capacity * 4 + hmacs.capacity * 17 }

    /// The id of (tag, bytes), adding it if new.
    mutating func intern(tag: UInt8, _ bytes: UnsafeBufferPointer<UInt8>) -> Int32 {
        let h = ValueHash.hash(bytes, tag: tag, seed: hashSeed)
        let mask = slots.count - 1
        var s = Int(truncatingIfNeeded: h) & mask
        while true {
            let e = slots[s]
            if e == 0 { break }
            let entry = entries[Int(e - 1)]
            if entry.hash == h && entry.tag == tag && Int(entry.length) == bytes.count && equal(entry, bytes) { return e - 1 }
            s = (s + 1) & mask
        }
        let id = Int32(entries.count)
        let start = arenaUsed, n = bytes.count
        entries.append(Entry(start: Int32(start), length: Int32(n), hash: h, tag: tag, counted: false))
        if arena.count < start + n { arena.append(contentsOf: repeatElement(0, count: max(start + n, 2 * arena.count) - arena.count)) }
        if let from = bytes.baseAddress {
            arena.withUnsafeMutableBufferPointer { ByteSkip.copy(from, to: $0.baseAddress! + start, count: n) }
        }
        arenaUsed = start + n
        slots[s] = id + 1
        if entries.count * 2 > slots.count { grow() }
        return id
    }

    mutating func intern(_ kind: DetectorKind, _ bytes: UnsafeBufferPointer<UInt8>) -> Int32 {
        intern(tag: kind.tag, bytes)
    }

    mutating func intern(_ kind: DetectorKind, _ text: String) -> Int32 {
        var t = text
        return t.withUTF8 { intern(tag: kind.tag, $0) }
    }

    private func equal(_ e: Entry, _ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        arena.withUnsafeBufferPointer { a in
            guard let base = bytes.baseAddress, e.length > 0 else { return true }
            return ByteSkip.equal(a.baseAddress! + Int(e.start), base, count: Int(e.length))
        }
    }

    private mutating func grow() {
        var bigger = [Int32](repeating: 0, count: slots.count * 2)
        let mask = bigger.count - 1
        for (i, e) in entries.enumerated() {
            var s = Int(truncatingIfNeeded: e.hash) & mask
            while bigger[s] != 0 { s = (s + 1) & mask }
            bigger[s] = Int32(i + 1)
        }
        slots = bigger
    }

    /// Marks the values of a committed person; counts each once per kind. Most values of a
    /// person are new: the tables are written through one buffer each, not checked per write.
    mutating func markCounted(_ p: Fragment) {
        guard p.contains(where: { !entries[Int($0.id)].counted }) else { return }
        entries.withUnsafeMutableBufferPointer { entries in
            countedPerKind.withUnsafeMutableBufferPointer { perKind in
                for k in 0..<p.count where !entries[Int(p.value(k).id)].counted {
                    let v = p.value(k)
                    entries[Int(v.id)].counted = true
                    perKind[Int(entries[Int(v.id)].tag)] += 1
                }
            }
        }
    }

    func countedValues(_ kind: DetectorKind) -> Int { countedPerKind[Int(kind.tag)] }

    /// `SubjectKeys.key(for: value, kind:)`, computed once per value.
    mutating func subjectKey(_ id: Int32) -> SubjectKey {
        coverHMACs()
        if let k = hmacs[Int(id)] { return k }
        let e = entries[Int(id)]
        let k = arena.withUnsafeBufferPointer { a in
            hasher.key(tag: e.tag, UnsafeBufferPointer(rebasing: a[Int(e.start)..<Int(e.start + e.length)]))
        }
        hmacs[Int(id)] = k
        return k
    }

    private mutating func coverHMACs() {
        if hmacs.count < entries.count { hmacs.append(contentsOf: repeatElement(nil, count: entries.count - hmacs.count)) }
    }

    /// Whether `prepareKeys` computes anything (the CPU runs two HMACs at once).
    var hashesInPairs: Bool { KeyHasher.pairs }

    /// Computes the keys of `ids` that are not made yet, two at a time (values too long for one
    /// SHA-256 block, and an odd one left over, stay for `subjectKey` to make on demand).
    mutating func prepareKeys(_ ids: [Int32]) {
        coverHMACs()
        var pending: Int32 = -1
        for id in ids where hmacs[Int(id)] == nil && id != pending {
            guard hasher.fitsOneBlock(tag: entries[Int(id)].tag, count: Int(entries[Int(id)].length)) else { continue }
            guard pending >= 0 else { pending = id; continue }
            let a = entries[Int(pending)], b = entries[Int(id)]
            let (ka, kb) = arena.withUnsafeBufferPointer { r in
                hasher.keys(tag: a.tag, UnsafeBufferPointer(rebasing: r[Int(a.start)..<Int(a.start + a.length)]),
                            tag: b.tag, UnsafeBufferPointer(rebasing: r[Int(b.start)..<Int(b.start + b.length)]))
            }
            hmacs[Int(pending)] = ka
            hmacs[Int(id)] = kb
            pending = -1
        }
    }

    /// The masked form of a subject's value: `****` and its last four characters.
    func masked(_ id: Int32) -> String { asciiMask(id)?.string ?? maskedByCharacters(id) }

    /// `masked(id)` as a subject holds it, made without a `String` in the common (ASCII) case.
    func maskText(_ id: Int32) -> MaskText { asciiMask(id) ?? MaskText(maskedByCharacters(id)) }

    /// Identifiers are ASCII: when the last five bytes are ASCII and none is a CR, each of the last
    /// four is a character of its own (only CR LF joins two ASCII scalars, and nothing non-ASCII can
    /// join the fourth-last), so the mask is made from the bytes, without walking grapheme clusters.
    private func asciiMask(_ id: Int32) -> MaskText? {
        let e = entries[Int(id)]
        let n = Int(e.length), start = Int(e.start)
        return arena.withUnsafeBufferPointer { a in
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
    }

    private func maskedByCharacters(_ id: Int32) -> String {
        let e = entries[Int(id)]
        return arena.withUnsafeBufferPointer { a in
            "****" + String(String(decoding: a[Int(e.start)..<Int(e.start + e.length)], as: UTF8.self).suffix(4))
        }
    }

    /// Every counted value's `SubjectKeys` key, per kind (accuracy tooling only: one HMAC per value).
    mutating func countedSubjectKeys() -> [DetectorKind: Set<SubjectKey>] {
        var out: [DetectorKind: Set<SubjectKey>] = [:]
        for i in entries.indices where entries[i].counted {
            out[KindSet.all[Int(entries[i].tag)], default: []].insert(subjectKey(Int32(i)))
        }
        return out
    }
}

extension DetectorKind {
    /// The kind's tag in `ValueTable` and its bit in `KindSet`.
    @inline(__always) var tag: UInt8 { UInt8(truncatingIfNeeded: ordinal) }
}

/// A set of detector kinds as one word (a `Set` per fragment costs an allocation and hashing).
struct KindSet: Equatable {
    private(set) var bits: UInt32 = 0
    @inline(__always) mutating func insert(_ k: DetectorKind) { bits |= 1 << UInt32(k.tag) }
    @inline(__always) func contains(_ k: DetectorKind) -> Bool { bits & (1 << UInt32(k.tag)) != 0 }
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

    static func hash(_ bytes: UnsafeBufferPointer<UInt8>, tag: UInt8, seed: UInt64) -> UInt64 {
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
                var b: UInt64 = 0
                for k in 0..<n { b |= UInt64(base[k]) << (8 * UInt64(k)) }
                last = b
            }
            h = mix(h ^ last, 0xC2B2_AE3D_27D4_EB4F)
        }
        return mix(h, 0xD6E8_FEB8_6659_FD93)
    }
}
