// Validation rules for identifier formats (REGULATIONS.md §5). All take ASCII bytes.

@inline(__always) func isDigit(_ c: UInt8) -> Bool { c &- 0x30 < 10 }
@inline(__always) func isUpper(_ c: UInt8) -> Bool { c &- 0x41 < 26 }
@inline(__always) func isLower(_ c: UInt8) -> Bool { c &- 0x61 < 26 }
@inline(__always) func isAlpha(_ c: UInt8) -> Bool { (c | 0x20) &- 0x61 < 26 }
@inline(__always) func isAlnum(_ c: UInt8) -> Bool { isDigit(c) || isAlpha(c) }

enum Checksums {
    /// GB/T 2260 first-level division codes (plus 71 Taiwan, 81 Hong Kong, 82 Macau, 83 residence permits).
    static let provinceCodes: Set<Int> = [
        11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46,
        50, 51, 52, 53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83,
    ]

    /// `provinceCodes` as a bitmap (bit c for code c < 128), so a check is a shift rather than a
    /// hash. Literals, not a computed global: reading a lazy global is a call (`swift_once`) that
    /// made the ID check keep its digits on the stack. A test holds them equal to the set.
    @inline(__always) static var provinceBitsLow: UInt64 { 0xE07C_7E3F_80E0_F800 }
    @inline(__always) static var provinceBitsHigh: UInt64 { 0xE_0083 }

    @inline(__always) static func isProvince(_ code: Int) -> Bool {
        code < 64 ? provinceBitsLow & (1 << UInt64(code)) != 0 : code < 128 && provinceBitsHigh & (1 << UInt64(code - 64)) != 0
    }

    /// The check character for a weighted sum ≡ r (mod 11): "10X98765432"[r].
    @inline(__always) private static func idCheck(_ r: Int) -> UInt8 {
        r == 0 ? UInt8(ascii: "1") : r == 1 ? UInt8(ascii: "0") : r == 2 ? UInt8(ascii: "X") : UInt8(truncatingIfNeeded: 0x30 + 12 - r)
    }

