import Foundation

/// UInt64 → Int32 in one flat open-addressing table (linear probing), for per-body maps that
/// would otherwise hash every key with SipHash and allocate as they grow. Keys are mixed here.
struct FlatMap64 {
    private var keys: [UInt64]
    private var values: [Int32]
    private var used: [Bool]
    private(set) var count = 0

    init(capacity: Int = 64) {
        var c = 16
        while c < capacity * 2 { c <<= 1 }
        keys = Array(repeating: 0, count: c)
        values = Array(repeating: 0, count: c)
        used = Array(repeating: false, count: c)
    }

    @inline(__always) private static func slot(_ k: UInt64, _ mask: Int) -> Int {
        let m = (k ^ (k >> 29)).multipliedFullWidth(by: 0x9E37_79B9_7F4A_7C15)
        return Int(truncatingIfNeeded: m.high ^ m.low) & mask
    }

    subscript(_ k: UInt64) -> Int32? {
        get {
            let mask = keys.count - 1
            var s = Self.slot(k, mask)
            while used[s] {
                if keys[s] == k { return values[s] }
                s = (s + 1) & mask
            }
            return nil
        }
        set {
            guard let v = newValue else { preconditionFailure("FlatMap64 does not remove keys") }
            let mask = keys.count - 1
            var s = Self.slot(k, mask)
            while used[s] {
                if keys[s] == k { values[s] = v; return }
                s = (s + 1) & mask
            }
            keys[s] = k; values[s] = v; used[s] = true
            count += 1
            if count * 2 > keys.count { grow() }
        }
    }

    /// Empty again. A table grown past `keep` slots is made small again, so a large body does not
    /// make every later body of a reused state clear its slots.
    mutating func reset(keep: Int = 1024) {
        guard count > 0 else { return }
        if keys.count > keep { self = FlatMap64(); return }
        used.withUnsafeMutableBufferPointer { $0.update(repeating: false) }
        count = 0
    }

    private mutating func grow() {
        let (oldKeys, oldValues, oldUsed) = (keys, values, used)
        let c = keys.count * 2
        keys = Array(repeating: 0, count: c)
        values = Array(repeating: 0, count: c)
        used = Array(repeating: false, count: c)
        count = 0
        for i in oldKeys.indices where oldUsed[i] { self[oldKeys[i]] = oldValues[i] }
    }
}
