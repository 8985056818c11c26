/// A member name's first and last eight bytes and its length. Up to `wholeBytes` bytes the two
/// words cover every byte, so equal keys are equal names; a longer name also needs its bytes compared.
struct NameKey: Equatable {
    static let wholeBytes = 16
    var head: UInt64
    var tail: UInt64
    var count: Int

    /// No name's key (a slot not yet filled).
    static let none = NameKey(head: 0, tail: 0, count: -1)

    private init(head: UInt64, tail: UInt64, count: Int) {
        self.head = head
        self.tail = tail
        self.count = count
    }

    /// Overlapping unaligned loads, never outside `b` (short names as two half-words or bytes).
    @inline(__always) init(_ b: UnsafeBufferPointer<UInt8>) {
        let n = b.count
        count = n
        guard let base = b.baseAddress, n > 0 else { head = 0; tail = 0; return }
        let raw = UnsafeRawPointer(base)
        if n >= 8 {
            head = raw.loadUnaligned(as: UInt64.self)
            tail = raw.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
        } else if n >= 4 {
            head = UInt64(raw.loadUnaligned(as: UInt32.self)) | UInt64(raw.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self)) << 32
            tail = 0
        } else {
            // First, middle and last byte: with the count, every byte of a name of 1–3 bytes.
            head = UInt64(base[0]) | UInt64(base[n >> 1]) << 8 | UInt64(base[n - 1]) << 16
            tail = 0
        }
    }

    /// Multiply-shift of the folded key: the top bits index a table of `1 << bits` slots.
    @inline(__always) func slot(bits: Int) -> Int {
        let folded = head ^ (tail << 29 | tail >> 35) ^ UInt64(truncatingIfNeeded: count)
        return Int(truncatingIfNeeded: (folded &* 0x9E37_79B9_7F4A_7C15) >> UInt64(64 - bits))
    }
}

/// A direct-mapped cache of member names → their index in a parser's name table: a slot holds the
/// last name that mapped to it, so a name that collides is simply looked up the slower way. Kept
/// in memory this object owns, so a hit costs no array uniqueness or bounds check.
final class RecentNames {
    /// With the name's role, exclusion bit and person (`PersonColumns.person`), in the slot's
    /// padding, so a hit reads one slot.
    private struct Entry {
        var key: NameKey
        var index: Int32
        var role: FieldRole
        var excludesNames: Bool
        var person: UInt8
    }

    private static let bits = 8
    private let slots: UnsafeMutablePointer<Entry>

    init() {
        slots = .allocate(capacity: 1 << Self.bits)
        slots.initialize(repeating: Entry(key: .none, index: 0, role: .none, excludesNames: false, person: 0), count: 1 << Self.bits)
    }

    deinit { slots.deallocate() }

    /// The index, role, exclusion bit and person cached for `key`; nil when its slot holds another name (or none).
    @inline(__always) func entry(_ key: NameKey) -> (index: Int, role: FieldRole, excludesNames: Bool, person: UInt8)? {
        let e = slots[key.slot(bits: Self.bits)]
        return e.key == key ? (Int(e.index), e.role, e.excludesNames, e.person) : nil
    }

    @inline(__always) func set(_ key: NameKey, _ index: Int, role: FieldRole, excludesNames: Bool, person: UInt8) {
        slots[key.slot(bits: Self.bits)] = Entry(key: key, index: Int32(index), role: role, excludesNames: excludesNames, person: person)
    }

    /// Forget every name (the parser's table was emptied, so its indexes mean other names now).
    func clear() {
        slots.update(repeating: Entry(key: .none, index: 0, role: .none, excludesNames: false, person: 0), count: 1 << Self.bits)
    }
}
