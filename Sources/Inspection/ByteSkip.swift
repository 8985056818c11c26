/// Word-at-a-time (SWAR) byte classes: eight bytes are tested with a few integer operations, so
/// runs that cannot hold what a scanner looks for are skipped eight at a time. Each function
/// returns a mask whose lowest set bit marks the first matching byte exactly (little-endian
/// loads); higher bits may be spurious, so only the lowest is used.
enum ByteSkip {
    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let high: UInt64 = 0x8080_8080_8080_8080
    private static let low7: UInt64 = 0x7F7F_7F7F_7F7F_7F7F

    /// Bytes equal to zero.
    @inline(__always) static func zeroBytes(_ w: UInt64) -> UInt64 { (w &- ones) & ~w & high }

    /// Bytes equal to `c`.
    @inline(__always) static func bytes(_ w: UInt64, equalTo c: UInt8) -> UInt64 { zeroBytes(w ^ (ones &* UInt64(c))) }

    /// ASCII digits `0`–`9` (bytes ≥ 0x80 never match).
    @inline(__always) static func digits(_ w: UInt64) -> UInt64 {
        let x = w & low7
        return ((ones &* (127 + 0x3A)) &- x) & ~w & (x &+ ones &* (127 - 0x2F)) & high
    }

    /// The end of the run of ASCII digits starting at `from` (`digits` is exact in every byte, so
    /// the lowest non-digit bit of a word is the run's end).
    @inline(__always) static func digitRunEnd(in p: UnsafeBufferPointer<UInt8>, from: Int, end: Int) -> Int {
        var i = from
        while i + 8 <= end {
            let m = ~digits(load(p, i)) & high
            if m != 0 { return i + m.trailingZeroBitCount >> 3 }
            i += 8
        }
        while i < end && isDigit(p[i]) { i += 1 }
        return i
    }

    /// Where an identifier can start: a digit or `@`.
    @inline(__always) static func identifierStarts(_ w: UInt64) -> UInt64 { digits(w) | bytes(w, equalTo: UInt8(ascii: "@")) }

    /// Where a value can start to matter to the scan: an identifier start or the lead byte of a
    /// full-width form (`０`, `＠`, `Ｘ`: EF BC/BD …).
    @inline(__always) static func scanStarts(_ w: UInt64) -> UInt64 { identifierStarts(w) | bytes(w, equalTo: 0xEF) }

    /// Where a JSON string's plain run ends: `"` or `\`.
    @inline(__always) static func stringEnds(_ w: UInt64) -> UInt64 {
        bytes(w, equalTo: 0x22) | bytes(w, equalTo: 0x5C)
    }

    @inline(__always) static func load(_ p: UnsafeBufferPointer<UInt8>, _ i: Int) -> UInt64 {
        UInt64(littleEndian: UnsafeRawPointer(p.baseAddress! + i).loadUnaligned(as: UInt64.self))
    }

    /// The index of the first byte at or after `from` (before `end`) that `mask` marks, skipping
    /// whole words; `end` when there is none. Bytes after the last full word are tested by `byte`.
    @inline(__always) static func first(in p: UnsafeBufferPointer<UInt8>, from: Int, end: Int,
                                         mask: (UInt64) -> UInt64, byte: (UInt8) -> Bool) -> Int {
        var i = from
        while i + 8 <= end {
            let m = mask(load(p, i))
            if m != 0 { return i + m.trailingZeroBitCount >> 3 }
            i += 8
        }
        while i < end && !byte(p[i]) { i += 1 }
        return i
    }

    /// How many bytes at the start of `p` are ASCII (below 0x80).
    static func asciiPrefix(_ p: UnsafeBufferPointer<UInt8>) -> Int {
        guard !p.isEmpty else { return 0 }
        return first(in: p, from: 0, end: p.count, mask: { $0 & high }, byte: { $0 >= 0x80 })
    }
}
