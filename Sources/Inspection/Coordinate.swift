import Foundation

/// A decimal degree as written in a body: at least four decimals (about 11 m), within ±limit.
///
/// Held without a reference: the six-decimal form a point is normalised to is built once, from the
/// digits, into two words (a `String` per coordinate cost an allocation past 15 bytes, a bridge
/// retain and release per copy, and the digits were walked again for every point).
struct Coordinate {
    /// The whole degrees as written (saturated at 10⁹, past any limit), and whether the fraction is all zeros:
    /// enough to compare with a limit without parsing a Double (which costs more than the rest).
    private var degrees: Int
    private var wholeDegrees: Bool
    /// The value, parsed only where the digits cannot decide: a fraction past six decimals
    /// (rounded by the formatter), or degrees on a limit with a fraction (rounding could bring
    /// it back onto the limit). NaN elsewhere.
    private var exact: Double
    /// `String(format: "%.6f", value)`, little-endian in two words; `sixCount` 0 when it is longer
    /// than sixteen bytes (only past any coordinate's limit), then formatted when asked.
    private var six: (UInt64, UInt64) = (0, 0)
    private var sixCount = 0

    /// `abs(value) <= limit`, decided from the digits. Only a fraction past the limit itself is
    /// parsed: rounding to a Double could bring it back onto the limit.
    func within(_ limit: Int) -> Bool {
        if degrees != limit { return degrees < limit }
        return wholeDegrees || abs(exact) <= Double(limit)
    }

    init?(_ v: UnsafeBufferPointer<UInt8>, limit: Int) {
        var i = 0
        let n = v.count
        let negative = n > 0 && v[0] == UInt8(ascii: "-")
        if i < n && (v[i] == UInt8(ascii: "+") || negative) { i += 1 }
        let sign = i
        var degrees = 0
        while i < n && isDigit(v[i]) { degrees = min(1_000_000_000, degrees * 10 + Int(v[i] &- 0x30)); i += 1 }
        guard i < n, v[i] == UInt8(ascii: ".") else { return nil }
        let dot = i
        i += 1
        var whole = true
        while i < n && isDigit(v[i]) { if v[i] != UInt8(ascii: "0") { whole = false }; i += 1 }
        let decimals = n - dot - 1
        guard i == n, decimals >= 4 else { return nil }
        // The whole degrees without leading zeros (one zero kept before the dot; none written: "0").
        var s = sign
        while s < dot - 1 && v[s] == UInt8(ascii: "0") { s += 1 }
        let fromDigits = decimals <= 6 && dot - s <= 8
        self.degrees = degrees
        wholeDegrees = whole
        let onLimit = !whole && (degrees == limit || degrees == 90 || degrees == 180)
        exact = fromDigits && !onLimit ? .nan : Double(String(decoding: v, as: UTF8.self))!
        guard within(limit) else { return nil }
        if fromDigits {
            // Up to six decimals as written are that text exactly (a degree has at most nine
            // significant digits here, far inside a Double's precision).
            // At most 16 bytes: a sign, eight digits or a zero, the dot and six decimals.
            var words: (UInt64, UInt64) = (0, 0)
            sixCount = withUnsafeMutableBytes(of: &words) { out -> Int in
                var k = 0
                if negative { out[k] = UInt8(ascii: "-"); k += 1 }
                if s == dot { out[k] = UInt8(ascii: "0"); k += 1 }
                ByteSkip.copy(v.baseAddress! + s, to: out.baseAddress!.assumingMemoryBound(to: UInt8.self) + k, count: n - s)
                k += n - s
                for _ in decimals..<6 { out[k] = UInt8(ascii: "0"); k += 1 }
                return k
            }
            six = (UInt64(littleEndian: words.0), UInt64(littleEndian: words.1))
        } else {
            let f = String(format: "%.6f", exact).utf8
            if f.count <= 16 {
                var k = 0
                for b in f { put(b, at: &k) }
                sixCount = k
            }
        }
    }

    @inline(__always) private mutating func put(_ b: UInt8, at k: inout Int) {
        if k < 8 { six.0 |= UInt64(b) << (8 * k) } else { six.1 |= UInt64(b) << (8 * (k - 8)) }
        k += 1
    }

    init?(_ s: String, limit: Int) {
        var t = s
        guard let c = t.withUTF8({ Coordinate($0, limit: limit) }) else { return nil }
        self = c
    }

    /// `String(format: "%.6f", value)` written at `p` (sixteen bytes are stored, of which the
    /// first returned count are the form); nil when it is longer (`appendSixDecimals` formats it).
    @inline(__always) func writeSixDecimals(to p: UnsafeMutableRawPointer) -> Int? {
        guard sixCount > 0 else { return nil }
        p.storeBytes(of: six.0.littleEndian, toByteOffset: 0, as: UInt64.self)
        p.storeBytes(of: six.1.littleEndian, toByteOffset: 8, as: UInt64.self)
        return sixCount
    }

    /// `String(format: "%.6f", value)`.
    func appendSixDecimals(to out: inout [UInt8]) {
        guard sixCount > 0 else {
            out.append(contentsOf: String(format: "%.6f", exact).utf8)
            return
        }
        var words = (six.0.littleEndian, six.1.littleEndian)
        let k = sixCount
        withUnsafeBytes(of: &words) { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: $0[..<k])) }
    }
}
