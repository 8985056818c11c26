import CInspectKernels

/// Byte-class scans. Runs that cannot hold what a scanner looks for are skipped sixteen bytes at a
/// time by the SSE2 kernels of `CInspectKernels` (inlined here); digit runs, which are short, are
/// ended a word at a time (SWAR on `UInt64`, exact in every byte).
enum ByteSkip {
    private static let ones: UInt64 = 0x0101_0101_0101_0101
    private static let high: UInt64 = 0x8080_8080_8080_8080
    private static let low7: UInt64 = 0x7F7F_7F7F_7F7F_7F7F

    /// ASCII digits `0`–`9` (bytes ≥ 0x80 never match); exact in every byte.
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

    /// Whether `count` bytes at `x` and `y` are equal, compared a word at a time in line: names and
    /// identifiers are short, and a `memcmp` call costs more than comparing them.
    @inline(__always) static func equal(_ x: UnsafeRawPointer, _ y: UnsafeRawPointer, count n: Int) -> Bool {
        if n >= 8 {
            var i = 0
            while i + 8 < n {
                if x.loadUnaligned(fromByteOffset: i, as: UInt64.self) != y.loadUnaligned(fromByteOffset: i, as: UInt64.self) { return false }
                i += 8
            }
            // The last word ends at the end (it overlaps the one before when n is not a multiple of 8).
            return x.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self) == y.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self)
        }
        if n >= 4 {
            return x.loadUnaligned(as: UInt32.self) == y.loadUnaligned(as: UInt32.self)
                && x.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self) == y.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self)
        }
        var i = 0
        while i < n {
            if x.load(fromByteOffset: i, as: UInt8.self) != y.load(fromByteOffset: i, as: UInt8.self) { return false }
            i += 1
        }
        return true
    }

    /// `count` bytes from `x` to `y` (not overlapping), a word at a time in line: values are
    /// short, and a `memcpy` call costs more than copying them.
    @inline(__always) static func copy(_ x: UnsafeRawPointer, to y: UnsafeMutableRawPointer, count n: Int) {
        if n >= 8 {
            var i = 0
            while i + 8 < n {
                y.storeBytes(of: x.loadUnaligned(fromByteOffset: i, as: UInt64.self), toByteOffset: i, as: UInt64.self)
                i += 8
            }
            // The last word ends at the end (it overlaps the one before when n is not a multiple of 8).
            y.storeBytes(of: x.loadUnaligned(fromByteOffset: n - 8, as: UInt64.self), toByteOffset: n - 8, as: UInt64.self)
            return
        }
        if n >= 4 {
            let a = x.loadUnaligned(as: UInt32.self), b = x.loadUnaligned(fromByteOffset: n - 4, as: UInt32.self)
            y.storeBytes(of: a, as: UInt32.self)
            y.storeBytes(of: b, toByteOffset: n - 4, as: UInt32.self)
            return
        }
        for i in 0..<n { y.storeBytes(of: x.load(fromByteOffset: i, as: UInt8.self), toByteOffset: i, as: UInt8.self) }
    }

    @inline(__always) static func load(_ p: UnsafeBufferPointer<UInt8>, _ i: Int) -> UInt64 {
        UInt64(littleEndian: UnsafeRawPointer(p.baseAddress! + i).loadUnaligned(as: UInt64.self))
    }

    // Each of these returns the index of the first byte of its class in `p[from..<end]`, or `end`.
    // An empty buffer may have no base address; the kernels read nothing when `from >= end`.

    /// `"` or `\`: where a JSON string's plain run ends.
    @inline(__always) static func stringEnd(in p: UnsafeBufferPointer<UInt8>, from: Int, end: Int) -> Int {
        guard from < end else { return end }
        return ck_first_string_end(p.baseAddress!, from, end)
    }

    /// `stringEnd` of a string value, and `clear`: no byte `scanStart` finds lies before it.
    @inline(__always) static func stringEnd(in p: UnsafeBufferPointer<UInt8>, from: Int, end: Int, clear: inout Int) -> Int {
        guard from < end else { clear = end; return end }
        var c = 0
        let j = ck_first_string_end_clear(p.baseAddress!, from, end, &c)
        clear = c
        return j
    }

    /// A digit or `@`: where an identifier can start.
    @inline(__always) static func identifierStart(in p: UnsafeBufferPointer<UInt8>, from: Int, end: Int) -> Int {
        guard from < end else { return end }
        return ck_first_identifier_start(p.baseAddress!, from, end)
    }

    /// An identifier start or 0xEF (the lead byte of the full-width forms `０`, `＠`, `Ｘ`).
    @inline(__always) static func scanStart(in p: UnsafeBufferPointer<UInt8>, from: Int, end: Int) -> Int {
        guard from < end else { return end }
        return ck_first_scan_start(p.baseAddress!, from, end)
    }

    /// `delimiter`, LF or CR: where an unquoted CSV/TSV cell ends.
    @inline(__always) static func cellEnd(in p: UnsafeBufferPointer<UInt8>, from: Int, end: Int, delimiter: UInt8) -> Int {
        guard from < end else { return end }
        return ck_first_cell_end(p.baseAddress!, from, end, delimiter)
    }

    /// `"`: where a quoted CSV/TSV cell's run ends.
    @inline(__always) static func quotedCellEnd(in p: UnsafeBufferPointer<UInt8>, from: Int, end: Int) -> Int {
        guard from < end else { return end }
        return ck_first_quote_near(p.baseAddress!, from, end)
    }

    /// A `*` or a byte that can start one of `RecordAssembler.organisationWords`.
    @inline(__always) static func nameCheck(in p: UnsafeBufferPointer<UInt8>, from: Int, end: Int) -> Int {
        guard from < end else { return end }
        return ck_first_name_check(p.baseAddress!, from, end)
    }

    /// The byte `c`.
    @inline(__always) static func byte(_ c: UInt8, in p: UnsafeBufferPointer<UInt8>, from: Int, end: Int) -> Int {
        guard from < end else { return end }
        return ck_first_byte(p.baseAddress!, from, end, c)
    }

    /// How many bytes at the start of `p` are ASCII (below 0x80): a whole body, sixty-four bytes a
    /// step past its first 64 where the CPU has AVX2.
    @inline(__always) static func asciiPrefix(_ p: UnsafeBufferPointer<UInt8>) -> Int {
        guard !p.isEmpty else { return 0 }
        return ck_first_non_ascii_long(p.baseAddress!, 0, p.count)
    }
}