    static func daysInMonth(_ y: Int, _ m: Int) -> Int {
        switch m {
        case 2: return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    static func number(_ d: UnsafeBufferPointer<UInt8>, _ from: Int, _ count: Int) -> Int {
        var v = 0
        for i in from..<(from + count) { v = v * 10 + Int(d[i] &- 0x30) }
        return v
    }

    /// A civil date that can be a birth date on or before `today` (yyyymmdd as an Int).
    static func plausibleBirth(year: Int, month: Int, day: Int, today: Int) -> Bool {
        guard year >= 1900, month >= 1, month <= 12, day >= 1, day <= daysInMonth(year, month) else { return false }
        return year * 10_000 + month * 100 + day <= today
    }

    /// 18-character resident ID: 17 digits + check character (MOD 11-2). Returns yyyymmdd birth.
    static func residentID18(_ d: UnsafeBufferPointer<UInt8>, today: Int) -> Int? {
        guard d.count == 18 else { return nil }
        // The MOD 11-2 weights 7, 9, 10, 5… are 2^(17-i) mod 11, so the weighted sum is taken
        // mod 11 from Σ digit·2^(17-i), made by doubling (Horner), in the pass that checks the digits.
        var sum = 0, notDigits: UInt8 = 0
        for i in 0..<17 {
            let v = d[i] &- 0x30
            notDigits |= v >= 10 ? 1 : 0
            sum = (sum + Int(v)) &* 2
        }
        guard notDigits == 0, isProvince(number(d, 0, 2)) else { return nil }
        let y = number(d, 6, 4), m = number(d, 10, 2), day = number(d, 12, 2)
        guard plausibleBirth(year: y, month: m, day: day, today: today) else { return nil }
        let c = d[17] == UInt8(ascii: "x") ? UInt8(ascii: "X") : d[17]
        guard c == idCheck(sum % 11) else { return nil }
        return y * 10_000 + m * 100 + day
    }

    /// 18 digits laid out as a resident ID (province, birth date) whatever the check digit says. Such
    /// a number failing the ID check is a mistyped or made-up ID (a hard negative) far more often
    /// than an 18-digit card whose digits happen to spell a province and a date, so outside a card
    /// field it is neither.
    static func residentIDShaped(_ d: UnsafeBufferPointer<UInt8>, today: Int) -> Bool {
        guard d.count == 18, isProvince(number(d, 0, 2)) else { return false }
        return plausibleBirth(year: number(d, 6, 4), month: number(d, 10, 2), day: number(d, 12, 2), today: today)
    }

    /// Legacy 15-digit resident ID (YYMMDD in the 1900s, no check character).
    static func residentID15(_ d: UnsafeBufferPointer<UInt8>, today: Int) -> Int? {
        guard d.count == 15 else { return nil }
        for i in 0..<15 where !isDigit(d[i]) { return nil }
        guard isProvince(number(d, 0, 2)) else { return nil }
        let y = 1900 + number(d, 6, 2), m = number(d, 8, 2), day = number(d, 10, 2)
        guard plausibleBirth(year: y, month: m, day: day, today: today) else { return nil }
        return y * 10_000 + m * 100 + day
    }

    /// Mainland mobile prefixes in service: 13x, 145-149, 15x but 154, 162/5/6/7, 170-178, 18x, 19x but 194.
    @inline(__always) static func mobilePrefix(_ a: UInt8, _ b: UInt8) -> Bool {
        switch (a, b) {
        case (3, _), (8, _): return true
        case (4, _): return b >= 5
        case (5, _): return b != 4
        case (6, _): return b == 2 || b == 5 || b == 6 || b == 7
        case (7, _): return b <= 8
        case (9, _): return b != 4
        default: return false
        }
    }

    /// 11 national digits starting with 1 on a real prefix.
    static func mobile11(_ d: UnsafeBufferPointer<UInt8>, _ from: Int) -> Bool {
        d[from] == UInt8(ascii: "1") && mobilePrefix(d[from + 1] &- 0x30, d[from + 2] &- 0x30)
    }

    /// The Luhn sum of the eight ASCII digits of `w` (those of `bytes`), the bytes of `doubling`
    /// doubled: a doubled b becomes 2b less 9 when b is 5 or more (bit 3 of b + 3); no byte passes
    /// 18, so no step carries into the next byte, and the bytes (at most 9 each) are summed by one
    /// multiply.
    @inline(__always) private static func luhnSum(_ w: UInt64, doubling: UInt64, bytes: UInt64 = ~0) -> Int {
        let x = w &- 0x3030_3030_3030_3030
        let five = ((x &+ 0x0303_0303_0303_0303) >> 3) & 0x0101_0101_0101_0101
        let doubled = (x << 1) &- five &* 9
        let y = ((doubled & doubling) | (x & ~doubling)) & bytes
        return Int(truncatingIfNeeded: (y &* 0x0101_0101_0101_0101) >> 56)
    }

    /// `d`: ASCII digits.
    static func luhn(_ d: UnsafeBufferPointer<UInt8>) -> Bool {
        var sum = 0
        var end = d.count
        #if _endian(little)
        if let base = d.baseAddress {
            let raw = UnsafeRawPointer(base)
            // Eight digits a step from the end, in one word (little-endian: the last digit is its
            // top byte, and every other byte from its lowest is doubled).
            while end >= 8 {
                sum += luhnSum(raw.loadUnaligned(fromByteOffset: end - 8, as: UInt64.self), doubling: 0x00FF_00FF_00FF_00FF)
                end -= 8
            }
            // The first `end` (1–7) digits of a number of eight or more: the word at its start,
            // bytes past `end` (counted already) masked off; an even number of digits follows
            // them, so byte k is doubled when `end − 1 − k` is odd.
            if end > 0 && d.count >= 8 {
                let doubling: UInt64 = end % 2 == 0 ? 0x00FF_00FF_00FF_00FF : 0xFF00_FF00_FF00_FF00
                sum += luhnSum(raw.loadUnaligned(as: UInt64.self), doubling: doubling, bytes: (1 << UInt64(8 * end)) &- 1)
                end = 0
            }
        }
        #endif
        // The rest two digits a step from its end (an even number of digits follow it): the
        // second is doubled, less 9 when that passes 9.
        var i = end - 1
        while i >= 1 {
            let a = Int(d[i] &- 0x30), b = Int(d[i - 1] &- 0x30)
            sum += a + 2 * b - (b >= 5 ? 9 : 0)
            i -= 2
        }
        if i == 0 { sum += Int(d[0] &- 0x30) }
        return sum % 10 == 0
    }

    /// Issuer ranges and lengths of the card schemes seen in China (UnionPay, Visa, Mastercard,
    /// Amex, JCB, Diners, Discover), so that Luhn-valid order numbers are not taken for cards.
    static func cardIssuer(_ d: UnsafeBufferPointer<UInt8>) -> Bool {
        let n = d.count
        let p2 = number(d, 0, 2), p4 = number(d, 0, 4)
        switch d[0] &- 0x30 {
        case 4: return n == 13 || n == 16 || n == 19
        case 5: return p2 >= 51 && p2 <= 55 && n == 16
        // JCB's old 15-digit ranges (2131, 1800): card generators (Faker's jcb15) still make them.
        case 1: return p4 == 1800 && n == 15
        case 2: return (p4 >= 2221 && p4 <= 2720 && n == 16) || (p4 == 2131 && n == 15)
        case 3:
            if p2 == 34 || p2 == 37 { return n == 15 }
            if p2 == 35 { return n >= 16 && n <= 19 }
            if p2 == 30 || p2 == 36 || p2 == 38 || p2 == 39 { return n >= 14 && n <= 19 }
            return false
        case 6:
            if p2 == 62 || p2 == 60 || p2 == 65 || p2 == 64 { return n >= 16 && n <= 19 }
            return false
        case 9: return p2 == 95 && n == 16 // domestic PBOC debit range seen on older cards
        default: return false
        }
    }

    /// Hong Kong identity card: one or two letters, six digits, check digit 0-9 or A.
    static func hkID(letters: [UInt8], digits: UnsafeBufferPointer<UInt8>, check: UInt8) -> Bool {
        guard letters.count == 1 || letters.count == 2, digits.count == 6 else { return false }
        var values: [Int] = letters.count == 1 ? [36] : []
        for l in letters { values.append(Int(l - UInt8(ascii: "A")) + 10) }
        for c in digits { values.append(Int(c &- 0x30)) }
        var sum = 0
        for (i, v) in values.enumerated() { sum += v * (9 - i) }
        let cv: Int
        if check == UInt8(ascii: "A") { cv = 10 } else if isDigit(check) { cv = Int(check &- 0x30) } else { return false }
        return (sum + cv) % 11 == 0
    }

    static let twLetterCodes: [Int] = [10, 11, 12, 13, 14, 15, 16, 17, 34, 18, 19, 20, 21, 22, 35, 23, 24, 25, 26, 27, 28, 29, 32, 30, 31, 33]

    /// Taiwan national ID / resident certificate: letter + 9 digits (first 1, 2, 8 or 9).
    static func twID(letter: UInt8, digits: UnsafeBufferPointer<UInt8>) -> Bool {
        guard isUpper(letter), digits.count == 9 else { return false }
        let first = digits[0] &- 0x30
        guard first == 1 || first == 2 || first == 8 || first == 9 else { return false }
        let code = twLetterCodes[Int(letter - UInt8(ascii: "A"))]
        var sum = code / 10 + (code % 10) * 9
        let w = [8, 7, 6, 5, 4, 3, 2, 1, 1]
        for i in 0..<9 { sum += Int(digits[i] &- 0x30) * w[i] }
        return sum % 10 == 0
    }
}

extension Checksums {
    /// Luhn over a string of ASCII digits (tests, tools).
    static func luhnString(_ s: String) -> Bool {
        let d = Array(s.utf8)
        return d.allSatisfy(isDigit) && d.withUnsafeBufferPointer { luhn($0) }
    }
}
