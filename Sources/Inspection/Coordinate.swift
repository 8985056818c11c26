import Foundation

/// A decimal degree as written in a body: at least four decimals (about 11 m), within ±limit.
struct Coordinate {
    /// The text as written (ASCII: `[+-]digits.digits`).
    var text: String
    /// The whole degrees as written (saturated at 10⁹, past any limit), and whether the fraction is all zeros:
    /// enough to compare with a limit without parsing a Double (which costs more than the rest).
    private var degrees: Int
    private var wholeDegrees: Bool

    /// The value (parsed from the text; only needed for rounding past six decimals).
    var value: Double { Double(text)! }

    /// `abs(value) <= limit`, decided from the digits. Only a fraction past the limit itself is
    /// parsed: rounding to a Double could bring it back onto the limit.
    func within(_ limit: Int) -> Bool {
        if degrees != limit { return degrees < limit }
        return wholeDegrees || abs(value) <= Double(limit)
    }

    init?(_ v: UnsafeBufferPointer<UInt8>, limit: Int) {
        var i = 0
        let n = v.count
        if i < n && (v[i] == UInt8(ascii: "+") || v[i] == UInt8(ascii: "-")) { i += 1 }
        var degrees = 0
        while i < n && isDigit(v[i]) { degrees = min(1_000_000_000, degrees * 10 + Int(v[i] &- 0x30)); i += 1 }
        guard i < n, v[i] == UInt8(ascii: ".") else { return nil }
        let dot = i
        i += 1
        var whole = true
        while i < n && isDigit(v[i]) { if v[i] != UInt8(ascii: "0") { whole = false }; i += 1 }
        guard i == n, n - dot - 1 >= 4 else { return nil }
        text = String(decoding: v, as: UTF8.self)
        self.degrees = degrees
        wholeDegrees = whole
        guard within(limit) else { return nil }
    }

    init?(_ s: String, limit: Int) {
        var t = s
        guard let c = t.withUTF8({ Coordinate($0, limit: limit) }) else { return nil }
        self = c
    }

    /// `String(format: "%.6f", value)`. Up to six decimals as written are that text exactly (a
    /// degree has at most nine significant digits here, far inside a Double's precision), so it is
    /// built from the digits; longer fractions are rounded by the formatter.
    func appendSixDecimals(to out: inout [UInt8]) {
        var t = text
        let done: Bool = t.withUTF8 { u in
            var i = 0
            let negative = u[0] == UInt8(ascii: "-")
            if u[0] == UInt8(ascii: "-") || u[0] == UInt8(ascii: "+") { i = 1 }
            var dot = i
            while u[dot] != UInt8(ascii: ".") { dot += 1 }
            guard u.count - dot - 1 <= 6 else { return false }
            if negative { out.append(UInt8(ascii: "-")) }
            var s = i
            while s < dot - 1 && u[s] == UInt8(ascii: "0") { s += 1 }
            if s == dot { out.append(UInt8(ascii: "0")) } else { out.append(contentsOf: u[s..<dot]) }
            out.append(contentsOf: u[dot..<u.count])
            for _ in 0..<(6 - (u.count - dot - 1)) { out.append(UInt8(ascii: "0")) }
            return true
        }
        if !done { out.append(contentsOf: String(format: "%.6f", value).utf8) }
    }
}
